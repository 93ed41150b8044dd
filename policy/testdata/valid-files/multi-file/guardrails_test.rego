package ward.guardrails_test

import data.ward.guardrails

test_monitored_life_critical_zone_is_denied if {
	msgs := guardrails.deny with input as {
		"zones": {"pumps": {"criticality": "life_critical", "enforcement": "monitor"}},
		"flows": {},
	}
	msgs == {"zone pumps is life critical and must be enforced"}
}

test_flow_without_ticket_is_denied if {
	msgs := guardrails.deny with input as {
		"zones": {"pumps": {"criticality": "life_critical", "enforcement": "enforce"}},
		"flows": {"f": {"to": ["pumps"]}},
	}
	count(msgs) == 1
}

test_enforced_zone_with_ticketed_flow_is_allowed if {
	count(guardrails.deny) == 0 with input as {
		"zones": {"pumps": {"criticality": "life_critical", "enforcement": "enforce"}},
		"flows": {"f": {"to": ["pumps"], "ticket": "CHG-1"}},
	}
}
