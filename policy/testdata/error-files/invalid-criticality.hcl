zone "infusion_pumps" {
  criticality = "critical" # ERROR: Invalid criticality
}

zone "imaging" {
  criticality = "High" # ERROR: Invalid criticality
}

zone "patient_monitors" { # ERROR: Missing required argument
  description = "No criticality given"
  vlan        = 220
}
