# Zones live in this file; the flows that use them are in flows.hcl.

settings {
  default_zone   = "unclassified"
  default_action = "deny"
}

zone "unclassified" {
  criticality = "low"
  vlan        = 100
}

zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = 210
  subnets     = ["10.61.210.0/24"]
  match {
    class = ["infusion_pump"]
  }
}

zone "pump_servers" {
  criticality = "medium"
  vlan        = 310
  subnets     = ["10.62.10.0/28"]
  match {
    class = ["pump_server"]
  }
}
