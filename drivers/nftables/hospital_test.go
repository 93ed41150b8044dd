package nftables

import (
	"net/netip"

	"github.com/wardnet/ward/drivers/intent"
)

// hospital is a representative firewall intent, built by hand: zones with
// IPv4 and IPv6 addresses, a network, multi-port services, ICMP and ICMPv6,
// an essential flow, a monitor zone and quarantine with remediation.
func hospital() *intent.Target {
	p := func(ss ...string) []netip.Prefix {
		out := make([]netip.Prefix, len(ss))
		for i, s := range ss {
			out[i] = netip.MustParsePrefix(s)
		}
		return out
	}
	return &intent.Target{
		Name: "core-fw", Driver: Name, Roles: []string{"firewall"},
		Firewall: &intent.Firewall{
			Sets: []intent.AddressSet{
				{Name: "net_ehr_datacenter", Kind: "network", Of: "ehr_datacenter", V4: p("10.10.0.0/16"), V6: p("2001:db8:10::/48")},
				{Name: "net_remediation", Kind: "network", Of: "remediation", V4: p("10.250.99.0/24")},
				{Name: "zone_guest", Kind: "zone", Of: "guest", V4: p("10.61.250.0/24")},
				{Name: "zone_infusion_pumps", Kind: "zone", Of: "infusion_pumps", V4: p("10.61.210.0/24", "10.61.211.7/32"), V6: p("2001:db8:61:210::/64", "2001:db8:61:211::7/128")},
				{Name: "zone_patient_monitors", Kind: "zone", Of: "patient_monitors", V4: p("10.61.220.0/24"), V6: p("2001:db8:61:220::/64")},
				{Name: "zone_pump_servers", Kind: "zone", Of: "pump_servers", V4: p("10.61.10.5/32", "10.61.10.6/32"), V6: p("2001:db8:61:10::5/128")},
			},
			Rules: []intent.Rule{
				{Flow: "pumps_to_pump_server", Service: "https", From: "zone_infusion_pumps", To: "zone_pump_servers", Proto: "tcp", Ports: []intent.Ports{{From: 443, To: 443}}, Essential: true},
				{Flow: "pumps_to_pump_server", Service: "pump_telemetry", From: "zone_infusion_pumps", To: "zone_pump_servers", Proto: "tcp", Ports: []intent.Ports{{From: 8443, To: 8443}, {From: 8000, To: 8100}, {From: 8444, To: 8444}}, Essential: true},
				{Flow: "monitors_to_ehr", Service: "hl7", From: "zone_patient_monitors", To: "net_ehr_datacenter", Proto: "tcp", Ports: []intent.Ports{{From: 2575, To: 2575}}},
				{Flow: "monitors_to_ehr", Service: "dns", From: "zone_patient_monitors", To: "net_ehr_datacenter", Proto: "udp", Ports: []intent.Ports{{From: 53, To: 53}}},
				{Flow: "monitors_to_ehr", Service: "dns", From: "zone_patient_monitors", To: "net_ehr_datacenter", Proto: "tcp", Ports: []intent.Ports{{From: 53, To: 53}}},
				{Flow: "ping_pumps", Service: "ping", From: "zone_pump_servers", To: "zone_infusion_pumps", Proto: "icmp", ICMPTypes: []string{"echo-request", "echo-reply"}},
				{Flow: "ping_pumps", Service: "ping6", From: "zone_pump_servers", To: "zone_infusion_pumps", Proto: "icmpv6", ICMPTypes: []string{"echo-request", "nd-neighbor-solicit", "mld-listener-reduction"}},
				{Flow: "guest_any_icmp", Service: "icmp_any", From: "zone_guest", To: "net_ehr_datacenter", Proto: "icmp"},
				{Flow: "guest_any_icmp", Service: "icmp_any6", From: "zone_guest", To: "net_ehr_datacenter", Proto: "icmpv6"},
				{Flow: "monitors_to_ehr", Service: "icmp_diag", From: "zone_patient_monitors", To: "net_ehr_datacenter", Proto: "icmp", ICMPTypes: []string{"destination-unreachable", "echo-request", "time-exceeded"}, Essential: true},
				{Flow: "monitors_to_ehr", Service: "icmp6_any", From: "zone_patient_monitors", To: "net_ehr_datacenter", Proto: "icmpv6", Essential: true},
				{Flow: "pumps_syslog", Service: "syslog_any_port", From: "zone_infusion_pumps", To: "net_ehr_datacenter", Proto: "udp"},
			},
			Monitor:       []string{"zone_guest"},
			DefaultAction: "drop",
			Quarantine: intent.Quarantine{
				IsolateSet: "quarantine_isolate", RestrictSet: "quarantine_restrict",
				Remediation: []string{"net_remediation"},
			},
		},
	}
}

// permissive is a second, different intent: default accept, no
// quarantine, fewer sets.
func permissive() *intent.Target {
	return &intent.Target{
		Name: "lab-fw", Driver: Name, Roles: []string{"firewall"},
		Firewall: &intent.Firewall{
			Sets: []intent.AddressSet{
				{Name: "zone_a", Kind: "zone", Of: "a", V4: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/25")}},
				{Name: "zone_b", Kind: "zone", Of: "b", V6: []netip.Prefix{netip.MustParsePrefix("2001:db8:b::/64")}},
			},
			Rules: []intent.Rule{
				{Flow: "a_to_b", Service: "ssh", From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []intent.Ports{{From: 22, To: 22}}},
				{Flow: "a_to_a", Service: "web", From: "zone_a", To: "zone_a", Proto: "tcp", Ports: []intent.Ports{{From: 80, To: 80}, {From: 443, To: 443}}},
			},
			Monitor:       []string{},
			DefaultAction: "accept",
		},
	}
}
