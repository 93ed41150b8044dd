# Enforcement points. Credentials are names in Ward's credential store, never
# secrets; SSH host keys are pinned in known_hosts (no "accept new key").

# Core firewall between zones (Linux nftables). Inter-zone flows are enforced
# here for every zone.
target "core-fw" {
  description = "Core inter-zone firewall, data centre"
  driver      = "linux_nftables"
  address     = "10.250.61.2"
  port        = 22
  username    = "ward"
  credential  = "core-fw"
  known_hosts = "/etc/ward/known_hosts"
  role        = "firewall"
}

# The Catalyst core routes between the zone VLANs: an inbound ACL on each
# zone's SVI enforces the same inter-zone policy as core-fw, in hardware.
target "core-sw" {
  description = "Catalyst 9500 core, data centre: routes the zone VLANs"
  driver      = "cisco_iosxe"
  address     = "10.250.61.20"
  port        = 22
  username    = "ward"
  credential  = "core-sw"
  known_hosts = "/etc/ward/known_hosts"
  role        = "firewall"
  model       = "C9500-24Y4C"
}

# The Arista distribution switch of the ICU wing routes its VLANs too.
target "dist-icu" {
  description = "Arista 7050X3 distribution, ICU wing: routes the zone VLANs"
  driver      = "arista_eos"
  address     = "10.250.61.21"
  port        = 22
  username    = "ward"
  credential  = "dist-icu"
  known_hosts = "/etc/ward/known_hosts"
  role        = "firewall"
  model       = "7050X3"
}

# Open vSwitch in the example lab (examples/hospital/lab): a handful of
# network namespaces standing in for real devices.
target "access-ovs" {
  description = "Lab access switch (Open vSwitch, network namespaces)"
  driver      = "openvswitch"
  address     = "10.250.61.3"
  port        = 22
  username    = "ward"
  credential  = "access-ovs"
  known_hosts = "/etc/ward/known_hosts"
  role        = "access_switch"
}

target "access-3w" {
  description = "Catalyst 9300 stack, 3 West IDF: general wards, ED, OR, pharmacy, admin floors"
  driver      = "cisco_iosxe"
  address     = "10.250.61.10"
  port        = 22
  username    = "ward"
  credential  = "access-3w"
  known_hosts = "/etc/ward/known_hosts"
  role        = "access_switch"
}

target "access-icu" {
  description = "Arista 720XP, ICU/CCU/NICU IDF"
  driver      = "arista_eos"
  address     = "10.250.61.11"
  port        = 22
  username    = "ward"
  credential  = "access-icu"
  known_hosts = "/etc/ward/known_hosts"
  role        = "access_switch"
}

target "access-rad" {
  description = "Juniper EX4400 virtual chassis: radiology, core lab, server room B1"
  driver      = "juniper_junos"
  address     = "10.250.61.12"
  port        = 22
  username    = "ward"
  credential  = "access-rad"
  known_hosts = "/etc/ward/known_hosts"
  role        = "access_switch"
}

target "access-clinic" {
  description = "Catalyst 9200 at the outpatient clinic (site clinic), managed over the WAN"
  driver      = "cisco_iosxe"
  address     = "10.250.62.10"
  port        = 22
  username    = "ward"
  credential  = "access-clinic"
  known_hosts = "/etc/ward/known_hosts"
  role        = "access_switch"
}
