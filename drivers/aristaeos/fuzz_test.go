package aristaeos

import (
	"net/netip"
	"os"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/intent"
)

// FuzzParse: Parse never panics on any text, and a model it accepts, if
// it renders, parses back to the same enforcement.
func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile("testdata/hospital.golden")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(golden))
	f.Add("")
	var r drivers.Registry
	Register(&r)
	info, _ := r.Lookup(driverName)
	d, err := info.Open(nil)
	if err != nil {
		f.Fatal(err)
	}
	// A small L3 switch doing both roles, so the fuzzer starts from inputs
	// it can take apart quickly.
	small := &intent.Target{Name: "sw", Driver: driverName, Roles: []string{intent.RoleAccessSwitch, intent.RoleFirewall},
		Firewall: &intent.Firewall{
			DefaultAction: "drop",
			Sets: []intent.AddressSet{
				{Name: "zone_a", V4: []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24")}},
				{Name: "zone_b", V4: []netip.Prefix{netip.MustParsePrefix("10.0.2.0/24"), netip.MustParsePrefix("10.0.3.7/32")}},
				{Name: "net_rem", V4: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}},
			},
			Rules: []intent.Rule{
				{From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []intent.Ports{{From: 443, To: 443}}, Essential: true},
				{From: "zone_b", To: "zone_a", Proto: "udp", Ports: []intent.Ports{{From: 53, To: 53}}},
				{From: "zone_a", To: "zone_b", Proto: "icmp", ICMPTypes: []string{"echo-request"}},
			},
			Monitor:    []string{"zone_b"},
			Quarantine: intent.Quarantine{IsolateSet: "quarantine_isolate", RestrictSet: "quarantine_restrict", Remediation: []string{"net_rem"}},
			Zones:      []intent.Zone{{Name: "a", VLAN: 210, Set: "zone_a"}, {Name: "b", VLAN: 220, Set: "zone_b", Monitor: true}},
		},
		Switch: &intent.Switch{QuarantineVLAN: 999, Ports: []intent.PortVLAN{{Port: "Ethernet5", VLAN: 210}, {Port: "Ethernet6", VLAN: 220}}},
	}
	if cfg, err := d.Render(small); err == nil {
		f.Add(cfg.Text)
	} else {
		f.Fatalf("rendering the small seed: %v", err)
	}
	f.Fuzz(func(t *testing.T, text string) { drivertest.ParseRoundTrip(t, d, text) })
}
