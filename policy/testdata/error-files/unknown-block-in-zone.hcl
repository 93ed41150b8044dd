zone "infusion_pumps" {
  criticality = "life_critical"
  matches { # ERROR: Unsupported block type
    class = ["infusion_pump"]
  }
}
