# Unit tests for guardrails.rego: run with `ward test -policy examples/hospital/policy`
# (or `opa test examples/hospital/policy`). Each guardrail has a case where it
# fires and a case where it must stay quiet.
package ward.guardrails_test

import data.ward.guardrails

# ---------------------------------------------------------------------------
# Fixture: a tiny policy that passes every guardrail. Tests add or override
# parts of it with object.union (which merges nested objects).
# ---------------------------------------------------------------------------

base := {
	"settings": {"default_zone": "unclassified", "default_action": "deny"},
	"zones": {
		"infusion_pumps": {
			"description": "pumps", "criticality": "life_critical", "vlan": 210,
			"subnets": ["10.61.210.0/24"], "enforcement": "enforce", "priority": null,
			"match": {"class": ["infusion_pump"]},
		},
		"pump_servers": {
			"description": "pump servers", "criticality": "high", "vlan": 211,
			"subnets": ["10.61.211.0/24"], "enforcement": "enforce", "priority": null,
			"match": {"class": ["pump_server"]},
		},
		"printers": {
			"description": "printers", "criticality": "low", "vlan": 130,
			"subnets": ["10.61.130.0/24"], "enforcement": "enforce", "priority": null,
			"match": {"class": ["printer"]},
		},
		"rtls": {
			"description": "rtls", "criticality": "medium", "vlan": 150,
			"subnets": ["10.61.150.0/24"], "enforcement": "monitor", "priority": null,
			"match": {"class": ["rtls_bridge"]},
		},
		"guest": {
			"description": "guest", "criticality": "low", "vlan": 190,
			"subnets": ["10.61.190.0/24"], "enforcement": "enforce", "priority": null,
			"match": {"class": ["patient_tv"]},
		},
		"unclassified": {
			"description": "default", "criticality": "low", "vlan": 199,
			"subnets": ["10.61.199.0/24"], "enforcement": "enforce", "priority": null,
			"match": {},
		},
	},
	"services": {
		"https": {"description": "", "tcp": [{"from": 443, "to": 443}], "udp": [], "icmp": [], "icmpv6": []},
		"pump_telemetry": {"description": "", "tcp": [{"from": 443, "to": 443}, {"from": 51444, "to": 51444}], "udp": [], "icmp": [], "icmpv6": []},
		"hl7": {"description": "", "tcp": [{"from": 2575, "to": 2575}], "udp": [], "icmp": [], "icmpv6": []},
		"ssh": {"description": "", "tcp": [{"from": 22, "to": 22}], "udp": [], "icmp": [], "icmpv6": []},
		"telnet": {"description": "", "tcp": [{"from": 23, "to": 23}], "udp": [], "icmp": [], "icmpv6": []},
		"legacy_block": {"description": "", "tcp": [{"from": 20, "to": 25}], "udp": [], "icmp": [], "icmpv6": []},
		"tftp": {"description": "", "tcp": [], "udp": [{"from": 69, "to": 69}], "icmp": [], "icmpv6": []},
		"vendor_remote": {"description": "", "tcp": [{"from": 22, "to": 22}, {"from": 443, "to": 443}, {"from": 5900, "to": 5900}], "udp": [], "icmp": [], "icmpv6": []},
	},
	"networks": {
		"ehr_datacenter": {"description": "", "cidrs": ["10.10.0.0/16"]},
		"remediation": {"description": "", "cidrs": ["10.250.99.0/24"]},
		"vendor_vpn_bd": {"description": "", "cidrs": ["172.20.4.0/24"]},
		"internet": {"description": "", "cidrs": ["0.0.0.0/0"]},
	},
	"flows": {
		"pumps_to_pump_servers": {
			"description": "", "from": [zone("infusion_pumps")], "to": [zone("pump_servers")],
			"services": ["pump_telemetry"], "essential": true,
			"reason": "drug library", "ticket": "CHG-1042", "expires": "",
		},
		"pump_servers_to_pumps": {
			"description": "", "from": [zone("pump_servers")], "to": [zone("infusion_pumps")],
			"services": ["pump_telemetry"], "essential": true,
			"reason": "auto-programming", "ticket": "CHG-1043", "expires": "",
		},
		"vendor_bd_to_pump_servers": {
			"description": "", "from": [network("vendor_vpn_bd")], "to": [zone("pump_servers")],
			"services": ["vendor_remote"], "essential": false,
			"reason": "BD support", "ticket": "CHG-2105", "expires": "2027-02-28",
		},
		"guest_to_internet": {
			"description": "", "from": [zone("guest")], "to": [network("internet")],
			"services": ["https"], "essential": false,
			"reason": "guests", "ticket": "CHG-1010", "expires": "",
		},
		"unclassified_to_remediation": {
			"description": "", "from": [zone("unclassified")], "to": [network("remediation")],
			"services": ["https"], "essential": false,
			"reason": "NAC portal", "ticket": "CHG-1011", "expires": "",
		},
	},
	"quarantine": {
		"vlan": 999, "remediation": [network("remediation")], "default_ttl": "24h",
		"max_auto_per_hour": 20,
		"action": {"low": "isolate", "medium": "isolate", "high": "restrict", "life_critical": "restrict"},
		"approval_required": ["life_critical"],
	},
	"targets": {"core-fw": {
		"driver": "linux_nftables", "address": "10.250.61.2", "port": 22, "username": "ward",
		"credential": "core-fw", "known_hosts": "/etc/ward/known_hosts", "role": "firewall",
	}},
}

