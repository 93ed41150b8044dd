zone "3west" { # ERROR: Invalid zone name
  criticality = "high"
}

zone "a b" { # ERROR: Invalid zone name
  criticality = "high"
}

service "web.tls" { tcp = [443] } # ERROR: Invalid service name

network "" { cidrs = ["10.10.0.0/16"] } # ERROR: Invalid network name

flow "pumps->servers" { # ERROR: Invalid flow name
  from     = zone.ok
  to       = zone.ok
  services = [service.ok]
}

target "core fw" { # ERROR: Invalid target name
  driver  = "linux_nftables"
  address = "10.250.61.2"
  role    = "firewall"
}

# Names may hold letters, digits, underscores and dashes.
zone "ok" {
  criticality = "low"
}

service "ok" { tcp = [443] }
