zone "by_ip" {
  criticality = "low"

  match {
    ip = [] # ERROR: Empty match list
  }
}

zone "by_label" {
  criticality = "low"

  match {
    labels = {} # ERROR: Empty match list
  }
}
