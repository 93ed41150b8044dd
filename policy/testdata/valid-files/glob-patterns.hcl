# Globs follow Rego's glob.match without delimiters: * crosses slashes.
zone "ward_3w_ports" {
  criticality = "medium"

  match {
    switch = ["access-3w"]
    port   = ["Gi1/0/*", "Gi2/0/[1-4]"]
    vendor = ["{BD,Baxter*}", "[!x]*"]
    model  = ["Alaris\\*"]
  }
}
