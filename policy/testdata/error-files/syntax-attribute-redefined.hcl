network "ehr" {
  cidrs = ["10.10.0.0/16"]
  cidrs = ["10.11.0.0/16"] # ERROR: Attribute redefined
}
