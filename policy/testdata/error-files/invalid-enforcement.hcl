zone "infusion_pumps" {
  criticality = "life_critical"
  enforcement = "block" # ERROR: Invalid enforcement
}

zone "imaging" {
  criticality = "high"
  enforcement = "monitoring" # ERROR: Invalid enforcement
}
