settings {
  default_zone   = "unclasified" # ERROR: Unknown default zone
  default_action = "drop" # ERROR: Invalid default_action
}

zone "unclassified" {
  criticality = "low"
}
