service "diameter" {
  tcp  = [3868]
  sctp = [3868] # ERROR: Unknown protocol
}
