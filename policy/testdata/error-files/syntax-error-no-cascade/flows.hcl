service "https" {
  tcp = [443]
}

flow "pumps_out" {
  from     = zone.pumps
  to       = zone.pumps
  services = [service.https]
}
