zone "infusion_pumps" {
  criticality = "life_critical"
}

zone "pump_servers" {
  criticality = "medium"
}

service "https" { tcp = [443] }

network "ehr" { cidrs = ["10.10.0.0/16"] }

flow "undeclared_zone" {
  from     = zone.infusion_pump # ERROR: Reference to undeclared zone
  to       = zone.pump_servers
  services = [service.https]
}

flow "undeclared_service" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service.https, service.hl7] # ERROR: Reference to undeclared service
}

flow "undeclared_network" {
  from     = zone.infusion_pumps
  to       = [zone.pump_servers, network.ehr_dc] # ERROR: Reference to undeclared network
  services = [service.https]
}

flow "service_in_from" {
  from     = service.https # ERROR: Wrong kind of reference
  to       = zone.pump_servers
  services = [service.https]
}

flow "zone_in_services" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [zone.pump_servers] # ERROR: Wrong kind of reference
}

flow "quoted_reference" {
  from     = "zone.infusion_pumps" # ERROR: Invalid reference
  to       = zone.pump_servers
  services = [service.https]
}

flow "unknown_root" {
  from     = zones.infusion_pumps # ERROR: Invalid reference
  to       = zone.pump_servers
  services = [service.https]
}

flow "too_long" {
  from     = zone.infusion_pumps.devices # ERROR: Invalid reference
  to       = zone.pump_servers
  services = [service.https]
}

flow "index_instead_of_name" {
  from     = zone.infusion_pumps
  to       = zone["pump_servers"] # ERROR: Invalid reference
  services = [service.https]
}

flow "bare_root" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service] # ERROR: Invalid reference
}

flow "function_call" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [lower(service.https)] # ERROR: Invalid reference
}

quarantine {
  vlan        = 999
  remediation = [
    network.remediation, # ERROR: Reference to undeclared network
    service.https,       # ERROR: Wrong kind of reference
  ]
}
