# Guardrails for St. Example General.
#
# A deny blocks `ward apply`; a warn is printed by `ward validate` and `ward
# plan`. Each rule encodes a lesson the hospital does not want to learn twice.
# The input is the whole policy (zones, services, networks, flows, quarantine,
# targets, settings) as JSON; flows' from/to are lists of {"kind", "name"}.
package ward.guardrails

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

life_critical_zones contains name if {
	some name, zone in input.zones
	zone.criticality == "life_critical"
}

# Zones where a compromise stops diagnosis or treatment.
protected_zones contains name if {
	some name, zone in input.zones
	zone.criticality in {"life_critical", "high"}
}

# Zones whose devices nobody vouches for.
untrusted_zones contains input.settings.default_zone

untrusted_zones contains "guest" if input.zones.guest

# Vendor remote access: from a vendor_* network, or over a vendor_* service.
vendor_access(flow) if {
	some src in flow.from
	src.kind == "network"
	startswith(src.name, "vendor_")
}

vendor_access(flow) if {
	some svc in flow.services
	startswith(svc, "vendor_")
}

private_ranges := ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]

# A network is internal if any of its CIDRs lies inside a private range.
internal_network(name) if {
	some cidr in input.networks[name].cidrs
	some private in private_ranges
	net.cidr_contains(private, cidr)
}

remediation_networks contains ref.name if {
	some ref in input.quarantine.remediation
	ref.kind == "network"
}

# Cleartext remote-administration protocols: credentials and commands in
# the clear, and the favourite way into old embedded medical devices.
cleartext_admin := {
	"tcp": {21: "FTP", 23: "Telnet", 512: "rexec", 513: "rlogin", 514: "rsh"},
	"udp": {69: "TFTP"},
}

# ---------------------------------------------------------------------------
# 1. Every path into a life-critical zone traces to an approved change.
# ---------------------------------------------------------------------------

deny contains msg if {
	some name, flow in input.flows
	some dst in flow.to
	dst.kind == "zone"
	dst.name in life_critical_zones
	ticket := object.get(flow, "ticket", "")
	not regex.match(`^CHG-[0-9]+$`, ticket)
	msg := sprintf(
		"flow %q reaches life-critical zone %q without a change ticket of the form CHG-<number> (got %q): every path to a pump or monitor must trace to an approved, risk-assessed change",
		[name, dst.name, ticket],
	)
}

# ---------------------------------------------------------------------------
# 2. Vendor remote access is time-limited and never essential.
# ---------------------------------------------------------------------------

deny contains msg if {
	some name, flow in input.flows
	vendor_access(flow)
	object.get(flow, "expires", "") == ""
	msg := sprintf(
		"flow %q grants vendor remote access without an expires date: vendor tunnels are a top ransomware entry point, so access is granted per contract term and must lapse unless re-approved",
		[name],
	)
}

deny contains msg if {
	some name, flow in input.flows
	vendor_access(flow)
	flow.essential == true
	msg := sprintf(
		"flow %q marks vendor remote access as essential: essential flows survive quarantine, so a compromised vendor tunnel would keep its path to a quarantined device",
		[name],
	)
}

# ---------------------------------------------------------------------------
# 3. No cleartext admin protocols into life-critical or high zones.
# ---------------------------------------------------------------------------

deny contains msg if {
	some name, flow in input.flows
	some dst in flow.to
	dst.kind == "zone"
	dst.name in protected_zones
	some svc in flow.services
	some proto, ports in cleartext_admin
	some r in object.get(input.services[svc], proto, [])
	some port, label in ports
	r.from <= port
	port <= r.to
	msg := sprintf(
		"flow %q opens %s/%d (%s) into %s zone %q via service %q: cleartext admin protocols expose credentials and give an attacker a shell on medical devices; use SSH/HTTPS",
		[name, proto, port, label, input.zones[dst.name].criticality, dst.name, svc],
	)
}

# ---------------------------------------------------------------------------
# 4. Life-critical zones are enforced, not monitored.
# ---------------------------------------------------------------------------

deny contains msg if {
	some name, zone in input.zones
	zone.criticality == "life_critical"
	object.get(zone, "enforcement", "enforce") == "monitor"
	msg := sprintf(
		"zone %q is life_critical but enforcement is \"monitor\": monitor mode drops nothing, so every path to these devices stays open and a quarantine \"restrict\" does not protect them; roll out with a lower-criticality pilot zone instead",
		[name],
	)
}

# ---------------------------------------------------------------------------
# 5. Nothing from the internet, guests or unclassified devices inward.
# ---------------------------------------------------------------------------

# A CIDR outside every private range is internet address space.
public_cidr(cidr) if {
	not internal_cidr(cidr)
}

internal_cidr(cidr) if {
	some private in private_ranges
	net.cidr_contains(private, cidr)
}

deny contains msg if {
	some name, flow in input.flows
	some src in flow.from
	src.kind == "network"
	some cidr in input.networks[src.name].cidrs
	public_cidr(cidr)
	msg := sprintf(
		"flow %q has network %q (%s, internet addresses) as a source: inbound access from the internet must go through a published, authenticated gateway such as the vendor VPN, never straight into the hospital",
		[name, src.name, cidr],
	)
}

deny contains msg if {
	some name, flow in input.flows
	some src in flow.from
	src.kind == "zone"
	src.name in untrusted_zones
	some dst in flow.to
	dst.kind == "zone"
	dst.name != src.name
	msg := sprintf(
		"flow %q lets untrusted zone %q reach zone %q: guest and unclassified devices are unknown to biomed and IT and must never reach hospital devices",
		[name, src.name, dst.name],
	)
}

deny contains msg if {
	some name, flow in input.flows
	some src in flow.from
	src.kind == "zone"
	src.name in untrusted_zones
	some dst in flow.to
	dst.kind == "network"
	internal_network(dst.name)
	not dst.name in remediation_networks
	msg := sprintf(
		"flow %q lets untrusted zone %q reach internal network %q: guest and unclassified devices may reach the internet and the remediation network only",
		[name, src.name, dst.name],
	)
}

# ---------------------------------------------------------------------------
# 6. A person approves before a life-critical device is isolated.
# ---------------------------------------------------------------------------

deny contains msg if {
	input.quarantine.action.life_critical == "isolate"
	not "life_critical" in object.get(input.quarantine, "approval_required", [])
	msg := "quarantine isolates life_critical devices without approval: an alert storm could cut pumps and monitors off mid-therapy; add \"life_critical\" to approval_required or use \"restrict\""
}

# ---------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------

warn contains msg if {
	some name, flow in input.flows
	flow.essential == true
	object.get(flow, "expires", "") != ""
	msg := sprintf(
		"flow %q is essential but expires on %s: when it lapses, patient care that depends on it breaks silently; renew it or make it non-essential",
		[name, flow.expires],
	)
}
