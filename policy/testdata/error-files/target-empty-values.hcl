target "empty-driver" {
  driver  = "" # ERROR: Empty driver
  address = "10.250.61.2"
  role    = "firewall"
}

target "empty-address-role" {
  driver  = "linux_nftables"
  address = "" # ERROR: Empty address
  role    = "" # ERROR: Empty role
}

target "numeric-not-a-host" {
  driver  = "linux_nftables"
  address = "10.0.0.256" # ERROR: Invalid target address
  role    = "firewall"
}

target "all-digit-tld" {
  driver  = "linux_nftables"
  address = "fw.3" # ERROR: Invalid target address
  role    = "firewall"
}
