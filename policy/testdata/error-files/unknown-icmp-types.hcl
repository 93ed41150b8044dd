service "ping" {
  icmp   = ["echo-request", "echo"] # ERROR: Unknown ICMP type
  icmpv6 = [
    "echo-request",
    "neighbor-solicitation", # ERROR: Unknown ICMP type
    "source-quench",         # ERROR: Unknown ICMP type
  ]
}

service "ping4" {
  icmp = "nd-neighbor-solicit" # ERROR: Unknown ICMP type
}
