# Comments of every style, everywhere, and references to blocks declared
# further down the file: order does not matter.

/* A block comment
   over several lines, before anything else. */

// Flows first, although nothing they name exists yet.
flow "imaging_to_pacs" { # trailing comment after the brace
  # a comment inside the block
  from = zone.imaging // double-slash comment after a reference
  to   = [
    network.pacs, # comment between list elements
    // another style
    /* and an inline one */ zone.workstations,
  ]
  services = [service.dicom /* after an element */]
  /* comment before an attribute */ reason = "Images to PACS" # and after it
  ticket = "CHG-7" // closing
}

quarantine {
  vlan        = 998 # quarantine VLAN, no zone uses it
  remediation = network.remediation # declared below
}

settings {
  default_zone = "workstations" # declared below as well
}

service "dicom" {
  tcp = [104, /* standard */ 11112 /* TLS */]
}

/* zones */
zone "imaging" {
  criticality = "high" # CT, MR, X-ray
  vlan        = 410
  match {
    # every imaging modality
    class = ["ct", "mr", "xray"] // list
  }
}

// the default zone
zone "workstations" {
  criticality = "medium"
  vlan        = 500
}

network "pacs" {
  cidrs = ["10.20.0.0/22"] # PACS archive
}

network "remediation" {
  // patch server and AV
  cidrs = ["10.250.99.0/24"]
}

# end of file comment
