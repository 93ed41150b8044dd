settings {
  default_action = "deny"
}

settings { # ERROR: Duplicate settings block
  default_action = "deny"
}

quarantine {
  vlan = 999
}

quarantine { # ERROR: Duplicate quarantine block
  vlan = 998
}

zone "infusion_pumps" {
  criticality = "life_critical"
  match {
    class = ["infusion_pump"]
  }
  match { # ERROR: Duplicate match block
    vendor = ["BD"]
  }
}
