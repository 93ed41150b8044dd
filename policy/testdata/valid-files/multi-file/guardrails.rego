package ward.guardrails

# A life-critical zone must never be left in monitor mode.
deny contains msg if {
	some name, zone in input.zones
	zone.criticality == "life_critical"
	zone.enforcement == "monitor"
	msg := sprintf("zone %s is life critical and must be enforced", [name])
}

# Every flow into a life-critical zone needs a change ticket.
deny contains msg if {
	some name, flow in input.flows
	some to in flow.to
	input.zones[to].criticality == "life_critical"
	not flow.ticket
	msg := sprintf("flow %s reaches a life-critical zone without a ticket", [name])
}
