# Flows, services and networks; the zones are declared in zones.hcl.

service "https" { tcp = [443] }

network "remediation" { cidrs = ["10.250.99.0/24"] }

flow "pumps_to_pump_server" {
  from      = zone.infusion_pumps
  to        = zone.pump_servers
  services  = [service.https]
  essential = true
  reason    = "Drug library updates and infusion telemetry"
  ticket    = "CHG-1042"
  expires   = "2030-06-30"
}

quarantine {
  vlan        = 999
  remediation = [network.remediation]
}
