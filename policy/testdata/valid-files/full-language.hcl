# Every block and attribute of the policy language (DESIGN.md), all valid.

settings {
  default_zone   = "unclassified"
  default_action = "deny"
}

zone "unclassified" {
  description = "Devices no other zone matches"
  criticality = "low"
  vlan        = 100
  enforcement = "monitor"
}

zone "infusion_pumps" {
  description = "Networked infusion pumps"
  criticality = "life_critical"
  vlan        = 210
  subnets     = ["10.61.210.0/24", "2001:db8:61:210::/64"]
  enforcement = "enforce"
  priority    = 10
  match {
    class    = ["infusion_pump"]
    vendor   = ["BD", "Baxter*"]
    model    = "Alaris ????"
    firmware = ["12.*", "13.[0-4]*"]
    ip       = ["10.61.210.0/24", "2001:db8:61:210::/64"]
    labels = {
      ward          = ["3 West", "4 *"]
      "cost-center" = "ICU-[0-9]*"
    }
  }
}

zone "patient_monitors" {
  description = "Bedside and central patient monitors"
  criticality = "high"
  vlan        = 220
  subnets     = ["10.61.220.0/24"]
  match {
    name        = ["pm-*"]
    criticality = ["high", "life_critical"]
    site        = "main"
    location    = ["ICU *", "3 West"]
    switch      = ["access-*"]
    port        = ["Gi1/0/*"]
    mac         = ["00:1a:2b:*"]
  }
}

zone "pump_servers" {
  description = "Pump management servers"
  criticality = "medium"
  vlan        = 310
  subnets     = ["10.62.10.0/28"]
  match {
    class = "server"
  }
}

zone "guest" {
  criticality = "low"
  vlan        = 4094
  subnets     = ["172.16.0.0/16"]
  match {
    class = ["guest_*"]
  }
}

service "https" {
  description = "HTTP over TLS"
  tcp         = [443]
}

service "dicom" { tcp = [104, 11112] }

service "dns" {
  udp = [53]
  tcp = [53]
}

service "hl7_range" {
  tcp = ["2575", "6660-6669", 1, 65535]
  udp = "5000-5010"
}

service "ping" {
  icmp   = ["echo-request", "echo-reply"]
  icmpv6 = ["echo-request", "echo-reply", "nd-neighbor-solicit", "nd-neighbor-advert"]
}

service "single_icmp" { icmp = "destination-unreachable" }

network "ehr_datacenter" {
  description = "EHR servers outside the inventory"
  cidrs       = ["10.10.0.0/16", "2001:db8:10::/48"]
}

network "remediation" { cidrs = ["10.250.99.0/24"] }

network "ntp" { cidrs = "192.0.2.123/32" }

flow "pumps_to_pump_server" {
  description = "Pump telemetry and drug library"
  from        = zone.infusion_pumps
  to          = zone.pump_servers
  services    = [service.https]
  essential   = true
  reason      = "Drug library updates and infusion telemetry"
  ticket      = "CHG-1042"
  expires     = "2030-06-30"
}

flow "monitors_to_ehr" {
  from      = [zone.patient_monitors, zone.infusion_pumps]
  to        = [network.ehr_datacenter, zone.pump_servers]
  services  = [service.https, service.hl7_range, service.ping]
  essential = false
}

flow "everyone_to_dns" {
  from     = [zone.unclassified, zone.guest]
  to       = network.ntp
  services = [service.dns]
}

flow "expires_today" {
  from     = zone.pump_servers
  to       = network.ehr_datacenter
  services = [service.dicom, service.single_icmp]
  expires  = "2026-11-22"
}

quarantine {
  vlan              = 999
  remediation       = [network.remediation, zone.pump_servers]
  default_ttl       = "24h"
  max_auto_per_hour = 20
  action = {
    low           = "isolate"
    medium        = "isolate"
    high          = "restrict"
    life_critical = "notify"
  }
  approval_required = ["life_critical", "high"]
}

target "core-fw" {
  description = "Core firewall"
  driver      = "linux_nftables"
  address     = "10.250.61.2"
  port        = 22
  username    = "ward"
  credential  = "core-fw"
  known_hosts = "/etc/ward/known_hosts"
  role        = "firewall"
}

target "access-3w" {
  driver      = "openvswitch"
  address     = "access-3w.mgmt.example.org"
  port        = 2222
  username    = "ward"
  credential  = "access-3w"
  known_hosts = "/etc/ward/known_hosts"
  role        = "access_switch"
}

target "dist_v6" {
  driver  = "cisco_iosxe"
  address = "2001:db8:250::1"
  role    = "access_switch"
}

target "edge" {
  driver  = "cisco_iosxe"
  address = "edge"
  role    = "firewall"
}
