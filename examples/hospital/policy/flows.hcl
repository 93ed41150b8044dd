# Flows: everything that may talk across zones. Default is deny (settings.hcl).
#
# Rules of the house:
#   * every flow names a reason, its change ticket and its owner (ward recert);
#   * "essential = true" marks flows patient care depends on. They survive a
#     "restrict" quarantine (quarantine.hcl) and a plan that would break one
#     is flagged for review. Be strict: if the bedside keeps working without
#     it for a day, it is not essential;
#   * vendor remote support always expires and is re-approved per contract;
#   * flows are one-directional; replies to an allowed connection are allowed
#     by connection tracking, so a second flow is only needed when the other
#     side opens its own connections.
#
# Traffic inside a zone (e.g. cameras -> recorder, BMS controllers -> BMS
# server) is not filtered by Ward; zones are the unit of trust.

# ===========================================================================
# Infusion pumps
# ===========================================================================

flow "pumps_to_pump_servers" {
  description = "Pumps check in with their pump server"
  from        = zone.infusion_pumps
  to          = zone.pump_servers
  services    = [service.pump_telemetry]
  essential   = true
  reason      = "Drug library (dose limits) downloads, pump status and infusion events; without it pumps run on stale libraries"
  ticket      = "CHG-1042"
  owner       = "Pharmacy informatics"
}

flow "pump_servers_to_pumps" {
  from      = zone.pump_servers
  to        = zone.infusion_pumps
  services  = [service.pump_telemetry]
  essential = true
  reason    = "Auto-programming: the pump server pushes the pharmacist-verified order to the pump the nurse scanned"
  ticket    = "CHG-1043"
  owner     = "Pharmacy informatics"
}

flow "ehr_to_pump_servers_orders" {
  from      = network.ehr_datacenter
  to        = zone.pump_servers
  services  = [service.hl7]
  essential = true
  reason    = "EHR-pump interoperability: verified infusion orders for auto-programming"
  ticket    = "CHG-1044"
  owner     = "Pharmacy informatics"
}

flow "pump_servers_to_ehr_documentation" {
  from      = zone.pump_servers
  to        = network.ehr_datacenter
  services  = [service.hl7]
  essential = true
  reason    = "Auto-documentation of rates, volumes and rate changes into the MAR"
  ticket    = "CHG-1044"
  owner     = "Pharmacy informatics"
}

# ===========================================================================
# Patient monitoring
# ===========================================================================

flow "monitors_to_central_monitoring" {
  description = "Bedside monitors stream to their central station"
  from        = zone.patient_monitors
  to          = zone.central_monitoring
  services    = [service.philips_intellivue, service.ge_carescape, service.mindray_cms]
  essential   = true
  reason      = "Waveforms, numerics and alarms reach the central station where the monitor tech watches 60+ beds"
  ticket      = "CHG-1101"
  owner       = "Clinical engineering"
}

flow "central_monitoring_to_monitors" {
  from      = zone.central_monitoring
  to        = zone.patient_monitors
  services  = [service.philips_intellivue, service.ge_carescape, service.mindray_cms]
  essential = true
  reason    = "Central station opens its own sessions to monitors: admit/discharge to bed, remote alarm settings, overview of another bed"
  ticket    = "CHG-1101"
  owner     = "Clinical engineering"
}

flow "central_monitoring_to_ehr_vitals" {
  from      = zone.central_monitoring
  to        = network.ehr_datacenter
  services  = [service.hl7]
  essential = true
  reason    = "Validated vital signs (HL7 ORU) into the EHR flowsheet via the interface engine"
  ticket    = "CHG-1102"
  owner     = "Clinical engineering"
}

flow "ehr_to_central_monitoring_adt" {
  from      = network.ehr_datacenter
  to        = zone.central_monitoring
  services  = [service.hl7]
  essential = true
  reason    = "ADT feed so each monitor shows the right patient; wrong-patient alarms are a patient-safety event"
  ticket    = "CHG-1102"
  owner     = "Clinical engineering"
}

