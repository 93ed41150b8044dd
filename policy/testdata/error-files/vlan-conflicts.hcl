zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = 210
}

zone "patient_monitors" {
  criticality = "high"
  vlan        = 210 # ERROR: VLAN used by two zones
}

zone "imaging" {
  criticality = "high"
  vlan        = 410
}

quarantine {
  vlan = 410 # ERROR: Quarantine VLAN used by a zone
}
