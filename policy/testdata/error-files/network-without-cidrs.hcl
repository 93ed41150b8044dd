network "ehr" {
  cidrs = [] # ERROR: Network has no addresses
}

network "pacs" { # ERROR: Missing required argument
  description = "PACS archive, addresses forgotten"
}