flow "central_monitoring_to_alarm_middleware" {
  from      = zone.central_monitoring
  to        = zone.nurse_call_servers
  services  = [service.hl7]
  essential = true
  reason    = "Secondary alarm notification: arrhythmia and SpO2 alarms forwarded to the assigned nurse's phone"
  ticket    = "CHG-1103"
  owner     = "Clinical engineering"
}

# ===========================================================================
# Imaging
# ===========================================================================

flow "modalities_to_pacs" {
  from      = zone.imaging_modalities
  to        = zone.pacs
  services  = [service.dicom]
  essential = true
  reason    = "Studies stored to PACS (C-STORE) and priors retrieved; radiologists read from PACS, not from the scanner"
  ticket    = "CHG-1201"
  owner     = "Radiology IT"
}

flow "pacs_to_modalities_commitment" {
  from      = zone.pacs
  to        = zone.imaging_modalities
  services  = [service.dicom]
  essential = false
  reason    = "Storage commitment replies and prior-study pushes; modalities keep local copies until committed, so scanning continues without it"
  ticket    = "CHG-1201"
  owner     = "Radiology IT"
}

flow "modalities_to_worklist" {
  from      = zone.imaging_modalities
  to        = network.ehr_datacenter
  services  = [service.dicom]
  essential = true
  reason    = "Modality worklist and MPPS from the RIS; without it technologists type demographics by hand (wrong-patient risk)"
  ticket    = "CHG-1202"
  owner     = "Radiology IT"
}

flow "ehr_to_pacs_orders" {
  from      = network.ehr_datacenter
  to        = zone.pacs
  services  = [service.hl7]
  essential = true
  reason    = "Orders and ADT to PACS so studies reconcile to the right patient and accession"
  ticket    = "CHG-1203"
  owner     = "Radiology IT"
}

flow "pacs_to_ehr_results" {
  from      = zone.pacs
  to        = network.ehr_datacenter
  services  = [service.hl7, service.https]
  essential = false
  reason    = "Study-available notifications and image links into the EHR; reports themselves come from the RIS, so this is convenience"
  ticket    = "CHG-1203"
  owner     = "Radiology IT"
}

flow "workstations_to_pacs_viewer" {
  from      = zone.clinical_workstations
  to        = zone.pacs
  services  = [service.https]
  essential = true
  reason    = "Zero-footprint image viewer used in the ED, ICU and OR to see images before the report is final"
  ticket    = "CHG-1204"
  owner     = "Radiology IT"
}

flow "pacs_exports_to_teaching_share" {
  from      = zone.pacs
  to        = network.ehr_datacenter
  services  = [service.smb]
  essential = false
  reason    = "Anonymised study exports to the radiology teaching-file share"
  ticket    = "CHG-1205"
  owner     = "Radiology IT"
}

# ===========================================================================
# Laboratory
# ===========================================================================

flow "lab_analyzers_to_lis" {
  from      = zone.lab_analyzers
  to        = zone.lis
  services  = [service.astm_lis, service.hl7]
  essential = true
  reason    = "Results from analyzers to instrument middleware and the LIS; without it every result is re-keyed by hand"
  ticket    = "CHG-1301"
  owner     = "Laboratory IT"
}

flow "lis_to_lab_analyzers" {
  from      = zone.lis
  to        = zone.lab_analyzers
  services  = [service.astm_lis]
  essential = true
  reason    = "Host query: middleware connects out to analyzers configured as TCP servers (Sysmex XN, Radiometer ABL) to send orders"
  ticket    = "CHG-1301"
  owner     = "Laboratory IT"
}

flow "lis_to_ehr_results" {
  from      = zone.lis
  to        = network.ehr_datacenter
  services  = [service.hl7]
  essential = true
  reason    = "Verified lab results and critical-value flags into the EHR"
  ticket    = "CHG-1302"
  owner     = "Laboratory IT"
}

flow "ehr_to_lis_orders" {
  from      = network.ehr_datacenter
  to        = zone.lis
  services  = [service.hl7]
  essential = true
  reason    = "Lab orders and ADT from the EHR to the LIS"
  ticket    = "CHG-1302"
  owner     = "Laboratory IT"
}

# ===========================================================================
# Nurse call and voice
# ===========================================================================

