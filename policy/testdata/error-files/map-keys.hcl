zone "pumps" {
  criticality = "life_critical"

  match {
    class = ["infusion_pump"]
    labels = {
      ward   = "3 West"
      "ward" = "4 East" # ERROR: Duplicate key in labels
    }
  }
}

quarantine {
  # Quoted keys are as good as words.
  action = {
    "low"         = "isolate"
    medium        = "isolate"
    medium        = "notify" # ERROR: Duplicate key in action
    life_critical = "restrict"
  }
}
