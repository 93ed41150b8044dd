zone "pumps" {
  criticality = "life_critical"
}

service "https" {
  tcp = [443]
}

flow "nowhere" {
  from     = [] # ERROR: Flow has an empty from
  to       = [] # ERROR: Flow has an empty to
  services = [service.https]
}

flow "fine" {
  from     = zone.pumps
  to       = [zone.pumps]
  services = [service.https]
}
