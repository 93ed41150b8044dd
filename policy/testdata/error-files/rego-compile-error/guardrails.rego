package ward.guardrails

# No such built-in function.
deny contains msg if {
	some name, zone in input.zones
	zone.criticality == "life_critical"
	msg := format_message("zone %s", [name]) # ERROR: Invalid Rego: rego_type_error
}
