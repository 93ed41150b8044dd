# The second declaration of each name is the one reported, at its label.

zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = 210
}

zone "infusion_pumps" { # ERROR: Duplicate zone "infusion_pumps"
  criticality = "life_critical"
}

service "https" { tcp = [443] }

service "https" { tcp = [8443] } # ERROR: Duplicate service "https"

network "ehr" { cidrs = ["10.10.0.0/16"] }

network "ehr" { # ERROR: Duplicate network "ehr"
  cidrs = ["10.11.0.0/16"]
}

flow "pumps_to_ehr" {
  from     = zone.infusion_pumps
  to       = network.ehr
  services = [service.https]
}

flow "pumps_to_ehr" { # ERROR: Duplicate flow "pumps_to_ehr"
  from     = zone.infusion_pumps
  to       = network.ehr
  services = [service.https]
}

target "core-fw" {
  driver  = "linux_nftables"
  address = "10.250.61.2"
  role    = "firewall"
}

target "core-fw" { # ERROR: Duplicate target "core-fw"
  driver  = "linux_nftables"
  address = "10.250.61.3"
  role    = "firewall"
}
