target "core" {
  driver  = "cisco_iosxe"
  address = "10.250.61.3"
  role    = ["firewall", "access_switch"]
  model   = "C9300-48P"
}

target "branch" {
  driver  = "arista_eos"
  address = "10.250.61.8"
  role    = "access_switch"
  push    = false
}
