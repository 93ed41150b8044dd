target "twice" {
  driver  = "cisco_iosxe"
  address = "10.250.61.3"
  role    = ["firewall", "firewall"] # ERROR: Duplicate target role
}

target "no-roles" {
  driver  = "cisco_iosxe"
  address = "10.250.61.4"
  role    = [] # ERROR: Empty role
}

target "host-firewall-cannot-switch" {
  driver  = "linux_nftables" # ERROR: Driver cannot fill this role
  address = "10.250.61.5"
  role    = ["firewall", "access_switch"]
}

target "push-not-bool" {
  driver  = "cisco_iosxe"
  address = "10.250.61.6"
  role    = "firewall"
  push    = "no" # ERROR: Invalid value for push
}

target "no-options" {
  driver  = "linux_nftables"
  address = "10.250.61.7"
  role    = "firewall"
  bridge  = "br0" # ERROR: Unsupported argument
}
