zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = "abc" # ERROR: Invalid value for vlan
  subnets     = "10.61.210.0/24" # ERROR: Invalid value for subnets
  priority    = "high" # ERROR: Invalid value for priority
}

zone "pump_servers" {
  criticality = ["medium"] # ERROR: Invalid value for criticality
  vlan        = 210.5 # ERROR: Invalid value for vlan
}

service "https" { tcp = [443] }

flow "pumps_to_servers" {
  from      = zone.infusion_pumps
  to        = zone.pump_servers
  services  = [service.https]
  essential = "yes" # ERROR: Invalid value for essential
  reason    = ["telemetry"] # ERROR: Invalid value for reason
}

quarantine {
  max_auto_per_hour = "20" # ERROR: Invalid value for max_auto_per_hour
  approval_required = "life_critical" # ERROR: Invalid value for approval_required
  action            = ["isolate"] # ERROR: Invalid value for action
}
