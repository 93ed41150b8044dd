package intent

import (
	"net/netip"
	"testing"
)

func TestEnforced(t *testing.T) {
	p := netip.MustParsePrefix
	base := func() *Target {
		return &Target{Name: "a", Driver: "x", Roles: []string{RoleFirewall}, Firewall: &Firewall{
			DefaultAction: "drop",
			Sets: []AddressSet{
				{Name: "zone_b", Kind: "zone", Of: "b", V4: []netip.Prefix{p("10.0.2.0/24")}},
				{Name: "zone_a", Kind: "zone", Of: "a", V4: []netip.Prefix{p("10.0.1.0/24")}, V6: []netip.Prefix{p("2001:db8::/64")}},
				{Name: "zone_empty", Kind: "zone", Of: "empty"},
			},
			Rules: []Rule{
				{Flow: "f1", Service: "web", From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []Ports{{From: 443, To: 443}, {From: 80, To: 80}}},
				{Flow: "f2", Service: "alt", From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []Ports{{From: 80, To: 80}, {From: 443, To: 443}}},
				{Flow: "f3", From: "zone_a", To: "zone_empty", Proto: "udp"},
				{Flow: "f4", From: "zone_a", To: "zone_b", Proto: "icmpv6"},
			},
			Monitor: []string{"zone_empty"},
		}}
	}
	a := base()
	b := base()
	b.Name, b.Driver, b.Firewall.Rules = "other", "y", b.Firewall.Rules[1:2] // labels differ; the duplicate, empty and v6-only rules go
	b.Firewall.Rules[0].Ports = []Ports{{From: 443, To: 443}, {From: 80, To: 80}}
	if !SameEnforcement(a, b) {
		t.Errorf("targets that differ only in labels, duplicates and rules no packet matches compare different:\n%+v\n%+v", a.Enforced().Firewall, b.Enforced().Firewall)
	}
	c := base()
	c.Firewall.Rules[0].Essential = true
	if SameEnforcement(a, c) {
		t.Error("a rule made essential compares the same: restrict keeps essential rules only")
	}
	d := base()
	d.Firewall.Sets[0].V4 = []netip.Prefix{p("10.0.3.0/24")}
	if SameEnforcement(a, d) {
		t.Error("a set with other members compares the same")
	}
	e := base()
	e.Firewall.Rules[0].Ports = []Ports{{From: 443, To: 444}}
	if SameEnforcement(a, e) {
		t.Error("rules with other ports compare the same")
	}
	if got := mergePorts([]Ports{{From: 8443, To: 8443}, {From: 8000, To: 8100}, {From: 8444, To: 8444}}); len(got) != 2 || got[1] != (Ports{From: 8443, To: 8444}) {
		t.Errorf("mergePorts = %v; want 8000-8100 and 8443-8444", got)
	}
	if base().Enforced(); len(a.Firewall.Rules) != 4 {
		t.Error("Enforced changed its target")
	}
}
