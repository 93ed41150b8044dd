zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = 210
  subnets     = ["10.61.210.0/24", "2001:db8:61:210::/64"]
}

zone "pump_servers" {
  criticality = "medium"
  vlan        = 310
  subnets = [
    "10.61.0.0/16",       # WARNING: Overlapping zone subnets
    "10.62.10.0/28",
    "2001:db8:61::/48",   # WARNING: Overlapping zone subnets
  ]
}

zone "imaging" {
  criticality = "high"
  vlan        = 410
  subnets     = ["10.62.10.8/29"] # WARNING: Overlapping zone subnets
}
