zone "infusion_pumps" {
  criticality = "life_critical"
}
