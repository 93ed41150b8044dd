# A policy with a little of everything wrong, for the golden test of the
# text diagnostics writer.
settings {
  default_zone = "unclasified"
}

zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = 210
  subnets     = ["10.61.210.7/24"]
}

zone "patient_monitors" {
  criticality = "life-critical"
  vlan        = 210
}

service "https" { tcp = [443] }

flow "pumps_to_server" {
  from     = zone.infusion_pump
  to       = [zone.patient_monitors, service.https]
  services = []
  reason   = "Drug library updates"
  expires  = "2020-06-30"
}

target "core-fw" {
  driver   = "linux_nftable"
  address  = "10.250.61.2"
  role     = "firewall"
  password = "s3cret"
}
