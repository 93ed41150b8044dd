zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = 210
}

zone "patient_monitors" {
  criticality = zone.infusion_pumps.criticality # ERROR: References not allowed here
  vlan        = zone.infusion_pumps # ERROR: References not allowed here
  subnets     = ["10.61.220.0/24", network.monitors] # ERROR: References not allowed here
}

network "monitors" { cidrs = ["10.61.220.0/24"] }

service "https" {
  tcp = [var.https_port] # ERROR: References not allowed here
}
