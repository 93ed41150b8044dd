zone "infusion_pumps" {
  criticality = "life_critical"
}

zones "pump_servers" { # ERROR: Unsupported block type
  criticality = "medium"
}

policy_version = 2 # ERROR: Unsupported argument
