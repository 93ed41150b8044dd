zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = 210
}
