target "unknown-driver" {
  driver  = "linux_iptables" # ERROR: Unknown driver
  address = "10.250.61.2"
  role    = "firewall"
}

target "unknown-role" {
  driver  = "cisco_iosxe"
  address = "10.250.61.3"
  role    = "router" # ERROR: Invalid target role
}

target "ovs-as-firewall" {
  driver  = "openvswitch" # ERROR: Driver cannot fill this role
  address = "10.250.61.4"
  role    = "firewall"
}

target "with-password" {
  driver     = "linux_nftables"
  address    = "10.250.61.5"
  username   = "ward"
  password   = "hunter2" # ERROR: Credentials do not belong in policy files
  role       = "firewall"
}

target "bad-address" {
  driver  = "linux_nftables"
  address = "10.250.61.6:22" # ERROR: Invalid target address
  role    = "firewall"
}

target "bad-address-2" {
  driver  = "linux_nftables"
  address = "core fw.example.org" # ERROR: Invalid target address
  role    = "firewall"
}

target "bad-port" {
  driver  = "linux_nftables"
  address = "10.250.61.7"
  port    = 65536 # ERROR: Invalid port
  role    = "firewall"
}

target "port-zero" {
  driver  = "linux_nftables"
  address = "10.250.61.8"
  port    = 0 # ERROR: Invalid port
  role    = "firewall"
}

target "typo" {
  driver   = "linux_nftables"
  address  = "10.250.61.9"
  usrname  = "ward" # ERROR: Unsupported argument
  role     = "firewall"
}

target "incomplete" { # ERROR: Missing required argument
  address = "10.250.61.10"
  role    = "firewall"
}
