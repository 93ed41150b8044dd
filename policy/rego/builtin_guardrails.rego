# Guardrails every Ward policy keeps. A flow may waive a rule by name
# (waive = ["rule"], with waive_reason); waivers are reported in every plan.
package ward.builtin_guardrails

import data.ward.effective

# Zones whose devices nobody vouches for.
untrusted_zones contains "guest" if input.zones.guest

untrusted_zones contains "unclassified" if input.zones.unclassified

untrusted_zones contains input.settings.default_zone if input.settings.default_zone != ""

critical := {"life_critical", "high"}

zone_criticality(ref) := input.zones[ref.name].criticality if ref.kind == "zone"

any_address(ref) if {
	ref.kind == "network"
	some cidr in input.networks[ref.name].cidrs
	cidr in {"0.0.0.0/0", "::/0"}
}

all_ports(svc) if {
	some proto in ["tcp", "udp"]
	some r in input.services[svc][proto]
	r.from <= 1
	r.to >= 65535
}

violation contains v if {
	some name, flow in effective.flows
	some src in flow.from
	src.kind == "zone"
	src.name in untrusted_zones
	some dst in flow.to
	zone_criticality(dst) in critical
	v := {"rule": "untrusted_to_critical", "flow": name, "msg": sprintf(
		"flow %q lets zone %q (devices nobody vouches for) reach %s zone %q",
		[name, src.name, zone_criticality(dst), dst.name],
	)}
}

violation contains v if {
	some name, flow in effective.flows
	some src in flow.from
	zone_criticality(src) == "life_critical"
	some dst in flow.to
	any_address(dst)
	v := {"rule": "life_critical_to_internet", "flow": name, "msg": sprintf(
		"flow %q lets life-critical zone %q reach any address (network %q)",
		[name, src.name, dst.name],
	)}
}

violation contains v if {
	some name, flow in effective.flows
	trim_space(flow.reason) == ""
	v := {"rule": "flow_reason_required", "flow": name, "msg": sprintf(
		"flow %q has no reason: every path through the network must say why it exists",
		[name],
	)}
}

violation contains v if {
	some name, flow in effective.flows
	some dst in flow.to
	zone_criticality(dst) == "life_critical"
	some svc in flow.services
	all_ports(svc)
	v := {"rule": "all_ports_to_life_critical", "flow": name, "msg": sprintf(
		"flow %q opens every port (service %q) into life-critical zone %q",
		[name, svc, dst.name],
	)}
}

waived(v) if v.rule in input.flows[v.flow].waive

deny contains v if {
	some v in violation
	not waived(v)
}

waivers contains object.union(v, {"reason": input.flows[v.flow].waive_reason}) if {
	some v in violation
	waived(v)
}
