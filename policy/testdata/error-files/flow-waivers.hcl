zone "guest" {
  criticality = "low"
}

service "https" {
  tcp = [443]
}

flow "waived_properly" {
  from         = zone.guest
  to           = zone.guest
  services     = [service.https]
  reason       = "Captive portal"
  waive        = ["untrusted_to_critical"]
  waive_reason = "Portal is a separate appliance; accepted by CISO, RISK-12"
}

flow "waived_without_reason" {
  from     = zone.guest
  to       = zone.guest
  services = [service.https]
  waive    = ["untrusted_to_critical"] # ERROR: Waiver without a reason
}

flow "bad_rule_name" {
  from         = zone.guest
  to           = zone.guest
  services     = [service.https]
  waive        = ["not a rule"] # ERROR: Invalid guardrail name
  waive_reason = "x"
}
