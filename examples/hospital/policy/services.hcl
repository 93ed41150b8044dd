# Services: named port sets used by flows.hcl.
#
# Keep services narrow and named after what they carry, not after a port: a
# reviewer reading "services = [service.hl7]" knows what the flow is for.
# Vendor-specific entries come from the manufacturers' MDS2 forms and port
# matrices; they are marked as such and must be re-checked on every major
# software upgrade of the device.

# --- Infrastructure ---------------------------------------------------------

service "dns" {
  description = "Name resolution (TCP for large responses and zone transfers refused by the resolvers)"
  udp         = [53]
  tcp         = [53]
}

service "ntp" {
  description = "Time sync; alarm and infusion timestamps in the chart depend on it"
  udp         = [123]
}

service "syslog" {
  description = "Device logs to the SIEM collectors: UDP for devices that can do nothing else, TLS where supported"
  udp         = [514]
  tcp         = [6514]
}

service "ping" {
  description = "ICMP echo for reachability monitoring"
  icmp        = ["echo-request"]
  icmpv6      = ["echo-request"]
}

service "snmp" {
  description = "SNMP polling (v3 only is enforced on the devices, not here)"
  udp         = [161]
}

service "ldaps" {
  description = "Directory lookups over TLS (no cleartext LDAP 389)"
  tcp         = [636]
}

service "kerberos" {
  description = "Kerberos authentication to the domain controllers"
  tcp         = [88]
  udp         = [88]
}

service "https" {
  description = "HTTPS"
  tcp         = [443]
}

# Plain HTTP is allowed only where a protocol genuinely needs it: certificate
# revocation (CRL/OCSP is served over HTTP by design) and ONVIF camera control
# (see service.onvif). Never for a web UI.
service "http" {
  description = "Plain HTTP, for CRL/OCSP fetches only"
  tcp         = [80]
}

service "smb" {
  description = "SMB 3 with encryption, for PACS study exports to the teaching-file share"
  tcp         = [445]
}

service "citrix" {
  description = "Citrix ICA/CGP sessions to the EHR published desktops"
  tcp         = [1494, 2598]
}

service "printing" {
  description = "Print server to printers: raw JetDirect/ZPL and IPP"
  tcp         = [9100, 631]
}

# --- Clinical integration ---------------------------------------------------

service "hl7" {
  description = "HL7 v2 over MLLP (ADT, orders, results, vitals, infusion documentation)"
  tcp         = [2575]
}

service "dicom" {
  description = "DICOM C-STORE, C-FIND, MWL, storage commitment"
  tcp         = [104, 11112]
}

# ASTM E1381 / CLSI LIS2-A2 over TCP. Instrument Manager gives each analyzer
# connection its own listening port in this range.
service "astm_lis" {
  description = "ASTM/LIS2-A2 analyzer connections to instrument middleware"
  tcp         = ["5000-5099"]
}

# Vendor-specific (from the MDS2 / port matrix; verify on upgrade):
# the pump servers' device channel. Alaris Systems Manager, Spectrum IQ,
# DoseTrac and ICU Medical MedNet all use 443; Systems Manager additionally
# uses a dedicated device-communication port.
service "pump_telemetry" {
  description = "Pump to pump-server channel: drug library downloads, status, infusion events"
  tcp         = [443, 51444]
}

# Vendor-specific (plausible values, verify with Philips for your PIC iX
# release): IntelliVue monitors and the Information Center exchange waves,
# numerics and alarms over UDP, with TCP for configuration and Data Export.
service "philips_intellivue" {
  description = "Philips IntelliVue network: monitor <-> PIC iX waves, alarms, data export"
  udp         = ["24005-24105"]
  tcp         = [24105]
}

# Vendor-specific (plausible values, verify with GE for your CARESCAPE
# Network release): CARESCAPE monitors talk to the central station on a small
# block of TCP ports.
service "ge_carescape" {
  description = "GE CARESCAPE Network: monitor <-> CARESCAPE Central Station"
  tcp         = ["2000-2010"]
  udp         = [7000]
}

# Vendor-specific (plausible values, verify with Mindray): BeneVision CMS
# real-time data and its HL7 gateway port.
service "mindray_cms" {
  description = "Mindray BeneVision N-series monitor <-> CMS"
  tcp         = [4601, 4678]
  udp         = [4679]
}

service "sip" {
  description = "SIP signalling (nurse call voice, phones); TLS on 5061"
  udp         = [5060]
  tcp         = [5060, 5061]
}

service "rtp" {
  description = "RTP media for SIP calls"
  udp         = ["16384-32767"]
}

# Vendor-specific (plausible values): RTLS bridges report tag sightings to the
# location engine; the engine pushes configuration back over HTTPS.
service "rtls_engine" {
  description = "RTLS tag sightings from bridges to the location engine"
  udp         = [1144]
  tcp         = [12092]
}

# --- Facilities and security ------------------------------------------------

service "bacnet" {
  description = "BACnet/IP between BMS controllers and the Metasys/Desigo servers"
  udp         = [47808]
}

service "rtsp" {
  description = "Camera video streams to the recorders (RTSP, RTP interleaved over TCP)"
  tcp         = [554]
}

# ONVIF device management is SOAP over HTTP; most cameras cannot do it over
# TLS. HTTP here is confined to recorder -> camera inside the security zone's
# flows, never user -> camera.
service "onvif" {
  description = "ONVIF camera discovery/control from the recorders"
  tcp         = [80, 443]
}

service "mercury_access" {
  description = "Door controller (Mercury) to access control server"
  tcp         = [3001]
}

# --- Vendor remote support --------------------------------------------------

# Every flow using this service must be time-limited (guardrails.rego): vendor
# access is granted per contract period and re-approved, never permanent.
service "vendor_remote" {
  description = "Vendor remote support over the site-to-site VPN: HTTPS agents, SSH and VNC screen sharing"
  tcp         = [22, 443, 5900]
}