flow "nurse_call_to_servers" {
  from      = zone.nurse_call
  to        = zone.nurse_call_servers
  services  = [service.sip, service.rtp, service.https]
  essential = true
  reason    = "Patient and staff calls, code blue buttons and bathroom pull cords reach the nurse call server"
  ticket    = "CHG-1401"
  owner     = "Unified communications"
}

flow "nurse_call_servers_to_stations" {
  from      = zone.nurse_call_servers
  to        = zone.nurse_call
  services  = [service.sip, service.rtp]
  essential = true
  reason    = "Server calls back into rooms (two-way voice) and drives dome lights and consoles"
  ticket    = "CHG-1401"
  owner     = "Unified communications"
}

flow "nurse_call_servers_to_phones" {
  from      = zone.nurse_call_servers
  to        = zone.voip_phones
  services  = [service.sip, service.rtp]
  essential = true
  reason    = "Nurse calls and secondary alarms ring the assigned nurse's phone"
  ticket    = "CHG-1402"
  owner     = "Unified communications"
}

flow "phones_to_nurse_call_servers" {
  from      = zone.voip_phones
  to        = zone.nurse_call_servers
  services  = [service.sip, service.rtp]
  essential = true
  reason    = "Nurses answer a call from the phone and talk to the patient's room"
  ticket    = "CHG-1402"
  owner     = "Unified communications"
}

flow "ehr_to_nurse_call_adt" {
  from      = network.ehr_datacenter
  to        = zone.nurse_call_servers
  services  = [service.hl7]
  essential = false
  reason    = "ADT and staff assignments so consoles show patient names and route calls; calls still ring by room without it"
  ticket    = "CHG-1403"
  owner     = "Unified communications"
}

flow "phones_to_voice_core" {
  from      = zone.voip_phones
  to        = network.voice_core
  services  = [service.sip, service.rtp, service.https]
  essential = true
  reason    = "Registration and calls through the call manager: code blue, rapid response, overhead paging"
  ticket    = "CHG-1501"
  owner     = "Unified communications"
}

flow "voice_core_to_phones" {
  from      = network.voice_core
  to        = zone.voip_phones
  services  = [service.sip, service.rtp]
  essential = true
  reason    = "Inbound calls and pages to unit phones"
  ticket    = "CHG-1501"
  owner     = "Unified communications"
}

# ===========================================================================
# Pharmacy, workstations, printing
# ===========================================================================

flow "dispensing_to_pharmacy_server" {
  from      = zone.pharmacy_dispensing
  to        = network.ehr_datacenter
  services  = [service.https]
  essential = true
  reason    = "Cabinets check profiled orders and user access against the dispensing server; offline mode allows overrides only"
  ticket    = "CHG-1601"
  owner     = "Clinical applications"
}

flow "workstations_to_ehr" {
  from      = zone.clinical_workstations
  to        = network.ehr_datacenter
  services  = [service.https, service.citrix]
  essential = true
  reason    = "EHR access: charting, orders, medication administration (barcode scanning) at the bedside"
  ticket    = "CHG-1701"
  owner     = "Clinical applications"
}

flow "workstations_to_directory" {
  from      = [zone.clinical_workstations, zone.biomed_engineering]
  to        = network.directory_services
  services  = [service.ldaps, service.kerberos]
  essential = true
  reason    = "Badge tap-and-go and domain logon; without it nobody can log in to chart"
  ticket    = "CHG-1702"
  owner     = "Clinical applications"
}

flow "print_server_to_printers" {
  from      = network.ehr_datacenter
  to        = zone.printers
  services  = [service.printing, service.snmp]
  essential = true
  reason    = "Patient wristbands and specimen labels (positive patient identification) print through the central print server"
  ticket    = "CHG-1703"
  owner     = "Clinical applications"
}

flow "workstations_to_pki" {
  from      = [zone.clinical_workstations, zone.biomed_engineering]
  to        = network.infrastructure_services
  services  = [service.http]
  essential = false
  reason    = "Certificate revocation checks (CRL/OCSP are plain HTTP by design); the only use of HTTP to infrastructure"
  ticket    = "CHG-1704"
  owner     = "Clinical applications"
}

# ===========================================================================
# Clinical engineering
# ===========================================================================

