zone "infusion_pumps" {
  criticality = "life_critical"
  match {
    class  = ["infusion_pump"]
    vendor = ["BD", "[abc"] # ERROR: Invalid pattern
    model  = "Alaris [8015" # ERROR: Invalid pattern
    labels = {
      ward = ["3 West", "4 West\\"] # ERROR: Invalid pattern
    }
  }
}

zone "imaging" {
  criticality = "high"
  match {
    class   = [] # ERROR: Empty match list
    colour  = ["blue"] # ERROR: Unsupported argument
    labels  = ["ward"] # ERROR: Invalid value for labels
  }
}
