service "web" {
  tcp = [
    443,
    0,            # ERROR: Invalid port
    65536,        # ERROR: Invalid port
    "9000-8000",  # ERROR: Invalid port
    "abc",        # ERROR: Invalid port
    1.5,          # ERROR: Invalid port
    "8000-",      # ERROR: Invalid port
    "1-65536",    # ERROR: Invalid port
    -1,           # ERROR: Invalid port
    true,         # ERROR: Invalid port
    "8000-8100",
  ]
  udp = 70000 # ERROR: Invalid port
}
