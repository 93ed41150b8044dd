zone "infusion_pumps" {
  criticality "life_critical" # ERROR: Invalid block definition
  vlan        = 210
}
