package ward.guardrails

# A life-critical zone must never be left in monitor mode.
deny contains msg if {
	some name, zone in input.zones
	zone.criticality == "life_critical"
	zone.enforcement == "monitor"
	msg := sprintf("zone %s must be enforced", [name]
} # ERROR: Invalid Rego: rego_parse_error
