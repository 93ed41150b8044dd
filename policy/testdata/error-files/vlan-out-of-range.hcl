zone "pumps" {
  criticality = "life_critical"
  vlan        = 4095 # ERROR: Invalid VLAN
}

zone "monitors" {
  criticality = "life_critical"
  vlan        = 0 # ERROR: Invalid VLAN
}