flow "biomed_to_pump_servers" {
  from      = zone.biomed_engineering
  to        = zone.pump_servers
  services  = [service.https]
  essential = false
  reason    = "Drug library publishing (with pharmacy) and pump fleet management consoles"
  ticket    = "CHG-1801"
  owner     = "Clinical engineering"
}

flow "biomed_to_medical_devices" {
  from      = zone.biomed_engineering
  to        = [zone.infusion_pumps, zone.patient_monitors, zone.central_monitoring, zone.imaging_modalities, zone.lab_analyzers]
  services  = [service.https, service.ping]
  essential = false
  reason    = "Preventive maintenance, service web pages and software updates by clinical engineering"
  ticket    = "CHG-1802"
  owner     = "Clinical engineering"
}

# ===========================================================================
# Facilities, security, RTLS
# ===========================================================================

flow "facilities_to_bms" {
  from      = network.facilities_office
  to        = zone.building_management
  services  = [service.https, service.bacnet]
  essential = false
  reason    = "Metasys/Desigo consoles: isolation-room pressure alarms, OR temperature and humidity set points"
  ticket    = "CHG-1901"
  owner     = "Facilities IT"
}

flow "security_office_to_physical_security" {
  from      = network.security_office
  to        = zone.physical_security
  services  = [service.https, service.rtsp]
  essential = false
  reason    = "Live video and playback from the recorders, door lock/unlock from the access control server"
  ticket    = "CHG-1902"
  owner     = "Facilities IT"
}

flow "rtls_to_location_engine" {
  from      = zone.rtls
  to        = network.ehr_datacenter
  services  = [service.rtls_engine, service.https]
  essential = false
  reason    = "Tag sightings (pumps, wheelchairs, infant security tags) to the location engine"
  ticket    = "CHG-2290"
  owner     = "Facilities IT"
}

flow "rtls_to_nurse_call_presence" {
  from      = zone.rtls
  to        = zone.nurse_call_servers
  services  = [service.https]
  essential = false
  reason    = "Staff presence in a room cancels the call light automatically"
  ticket    = "CHG-2291"
  owner     = "Facilities IT"
}

# ===========================================================================
# Infrastructure: DNS, NTP, logging, monitoring
# ===========================================================================

flow "devices_to_dns" {
  from = [
    zone.infusion_pumps, zone.patient_monitors, zone.central_monitoring, zone.pump_servers,
    zone.imaging_modalities, zone.pacs, zone.lab_analyzers, zone.lis, zone.nurse_call,
    zone.nurse_call_servers, zone.pharmacy_dispensing, zone.clinical_workstations,
    zone.biomed_engineering, zone.voip_phones, zone.rtls, zone.building_management,
    zone.physical_security, zone.printers,
  ]
  to        = network.infrastructure_services
  services  = [service.dns]
  essential = true
  reason    = "Devices find their servers by name (pump server, PACS, central station); a failed lookup is an outage"
  ticket    = "CHG-1001"
  owner     = "Network engineering"
}

flow "devices_to_ntp" {
  from = [
    zone.infusion_pumps, zone.patient_monitors, zone.central_monitoring, zone.pump_servers,
    zone.imaging_modalities, zone.pacs, zone.lab_analyzers, zone.lis, zone.nurse_call,
    zone.nurse_call_servers, zone.pharmacy_dispensing, zone.clinical_workstations,
    zone.biomed_engineering, zone.voip_phones, zone.rtls, zone.building_management,
    zone.physical_security, zone.printers,
  ]
  to        = network.infrastructure_services
  services  = [service.ntp]
  essential = true
  reason    = "Alarm, infusion and result timestamps go into the legal record; clock drift breaks charting and forensics"
  ticket    = "CHG-1001"
  owner     = "Network engineering"
}

flow "devices_to_syslog" {
  from = [
    zone.central_monitoring, zone.pump_servers, zone.imaging_modalities, zone.pacs, zone.lis,
    zone.nurse_call_servers, zone.pharmacy_dispensing, zone.clinical_workstations,
    zone.biomed_engineering, zone.building_management, zone.physical_security,
  ]
  to        = network.siem_collectors
  services  = [service.syslog]
  essential = false
  reason    = "Security logging (HIPAA audit controls); also feeds the alerts that drive quarantine"
  ticket    = "CHG-1002"
  owner     = "Network engineering"
}

