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

# A source is untrusted when it is an untrusted zone, or a network that
# overlaps one's subnets (the same devices, named another way).
untrusted_source(ref) := ref.name if {
	ref.kind == "zone"
	ref.name in untrusted_zones
}

untrusted_source(ref) := z if {
	ref.kind == "network"
	some z in untrusted_zones
	some subnet in input.zones[z].subnets
	some cidr in input.networks[ref.name].cidrs
	net.cidr_intersects(cidr, subnet)
}

# A network means "any address" when its CIDRs, merged, cover all of IPv4
# or IPv6, however they are split.
any_address(ref) if {
	ref.kind == "network"
	some merged in net.cidr_merge(input.networks[ref.name].cidrs)
	merged in {"0.0.0.0/0", "::/0"}
}

# A flow opens every port of proto when its services' ranges, together,
# leave no gap from 1 to 65535.
opens_all_ports(flow, proto) if {
	ranges := sort([[r.from, r.to] |
		some svc in flow.services
		some r in input.services[svc][proto]
	])
	count(ranges) > 0
	ranges[0][0] <= 1
	no_gap(ranges)
	max([r[1] | some r in ranges]) >= 65535
}

# no_gap: each range starts at most one past the furthest end before it.
no_gap(ranges) if {
	every i, r in ranges {
		reached(ranges, i, r)
	}
}

reached(_, i, _) if i == 0

reached(ranges, i, r) if {
	i > 0
	r[0] <= 1 + max([ranges[j][1] | some j in numbers.range(0, i - 1)])
}

violation contains v if {
	some name, flow in effective.flows
	some src in flow.from
	untrusted := untrusted_source(src)
	some dst in flow.to
	zone_criticality(dst) in critical
	v := {"rule": "untrusted_to_critical", "flow": name, "msg": sprintf(
		"flow %q lets %s %q (devices of zone %q, which nobody vouches for) reach %s zone %q",
		[name, src.kind, src.name, untrusted, zone_criticality(dst), dst.name],
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
	some proto in ["tcp", "udp"]
	opens_all_ports(flow, proto)
	v := {"rule": "all_ports_to_life_critical", "flow": name, "msg": sprintf(
		"flow %q opens every %s port (services %s) into life-critical zone %q",
		[name, proto, concat(", ", flow.services), dst.name],
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
