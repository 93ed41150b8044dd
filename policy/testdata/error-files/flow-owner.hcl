zone "infusion_pumps" {
  criticality = "life_critical"
}

zone "pump_servers" {
  criticality = "medium"
}

service "https" { tcp = [443] }

flow "owned" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service.https]
  owner    = "Pharmacy informatics"
}

flow "owner_not_a_string" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service.https]
  owner    = ["Pharmacy", "Biomed"] # ERROR: Invalid value for owner
}