flow "netops_ping" {
  from = network.netops_monitoring
  to = [
    zone.infusion_pumps, zone.patient_monitors, zone.central_monitoring, zone.pump_servers,
    zone.imaging_modalities, zone.pacs, zone.lab_analyzers, zone.lis, zone.nurse_call,
    zone.nurse_call_servers, zone.pharmacy_dispensing, zone.voip_phones, zone.rtls,
    zone.building_management, zone.physical_security, zone.printers,
  ]
  services  = [service.ping]
  essential = false
  reason    = "Reachability monitoring so the service desk sees a dead monitor drop before the nurse does"
  ticket    = "CHG-1003"
  owner     = "Network engineering"
}

# ===========================================================================
# Vendor remote support — always time-limited (guardrails.rego enforces it).
# The VPN concentrator additionally pins each tunnel to its own devices'
# addresses; Ward's zones are the coarser second layer.
# ===========================================================================

flow "vendor_philips_to_central_monitoring" {
  from      = network.vendor_vpn_philips
  to        = zone.central_monitoring
  services  = [service.vendor_remote]
  essential = false
  reason    = "Philips Remote Services for PIC iX under the 2026-27 service contract; sessions started by biomed on request"
  ticket    = "CHG-2101"
  owner     = "Clinical engineering"
  expires   = "2027-03-31"
}

flow "vendor_ge_to_imaging" {
  from      = network.vendor_vpn_ge
  to        = zone.imaging_modalities
  services  = [service.vendor_remote]
  essential = false
  reason    = "GE InSite remote diagnostics for the Revolution CTs (tube and detector monitoring, uptime SLA)"
  ticket    = "CHG-2102"
  owner     = "Clinical engineering"
  expires   = "2027-06-30"
}

flow "vendor_siemens_to_imaging" {
  from      = network.vendor_vpn_siemens
  to        = zone.imaging_modalities
  services  = [service.vendor_remote]
  essential = false
  reason    = "Siemens Smart Remote Services for the MAGNETOM MR systems (helium level, coil diagnostics)"
  ticket    = "CHG-2103"
  owner     = "Clinical engineering"
  expires   = "2027-06-30"
}

flow "vendor_roche_to_lab" {
  from      = network.vendor_vpn_roche
  to        = [zone.lab_analyzers, zone.lis]
  services  = [service.vendor_remote]
  essential = false
  reason    = "Roche remote service for the cobas 8000 line and its middleware during the reagent-contract term"
  ticket    = "CHG-2104"
  owner     = "Clinical engineering"
  expires   = "2027-01-31"
}

flow "vendor_bd_to_pump_servers" {
  from      = network.vendor_vpn_bd
  to        = [zone.pump_servers, zone.pharmacy_dispensing]
  services  = [service.vendor_remote]
  essential = false
  reason    = "BD support for the Alaris Systems Manager upgrade to 12.3 and Pyxis ES patching"
  ticket    = "CHG-2105"
  owner     = "Clinical engineering"
  expires   = "2027-02-28"
}

# ===========================================================================
# Guest and unclassified: out only, never in.
# ===========================================================================

flow "guest_to_internet" {
  from      = zone.guest
  to        = network.internet
  services  = [service.https]
  essential = false
  reason    = "Patient TVs (streaming, education content) and lobby kiosks; HTTPS only, nothing internal"
  ticket    = "CHG-1010"
  owner     = "Network engineering"
}

flow "guest_to_public_dns" {
  from      = zone.guest
  to        = network.public_dns
  services  = [service.dns]
  essential = false
  reason    = "Guests resolve names with public filtering resolvers, never with the hospital's internal DNS"
  ticket    = "CHG-1010"
  owner     = "Network engineering"
}

flow "unclassified_to_remediation" {
  from      = zone.unclassified
  to        = network.remediation
  services  = [service.https]
  essential = false
  reason    = "Unknown devices can reach the NAC registration portal so biomed/IT can identify and classify them"
  ticket    = "CHG-1011"
  owner     = "Network engineering"
}
