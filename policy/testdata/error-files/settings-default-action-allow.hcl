settings {
  default_zone   = "unclassified"
  default_action = "allow" # WARNING: Default action allows all traffic
}

zone "unclassified" {
  criticality = "low"
}
