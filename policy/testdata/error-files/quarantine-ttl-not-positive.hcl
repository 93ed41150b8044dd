quarantine {
  vlan        = 999
  default_ttl = "0s" # ERROR: Invalid default_ttl
}
