package ward.guardrails

# msg is never bound, so the rule head is unsafe.
deny contains msg if { # ERROR: Invalid Rego: rego_unsafe_var_error
	some zone in input.zones
	zone.enforcement == "monitor"
}
