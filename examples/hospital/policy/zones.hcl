# Zones of St. Example General (site "main", 400 beds) and its outpatient
# clinic (site "clinic", reached over the WAN; clinic devices share the zone
# VLANs and subnets of the main campus).
#
# Conventions used throughout:
#   * one VLAN per zone, subnet 10.61.<vlan>.0/24;
#   * zones are placed by device class first, vendor second, so every class
#     belongs to exactly one zone and no device can match two zones;
#   * vendor lists are allow-lists: an infusion pump from a vendor biomed has
#     not validated lands in "unclassified" and gets no flows until someone
#     looks at it — that is the point.
#
# Criticality drives quarantine (see quarantine.hcl): life_critical devices are
# never isolated automatically, only restricted to their essential flows.

# ---------------------------------------------------------------------------
# Life-critical: a network outage here can hurt a patient within minutes.
# ---------------------------------------------------------------------------

zone "infusion_pumps" {
  description = "Large-volume and syringe infusion pumps (wired docks and PCU modules)"
  criticality = "life_critical"
  vlan        = 210
  subnets     = ["10.61.210.0/24"]

  match {
    class  = ["infusion_pump"]
    vendor = ["BD", "Baxter*", "B. Braun", "ICU Medical"]
  }
}

zone "patient_monitors" {
  description = "Bedside and transport patient monitors"
  criticality = "life_critical"
  vlan        = 220
  subnets     = ["10.61.220.0/24"]

  match {
    class  = ["patient_monitor"]
    vendor = ["Philips", "GE Healthcare", "Mindray"]
  }
}

zone "central_monitoring" {
  description = "Central monitoring stations and monitoring-network gateways (PIC iX, CARESCAPE Central, BeneVision CMS)"
  criticality = "life_critical"
  vlan        = 221
  subnets     = ["10.61.221.0/24"]

  match {
    class  = ["central_station", "monitoring_gateway"]
    vendor = ["Philips", "GE Healthcare", "Mindray"]
  }
}

# ---------------------------------------------------------------------------
# High: diagnosis and treatment stop, patients are diverted or delayed.
# ---------------------------------------------------------------------------

zone "pump_servers" {
  description = "Infusion pump servers: drug libraries, auto-programming, infusion records"
  criticality = "high"
  vlan        = 211
  subnets     = ["10.61.211.0/24"]

  match {
    class = ["pump_server"]
  }
}

zone "imaging_modalities" {
  description = "CT, MR, interventional, X-ray, mammography and ultrasound modalities"
  criticality = "high"
  vlan        = 230
  subnets     = ["10.61.230.0/24"]

  match {
    class  = ["ct_scanner", "mri", "interventional_xray", "xray", "mammography", "ultrasound"]
    vendor = ["GE Healthcare", "Siemens Healthineers", "Philips", "Carestream", "Canon Medical", "Hologic"]
  }
}

zone "pacs" {
  description = "PACS archive, image servers and DICOM routers"
  criticality = "high"
  vlan        = 231
  subnets     = ["10.61.231.0/24"]

  # PACS runs only on the main campus; a "pacs_server" appearing at the clinic
  # is a mistake (or worse) and should fall to unclassified.
  match {
    class = ["pacs_server", "dicom_router"]
    site  = "main"
  }
}

zone "lab_analyzers" {
  description = "Core lab, microbiology and point-of-care blood gas analyzers"
  criticality = "high"
  vlan        = 240
  subnets     = ["10.61.240.0/24"]

  match {
    class  = ["lab_analyzer"]
    vendor = ["Roche", "Abbott", "Sysmex", "Beckman Coulter", "bioMerieux", "Radiometer", "Siemens Healthineers", "Stago"]
  }
}

zone "lis" {
  description = "Laboratory information system servers and instrument middleware"
  criticality = "high"
  vlan        = 241
  subnets     = ["10.61.241.0/24"]

  match {
    class = ["lis_server", "lab_middleware"]
  }
}

zone "nurse_call" {
  description = "Nurse call room stations, pillow speakers, dome lights and staff consoles"
  criticality = "high"
  vlan        = 250
  subnets     = ["10.61.250.0/24"]

  match {
    class  = ["nurse_call"]
    vendor = ["Rauland", "Hillrom"]
  }
}

