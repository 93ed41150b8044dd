zone "pumps" {
  criticality = "life_critical"
}
