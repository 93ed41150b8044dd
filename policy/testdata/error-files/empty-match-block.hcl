zone "infusion_pumps" {
  criticality = "life_critical"
  match {} # ERROR: Empty match block
}

zone "imaging" {
  criticality = "high"
  match { # ERROR: Empty match block
    # a comment is not a key
  }
}
