# The effective policy: which flows are in force now, and every zone's
# address set (its devices' IPs and its subnets).
package ward.effective

import data.ward.placement

expired(flow) if {
	flow.expires != ""
	time.parse_ns("2006-01-02", flow.expires) + (24 * 3600 * 1e9) <= input.now_ns
}

# Flows in force: declared, not expired.
flows[name] := flow if {
	some name, flow in input.flows
	not expired(flow)
}

expired_flows contains name if {
	some name, flow in input.flows
	expired(flow)
}

zone_addresses[z] contains addr if {
	some id, z in placement.zone
	addr := data.ward.devices[id].ip
}

zone_addresses[z] contains subnet if {
	some z, zone in input.zones
	some subnet in zone.subnets
}

# For reports: zone x zone -> the services allowed, from flows in force
# between zones. Networks appear as "network:NAME".
endpoint(ref) := ref.name if ref.kind == "zone"

endpoint(ref) := concat(":", ["network", ref.name]) if ref.kind == "network"

matrix[src][dst] contains svc if {
	some flow in flows
	some s in flow.from
	some d in flow.to
	src := endpoint(s)
	dst := endpoint(d)
	some svc in flow.services
}
