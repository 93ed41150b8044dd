package ward.quarantine_test

import data.ward.quarantine

q := {
	"action": {"low": "isolate", "medium": "isolate", "high": "restrict", "life_critical": "restrict"},
	"approval_required": ["life_critical"],
	"min_severity": "low",
}

dev(crit, essential) := {"name": "d", "criticality": crit, "labels": {}, "essential_flows": essential}

test_low_isolates if {
	d := quarantine.decision with input as {"request": {"level": "", "manual": false}, "alert": {"severity": "high"}, "device": dev("low", []), "quarantine": q}
	d.action == "isolate"
	d.pending == ""
}

test_life_critical_restricts if {
	d := quarantine.decision with input as {"request": {"level": "", "manual": false}, "alert": {"severity": "critical"}, "device": dev("life_critical", ["pumps"]), "quarantine": q}
	d.action == "restrict"
	d.pending == ""
}

test_isolate_of_life_critical_waits if {
	d := quarantine.decision with input as {"request": {"level": "isolate", "manual": true}, "device": dev("life_critical", []), "quarantine": q}
	d.action == "restrict"
	d.pending == "isolate"
}

test_isolate_of_essential_device_waits if {
	d := quarantine.decision with input as {"request": {"level": "", "manual": false}, "alert": {"severity": "high"}, "device": dev("low", ["workstations_to_ehr"]), "quarantine": q}
	d.action == "restrict"
	d.pending == "isolate"
	contains(d.reason, "workstations_to_ehr")
}

test_below_min_severity_notifies if {
	d := quarantine.decision with input as {"request": {"level": "", "manual": false}, "alert": {"severity": "info"}, "device": dev("low", []), "quarantine": q}
	d.action == "notify"
}

test_unlisted_criticality_notifies if {
	d := quarantine.decision with input as {"request": {"level": "", "manual": false}, "alert": {"severity": "high"}, "device": dev("unknown", []), "quarantine": q}
	d.action == "notify"
}