zone(name) := {"kind": "zone", "name": name}

network(name) := {"kind": "network", "name": name}

# A flow with sane defaults; tests override what they care about.
flow(overrides) := object.union(
	{
		"description": "", "from": [zone("pump_servers")], "to": [zone("infusion_pumps")],
		"services": ["https"], "essential": false,
		"reason": "test", "ticket": "CHG-9999", "expires": "",
	},
	overrides,
)

with_flow(name, f) := object.union(base, {"flows": {name: f}})

# Some message in msgs contains every string in parts.
mentions(msgs, parts) if {
	some m in msgs
	every p in parts {
		contains(m, p)
	}
}

# ---------------------------------------------------------------------------
# The fixture itself is clean.
# ---------------------------------------------------------------------------

test_base_has_no_deny if {
	count(guardrails.deny) == 0 with input as base
}

test_base_has_no_warn if {
	count(guardrails.warn) == 0 with input as base
}

# ---------------------------------------------------------------------------
# 1. Ticket on flows into life-critical zones
# ---------------------------------------------------------------------------

test_life_critical_without_ticket_denied if {
	msgs := guardrails.deny with input as with_flow("biomed_to_pumps", flow({"ticket": ""}))
	mentions(msgs, [`flow "biomed_to_pumps"`, `life-critical zone "infusion_pumps"`, "change ticket"])
}

test_life_critical_with_malformed_ticket_denied if {
	msgs := guardrails.deny with input as with_flow("biomed_to_pumps", flow({"ticket": "asked on phone"}))
	mentions(msgs, [`flow "biomed_to_pumps"`, `"asked on phone"`])
}

test_life_critical_with_ticket_allowed if {
	msgs := guardrails.deny with input as with_flow("biomed_to_pumps", flow({"ticket": "CHG-1802"}))
	count(msgs) == 0
}

test_missing_ticket_into_lower_zone_not_this_rule if {
	f := flow({"to": [zone("printers")], "ticket": ""})
	msgs := guardrails.deny with input as with_flow("to_printers", f)
	count(msgs) == 0
}

# ---------------------------------------------------------------------------
# 2. Vendor access: expires, never essential
# ---------------------------------------------------------------------------

test_vendor_network_without_expiry_denied if {
	f := flow({"from": [network("vendor_vpn_bd")], "to": [zone("pump_servers")], "services": ["https"]})
	msgs := guardrails.deny with input as with_flow("bd_forever", f)
	mentions(msgs, [`flow "bd_forever"`, "without an expires date"])
}

test_vendor_service_without_expiry_denied if {
	f := flow({"from": [network("ehr_datacenter")], "to": [zone("pump_servers")], "services": ["vendor_remote"]})
	msgs := guardrails.deny with input as with_flow("jump_host_vendor", f)
	mentions(msgs, [`flow "jump_host_vendor"`, "without an expires date"])
}

test_vendor_with_expiry_allowed if {
	f := flow({
		"from": [network("vendor_vpn_bd")], "to": [zone("pump_servers")],
		"services": ["vendor_remote"], "expires": "2027-02-28",
	})
	msgs := guardrails.deny with input as with_flow("bd_contract", f)
	count(msgs) == 0
}

test_vendor_essential_denied if {
	f := flow({
		"from": [network("vendor_vpn_bd")], "to": [zone("pump_servers")],
		"services": ["vendor_remote"], "expires": "2027-02-28", "essential": true,
	})
	msgs := guardrails.deny with input as with_flow("bd_essential", f)
	mentions(msgs, [`flow "bd_essential"`, "vendor remote access as essential"])
}

test_non_vendor_network_needs_no_expiry if {
	f := flow({"from": [network("ehr_datacenter")], "to": [zone("pump_servers")], "services": ["hl7"]})
	msgs := guardrails.deny with input as with_flow("ehr_to_pump_servers", f)
	count(msgs) == 0
}

# ---------------------------------------------------------------------------
# 3. Cleartext admin protocols
# ---------------------------------------------------------------------------

test_telnet_into_life_critical_denied if {
	msgs := guardrails.deny with input as with_flow("telnet_pumps", flow({"services": ["telnet"]}))
	mentions(msgs, [`flow "telnet_pumps"`, "tcp/23", "Telnet", `"infusion_pumps"`])
}

test_range_covering_ftp_and_telnet_into_high_denied if {
	f := flow({"from": [network("ehr_datacenter")], "to": [zone("pump_servers")], "services": ["legacy_block"]})
	msgs := guardrails.deny with input as with_flow("legacy_to_servers", f)
	mentions(msgs, [`flow "legacy_to_servers"`, "tcp/21", "FTP"])
	mentions(msgs, [`flow "legacy_to_servers"`, "tcp/23", "Telnet"])
}

