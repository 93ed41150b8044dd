network "remediation" { cidrs = ["10.250.99.0/24"] }

quarantine {
  vlan              = 999
  remediation       = [network.remediation]
  default_ttl       = "1 day" # ERROR: Invalid default_ttl
  max_auto_per_hour = -1 # ERROR: Invalid max_auto_per_hour
  action = {
    low           = "isolate"
    medium        = "shutdown" # ERROR: Invalid quarantine action
    high          = "restrict"
    life_critical = "notify"
    critical      = "notify" # ERROR: Unknown criticality in action
  }
  approval_required = ["life_critical", "urgent"] # ERROR: Unknown criticality in approval_required
}
