# A change request that Ward must stop: the vendor's field engineer wants to
# reach the pumps' web interface from the guest Wi-Fi "just for the upgrade
# weekend", and asks for every port to the monitors "to troubleshoot".
#
#   bin/ward plan -policy examples/hospital/bad-change     # exits 1, BLOCKED
#
# The built-in guardrails untrusted_to_critical and all_ports_to_life_critical
# deny it, and so do the hospital's own guardrails (guardrails.rego).

service "any_tcp" {
  description = "Every TCP port"
  tcp         = ["1-65535"]
}

flow "guest_wifi_to_pumps_upgrade" {
  from     = zone.guest
  to       = zone.infusion_pumps
  services = [service.https]
  reason   = "Vendor engineer upgrades pump firmware from a laptop on guest Wi-Fi"
  ticket   = "CHG-9001"
}

flow "biomed_all_ports_to_monitors" {
  from     = zone.biomed_engineering
  to       = zone.patient_monitors
  services = [service.any_tcp]
  reason   = "Troubleshooting"
  ticket   = "CHG-9002"
}
