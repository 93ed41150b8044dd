zone "infusion_pumps" {
  criticality = "life_critical"
  vlna        = 210 # ERROR: Unsupported argument
}