test_tftp_into_high_denied if {
	f := flow({"from": [network("ehr_datacenter")], "to": [zone("pump_servers")], "services": ["tftp"]})
	msgs := guardrails.deny with input as with_flow("tftp_firmware", f)
	mentions(msgs, [`flow "tftp_firmware"`, "udp/69", "TFTP"])
}

test_telnet_into_low_zone_not_denied if {
	f := flow({"from": [network("ehr_datacenter")], "to": [zone("printers")], "services": ["telnet"]})
	msgs := guardrails.deny with input as with_flow("telnet_printers", f)
	count(msgs) == 0
}

test_ssh_into_life_critical_allowed if {
	msgs := guardrails.deny with input as with_flow("ssh_pumps", flow({"services": ["ssh"]}))
	count(msgs) == 0
}

# ---------------------------------------------------------------------------
# 4. Monitor mode on life-critical zones
# ---------------------------------------------------------------------------

test_monitor_on_life_critical_denied if {
	policy := object.union(base, {"zones": {"infusion_pumps": {"enforcement": "monitor"}}})
	msgs := guardrails.deny with input as policy
	mentions(msgs, [`zone "infusion_pumps"`, "monitor"])
}

test_monitor_on_medium_allowed if {
	# base already has rtls (medium) in monitor mode
	base.zones.rtls.enforcement == "monitor"
	count(guardrails.deny) == 0 with input as base
}

# ---------------------------------------------------------------------------
# 5. Internet, guest and unclassified sources
# ---------------------------------------------------------------------------

test_flow_from_internet_denied if {
	f := flow({"from": [network("internet")], "to": [zone("printers")], "services": ["https"]})
	msgs := guardrails.deny with input as with_flow("internet_printing", f)
	mentions(msgs, [`flow "internet_printing"`, `network "internet"`, "0.0.0.0/0"])
}

test_guest_into_zone_denied if {
	f := flow({"from": [zone("guest")], "to": [zone("printers")], "services": ["https"]})
	msgs := guardrails.deny with input as with_flow("guest_printing", f)
	mentions(msgs, [`flow "guest_printing"`, `untrusted zone "guest"`, `zone "printers"`])
}

test_unclassified_into_zone_denied if {
	f := flow({"from": [zone("unclassified")], "to": [zone("pump_servers")], "services": ["https"]})
	msgs := guardrails.deny with input as with_flow("unknown_to_pump_servers", f)
	mentions(msgs, [`flow "unknown_to_pump_servers"`, `untrusted zone "unclassified"`])
}

test_default_zone_follows_settings if {
	policy := object.union(
		with_flow("printers_to_pumps", flow({"from": [zone("printers")], "services": ["https"]})),
		{"settings": {"default_zone": "printers"}},
	)
	msgs := guardrails.deny with input as policy
	mentions(msgs, [`flow "printers_to_pumps"`, `untrusted zone "printers"`])
}

test_guest_into_internal_network_denied if {
	f := flow({"from": [zone("guest")], "to": [network("ehr_datacenter")], "services": ["https"]})
	msgs := guardrails.deny with input as with_flow("guest_to_ehr", f)
	mentions(msgs, [`flow "guest_to_ehr"`, `internal network "ehr_datacenter"`])
}

test_guest_to_internet_and_unclassified_to_remediation_allowed if {
	msgs := guardrails.deny with input as base
	not mentions(msgs, ["guest_to_internet"])
	not mentions(msgs, ["unclassified_to_remediation"])
}

test_trusted_zone_into_zone_allowed if {
	f := flow({"from": [zone("printers")], "to": [zone("pump_servers")], "services": ["https"]})
	msgs := guardrails.deny with input as with_flow("printers_to_pump_servers", f)
	count(msgs) == 0
}

# ---------------------------------------------------------------------------
# 6. Quarantine approval for life-critical isolation
# ---------------------------------------------------------------------------

test_isolate_life_critical_without_approval_denied if {
	policy := json.patch(base, [
		{"op": "replace", "path": "/quarantine/action/life_critical", "value": "isolate"},
		{"op": "replace", "path": "/quarantine/approval_required", "value": []},
	])
	msgs := guardrails.deny with input as policy
	mentions(msgs, ["quarantine isolates life_critical", "approval_required"])
}

test_isolate_life_critical_with_approval_allowed if {
	policy := json.patch(base, [{"op": "replace", "path": "/quarantine/action/life_critical", "value": "isolate"}])
	count(guardrails.deny) == 0 with input as policy
}

# ---------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------

test_essential_flow_with_expiry_warns if {
	f := flow({"essential": true, "expires": "2027-06-30"})
	msgs := guardrails.warn with input as with_flow("temporary_essential", f)
	mentions(msgs, [`flow "temporary_essential"`, "2027-06-30"])
}

test_essential_flow_without_expiry_does_not_warn if {
	msgs := guardrails.warn with input as with_flow("permanent_essential", flow({"essential": true}))
	count(msgs) == 0
}
