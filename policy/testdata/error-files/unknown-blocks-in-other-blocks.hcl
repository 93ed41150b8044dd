# Blocks where only arguments (or a match block) are expected.

settings {
  defaults { # ERROR: Unsupported block type
    action = "deny"
  }
}

zone "infusion_pumps" {
  criticality = "life_critical"
  match {
    class = ["infusion_pump"]
    labels { # ERROR: Unsupported block type
      ward = "3 West"
    }
  }
}

service "https" {
  tcp = [443]
  port { # ERROR: Unexpected "port" block
    number = 8443
  }
}

network "ehr" {
  cidrs = ["10.10.0.0/16"]
  cidr "10.11.0.0/16" {} # ERROR: Unsupported block type
}

flow "pumps_to_ehr" {
  from     = zone.infusion_pumps
  to       = network.ehr
  services = [service.https]
  schedule { # ERROR: Unsupported block type
    days = ["mon"]
  }
}

quarantine {
  vlan = 999
  action { # ERROR: Unsupported block type
    low = "isolate"
  }
}

target "core-fw" {
  driver  = "linux_nftables"
  address = "10.250.61.2"
  role    = "firewall"
  ssh { # ERROR: Unexpected "ssh" block
    port = 22
  }
}
