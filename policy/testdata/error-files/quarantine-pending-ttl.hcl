quarantine {
  vlan        = 999
  pending_ttl = "soon" # ERROR: Invalid pending_ttl
}
