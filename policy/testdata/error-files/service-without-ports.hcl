service "nothing" { # ERROR: Service has no ports
  description = "Lists no protocol at all"
}

service "empty" { # ERROR: Service has no ports
  tcp = []
  udp = []
}
