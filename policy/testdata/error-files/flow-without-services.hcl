zone "infusion_pumps" {
  criticality = "life_critical"
}

zone "pump_servers" {
  criticality = "medium"
}

flow "empty_list" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [] # ERROR: Flow has no services
}

flow "no_attribute" { # ERROR: Flow has no services
  from = zone.infusion_pumps
  to   = zone.pump_servers
}