zone "nurse_call_servers" {
  description = "Nurse call servers and alarm notification middleware (secondary alarms to staff phones)"
  criticality = "high"
  vlan        = 251
  subnets     = ["10.61.251.0/24"]

  match {
    class = ["nurse_call_server", "alarm_middleware"]
  }
}

zone "pharmacy_dispensing" {
  description = "Automated dispensing cabinets on the units and in pharmacy"
  criticality = "high"
  vlan        = 120
  subnets     = ["10.61.120.0/24"]

  match {
    class  = ["dispensing_cabinet"]
    vendor = ["BD", "Omnicell"]
  }
}

# ---------------------------------------------------------------------------
# Medium: hospital operations and safety, no direct patient care.
# ---------------------------------------------------------------------------

zone "clinical_workstations" {
  description = "Nursing and physician workstations, workstations on wheels, thin clients"
  criticality = "medium"
  vlan        = 100
  subnets     = ["10.61.100.0/24"]

  match {
    class = ["workstation", "workstation_on_wheels", "thin_client"]
  }
}

zone "biomed_engineering" {
  description = "Clinical engineering bench: biomed workstations and test equipment"
  criticality = "medium"
  vlan        = 110
  subnets     = ["10.61.110.0/24"]

  match {
    class = ["biomed_workstation", "biomed_tool"]
  }
}

zone "voip_phones" {
  description = "Desk and wall VoIP phones (code calls, nurse call voice)"
  criticality = "medium"
  vlan        = 140
  subnets     = ["10.61.140.0/24"]

  match {
    class = ["voip_phone"]
  }
}

zone "rtls" {
  description = "Real-time location system bridges and IR/RF star hubs (asset and staff tracking)"
  criticality = "medium"
  vlan        = 150
  subnets     = ["10.61.150.0/24"]

  # Monitor only while the RTLS rollout is in progress (CHG-2290): the bridges
  # on 4 East and 5 North are still being re-cabled to this VLAN and the
  # vendor's port list has not been confirmed. Ward logs what it would drop;
  # switch to "enforce" once two weeks of logs show nothing unexpected.
  enforcement = "monitor"

  match {
    class  = ["rtls_bridge"]
    vendor = ["CenTrak", "Stanley Healthcare"]
  }
}

zone "building_management" {
  description = "HVAC, pressure-room and BMS controllers (negative-pressure isolation rooms, OR air handling)"
  criticality = "medium"
  vlan        = 160
  subnets     = ["10.61.160.0/24"]

  match {
    class  = ["bms_controller", "bms_server"]
    vendor = ["Johnson Controls", "Siemens*", "Tridium"]
  }
}

zone "physical_security" {
  description = "IP cameras, recorders, badge readers and door controllers"
  criticality = "medium"
  vlan        = 170
  subnets     = ["10.61.170.0/24"]

  match {
    class = ["ip_camera", "nvr", "badge_reader", "access_controller"]
  }
}

# ---------------------------------------------------------------------------
# Low.
# ---------------------------------------------------------------------------

zone "printers" {
  description = "Office, label and wristband printers"
  criticality = "low"
  vlan        = 130
  subnets     = ["10.61.130.0/24"]

  match {
    class = ["printer", "label_printer"]
  }
}

zone "guest" {
  description = "Patient entertainment TVs, lobby kiosks and registered guest devices: internet only"
  criticality = "low"
  vlan        = 190
  subnets     = ["10.61.190.0/24"]

  match {
    class = ["patient_tv", "kiosk", "guest_device"]
  }
}

# The default zone (settings.hcl). No match block: it collects every device
# the rules above do not place. It has no flows into any clinical zone, so an
# unknown device on a clinical port can reach nothing but the registration
# portal (flows.hcl) until biomed or IT classify it.
zone "unclassified" {
  description = "Devices no rule places: reachable by nothing, reaching only the NAC registration portal"
  criticality = "low"
  vlan        = 199
  subnets     = ["10.61.199.0/24"]
}
