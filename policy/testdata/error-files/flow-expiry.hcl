zone "infusion_pumps" {
  criticality = "life_critical"
}

zone "pump_servers" {
  criticality = "medium"
}

service "https" { tcp = [443] }

flow "european_date" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service.https]
  expires  = "30/06/2027" # ERROR: Invalid expiry date
}

flow "month_thirteen" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service.https]
  expires  = "2027-13-01" # ERROR: Invalid expiry date
}

flow "with_time" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service.https]
  expires  = "2027-06-30T00:00:00Z" # ERROR: Invalid expiry date
}

flow "already_expired" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service.https]
  expires  = "2020-01-01" # WARNING: Flow has expired
}

flow "expired_yesterday" {
  from     = zone.infusion_pumps
  to       = zone.pump_servers
  services = [service.https]
  expires  = "2026-11-21" # WARNING: Flow has expired
}
