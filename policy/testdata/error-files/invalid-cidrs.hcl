zone "infusion_pumps" {
  criticality = "life_critical"
  subnets = [
    "10.61.210.0/24",
    "10.61.211.0",      # ERROR: Invalid CIDR in subnets
    "10.61.212.1/24",   # ERROR: Invalid CIDR in subnets
    "pumps",            # ERROR: Invalid CIDR in subnets
    "10.61.213.0/33",   # ERROR: Invalid CIDR in subnets
    "2001:db8:61::1/64", # ERROR: Invalid CIDR in subnets
  ]
  match {
    ip = [
      "10.61.210.0/24",
      "10.61.210.7",    # ERROR: Invalid CIDR in match.ip
      "10.61.211.0/23", # ERROR: Invalid CIDR in match.ip
      "300.1.1.0/24",   # ERROR: Invalid CIDR in match.ip
    ]
  }
}

network "ehr" {
  cidrs = [
    "10.10.0.0/16",
    "10.10.0.0/8",        # ERROR: Invalid CIDR in cidrs
    "2001:db8:10::",      # ERROR: Invalid CIDR in cidrs
    "10.10.0.0 / 16",     # ERROR: Invalid CIDR in cidrs
    "10.10.0.0-10.10.255.255", # ERROR: Invalid CIDR in cidrs
  ]
}

network "single" {
  cidrs = "192.0.2.1" # ERROR: Invalid CIDR in cidrs
}
