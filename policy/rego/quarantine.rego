# Ward's built-in quarantine decision: what an alert (or a person's request)
# does to a device. An operator may replace it with their own module in
# package ward.quarantine in the policy directory; whatever the module says,
# Ward itself never quarantines a protected device or a target, never breaks
# an essential flow without approval, and turns automatic actions beyond
# max_auto_per_hour into notify.
#
# Input (docs/quarantine.md):
#   input.request    {"level": "isolate"|"restrict"|"", "manual": bool}
#   input.alert      {"source", "id", "severity", "signature", "format"} (absent for manual requests)
#   input.device     {"name", "class", "vendor", "criticality", "zone", "labels", "essential_flows": [...]}
#   input.quarantine the policy's quarantine block (docs/rego-input.md)
#   input.current    {"level": "", "pending": ""}: what is in force for the device now
#
# Output: decision = {"action": "isolate"|"restrict"|"notify",
#                     "pending": "isolate"|"", "reason": "..."}
# action is enforced now; pending is a level that waits for a person.
package ward.quarantine

severity_rank := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# What the request asks for: a person's level, or the policy's action for
# the device's criticality.
requested := input.request.level if input.request.manual

requested := object.get(input.quarantine.action, input.device.criticality, "notify") if not input.request.manual

below_min_severity if {
	not input.request.manual
	severity_rank[input.alert.severity] < severity_rank[input.quarantine.min_severity]
}

# Why an isolate of this device waits for a person.
approval_reasons contains sprintf("criticality %s is in approval_required", [input.device.criticality]) if {
	input.device.criticality in input.quarantine.approval_required
}

approval_reasons contains sprintf("the device takes part in essential flows (%s)", [concat(", ", input.device.essential_flows)]) if {
	count(input.device.essential_flows) > 0
}

decision := {"action": "notify", "pending": "", "reason": reason} if {
	below_min_severity
	reason := sprintf("alert severity %s is below min_severity %s", [input.alert.severity, input.quarantine.min_severity])
} else := {"action": "restrict", "pending": "isolate", "reason": reason} if {
	requested == "isolate"
	count(approval_reasons) > 0
	reason := sprintf("isolate waits for approval: %s; restricted to essential flows meanwhile", [concat("; ", sort(approval_reasons))])
} else := {"action": requested, "pending": "", "reason": reason} if {
	requested in {"isolate", "restrict"}
	reason := sprintf("%s for a %s device", [requested, input.device.criticality])
} else := {"action": "notify", "pending": "", "reason": reason} if {
	reason := sprintf("the policy's action for criticality %s is notify", [input.device.criticality])
}
