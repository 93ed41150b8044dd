zone "infusion_pumps" { # ERROR: Unclosed configuration block
  criticality = "life_critical"
  vlan        = 210

zone "pump_servers" {
  criticality = "medium"
}
