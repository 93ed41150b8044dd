package ciscoiosxe

import (
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/examplehosp"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/scenario"
	"github.com/wardnet/ward/policy"
)

// -update rewrites the golden files from Render's output: only after the
// change to the expected text has been reviewed, since they were written
// by hand.
var update = flag.Bool("update", false, "rewrite testdata/*.golden from Render (review the diff)")

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// small is a firewall intent covering each thing the renderer writes: a
// host and a prefix in one group, a network, merged port ranges, an
// essential rule, UDP, ICMP echo, a rule within a zone, an empty zone,
// an ICMPv6 rule (left out), a monitor zone and the restrict set.
func small() *intent.Target {
	return &intent.Target{
		Name: "core", Driver: driverName, Roles: []string{"firewall"},
		Firewall: &intent.Firewall{
			Sets: []intent.AddressSet{
				{Name: "net_dns", Kind: "network", Of: "dns", V4: prefixes("192.0.2.53/32")},
				{Name: "zone_a", Kind: "zone", Of: "a", V4: prefixes("10.1.0.0/24", "10.1.1.5/32")},
				{Name: "zone_b", Kind: "zone", Of: "b", V4: prefixes("10.2.0.0/16")},
				{Name: "zone_empty", Kind: "zone", Of: "empty"},
			},
			Rules: []intent.Rule{
				{Flow: "a_to_b", Service: "https", From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []intent.Ports{{From: 443, To: 443}}, Essential: true},
				{Flow: "a_to_b", Service: "app", From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []intent.Ports{{From: 8443, To: 8443}, {From: 8101, To: 8200}, {From: 8000, To: 8100}}},
				{Flow: "a_dns", Service: "dns", From: "zone_a", To: "net_dns", Proto: "udp", Ports: []intent.Ports{{From: 53, To: 53}}},
				{Flow: "b_ping_a", Service: "ping", From: "zone_b", To: "zone_a", Proto: "icmp", ICMPTypes: []string{"echo-request"}},
				{Flow: "a_to_empty", Service: "ssh", From: "zone_a", To: "zone_empty", Proto: "tcp", Ports: []intent.Ports{{From: 22, To: 22}}},
				{Flow: "b_to_b", Service: "ssh", From: "zone_b", To: "zone_b", Proto: "tcp", Ports: []intent.Ports{{From: 22, To: 22}}},
				{Flow: "a_to_b", Service: "ping6", From: "zone_a", To: "zone_b", Proto: "icmpv6"},
			},
			Monitor:       []string{"zone_b"},
			DefaultAction: "drop",
			Quarantine:    intent.Quarantine{IsolateSet: "quarantine_isolate", RestrictSet: "quarantine_restrict", Remediation: []string{"net_dns"}},
			Zones: []intent.Zone{
				{Name: "b", VLAN: 20, Set: "zone_b", Monitor: true},
				{Name: "a", VLAN: 210, Set: "zone_a"},
				{Name: "empty", VLAN: 230, Set: "zone_empty"},
				{Name: "noflows", VLAN: 240},
			},
		},
	}
}

func smallSwitch() *intent.Target {
	return &intent.Target{
		Name: "access", Driver: driverName, Roles: []string{"access_switch"},
		Switch: &intent.Switch{QuarantineVLAN: 999, Ports: []intent.PortVLAN{
			{Port: "Gi1/0/10", VLAN: 20, Device: "d3", Zone: "b"},
			{Port: "gi1/0/2", VLAN: 10, Device: "d1", Zone: "a"},
			{Port: "TenGigabitEthernet1/1/1", VLAN: 10, Device: "d2", Zone: "a"},
			{Port: "Gi2/0/1", VLAN: 20, Device: "d4", Zone: "b"},
		}},
	}
}

// TestRenderGolden compares Render's output with text written by hand.
func TestRenderGolden(t *testing.T) {
	for _, c := range []struct {
		file string
		t    *intent.Target
	}{{"firewall.golden", small()}, {"access.golden", smallSwitch()}} {
		got, err := Render(c.t)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		path := filepath.Join("testdata", c.file)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s: Render differs from the expected text\n--- got:\n%s--- want:\n%s", c.file, got, want)
		}
	}
}

// TestRenderDeterministic: the order of sets, rules, members and ports in
// the intent does not change the text.
func TestRenderDeterministic(t *testing.T) {
	want, err := Render(small())
	if err != nil {
		t.Fatal(err)
	}
	wantSw, err := Render(smallSwitch())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		fw := small()
		r.Shuffle(len(fw.Firewall.Sets), func(i, j int) { fw.Firewall.Sets[i], fw.Firewall.Sets[j] = fw.Firewall.Sets[j], fw.Firewall.Sets[i] })
		r.Shuffle(len(fw.Firewall.Rules), func(i, j int) {
			fw.Firewall.Rules[i], fw.Firewall.Rules[j] = fw.Firewall.Rules[j], fw.Firewall.Rules[i]
		})
		for k := range fw.Firewall.Sets {
			v := fw.Firewall.Sets[k].V4
			r.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
		}
		if got, err := Render(fw); err != nil || got != want {
			t.Fatalf("shuffled intent renders differently (%v):\n%s", err, got)
		}
		sw := smallSwitch()
		p := sw.Switch.Ports
		r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		if got, err := Render(sw); err != nil || got != wantSw {
			t.Fatalf("shuffled ports render differently (%v):\n%s", err, got)
		}
	}
}

// TestRenderRefuses: an intent the renderer cannot write faithfully is an
// error naming what is wrong, never a partial or widened configuration.
func TestRenderRefuses(t *testing.T) {
	cases := []struct {
		name   string
		change func(*intent.Target)
		want   string
	}{
		{"ipv6 member", func(t *intent.Target) { t.Firewall.Sets[1].V6 = prefixes("2001:db8::/64") }, `"zone_a" has IPv6 members`},
		{"unknown set", func(t *intent.Target) { t.Firewall.Rules[0].To = "zone_x" }, `to "zone_x" is not an address set`},
		{"default action", func(t *intent.Target) { t.Firewall.DefaultAction = "reject" }, `default action "reject"`},
		{"name", func(t *intent.Target) { t.Firewall.Sets[0].Name = "9net"; t.Firewall.Rules[2].To = "9net" }, `name "9net"`},
		{"protocol", func(t *intent.Target) { t.Firewall.Rules[0].Proto = "sctp" }, `protocol "sctp"`},
		{"port range", func(t *intent.Target) { t.Firewall.Rules[0].Ports = []intent.Ports{{From: 10, To: 70000}} }, "port range 10-70000"},
		{"icmp type", func(t *intent.Target) { t.Firewall.Rules[3].ICMPTypes = []string{"bogus"} }, `ICMP type "bogus"`},
		{"restrict members", func(t *intent.Target) {
			t.Firewall.Sets = append(t.Firewall.Sets, intent.AddressSet{Name: "quarantine_restrict", Kind: "network", Of: "q", V4: prefixes("10.1.0.9/32")})
		}, "quarantine state"},
		{"monitor", func(t *intent.Target) { t.Firewall.Monitor = []string{"zone_x"} }, `monitor set "zone_x"`},
		{"twice", func(t *intent.Target) { t.Firewall.Sets = append(t.Firewall.Sets, t.Firewall.Sets[0]) }, "declared twice"},
	}
	for _, c := range cases {
		tg := small()
		c.change(tg)
		out, err := Render(tg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `target "core"`) {
			t.Errorf("%s: err %v, want one naming the target and %q; output:\n%s", c.name, err, c.want, out)
		}
	}
	swCases := []struct {
		name   string
		change func(*intent.Switch)
		want   string
	}{
		{"same port twice", func(s *intent.Switch) { s.Ports[1].Port = "GigabitEthernet1/0/10" }, "port GigabitEthernet1/0/10 is given to devices"},
		{"vlan", func(s *intent.Switch) { s.Ports[0].VLAN = 4095 }, "VLAN 4095"},
		{"port type", func(s *intent.Switch) { s.Ports[0].Port = "Port-channel1" }, `interface type "Port-channel"`},
		{"port number", func(s *intent.Switch) { s.Ports[0].Port = "Gi1/0/x" }, `"1/0/x" is not an interface number`},
	}
	for _, c := range swCases {
		tg := smallSwitch()
		c.change(tg.Switch)
		if out, err := Render(tg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one containing %q; output:\n%s", c.name, err, c.want, out)
		}
	}
	if _, err := Render(&intent.Target{Name: "x", Roles: []string{"firewall"}}); err == nil {
		t.Error("a target with no intent rendered")
	}
}

func TestCanonicalInterface(t *testing.T) {
	for in, want := range map[string]string{
		"Gi1/0/5": "GigabitEthernet1/0/5", "gi1/0/5": "GigabitEthernet1/0/5", "Gig 1/0/5": "GigabitEthernet1/0/5",
		"GigabitEthernet1/0/5": "GigabitEthernet1/0/5", "gigabitethernet1/0/5": "GigabitEthernet1/0/5",
		"Te1/1/1": "TenGigabitEthernet1/1/1", "Tw1/0/1": "TwoGigabitEthernet1/0/1", "Twe1/1/1": "TwentyFiveGigE1/1/1",
		"Fo1/1/1": "FortyGigabitEthernet1/1/1", "Hu1/1/1": "HundredGigE1/1/1", "Fa0/1": "FastEthernet0/1",
	} {
		got, _, err := canonicalInterface(in)
		if err != nil || got != want {
			t.Errorf("canonicalInterface(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// Prefixes that are not IOS's own abbreviations are refused rather
	// than guessed (T could be three types).
	for _, in := range []string{"T1/0/1", "G1/0/1", "Vlan210", "1/0/5", "Gi", "Gi1//5", "Gi01/0/5", "Gi-0/1", "Gi+1/0/1", "Gi1/0/"} {
		if got, _, err := canonicalInterface(in); err == nil {
			t.Errorf("canonicalInterface(%q) = %q, want an error", in, got)
		}
	}
}

// BenchmarkRender100k renders the 100,000-device scenario's firewall (100
// zones, 1,000 flows) and its 50 access switches; speed is reported, not
// asserted.
func BenchmarkRender100k(b *testing.B) {
	src, devices := scenario.Generate(scenario.Scale{Zones: 100, Flows: 1000, Switches: 50, Devices: 100_000})
	cfg, diags := policy.NewParser(policy.WithDrivers(examplehosp.Drivers)).Load(policy.Source{Filename: "generated.hcl", Bytes: src})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	in := compile(b, cfg, devices)
	var targets []*intent.Target
	for _, t := range in.Targets {
		targets = append(targets, t)
	}
	if len(targets) != 51 {
		b.Fatalf("%d targets, want 51", len(targets))
	}
	b.ResetTimer()
	for b.Loop() {
		for _, t := range targets {
			if _, err := Render(t); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// compile evaluates a policy and devices and compiles the intent, as ward
// plan does.
func compile(tb testing.TB, cfg *policy.Config, devices []inventory.Device) *intent.Intent {
	return examplehosp.Compile(tb, cfg, devices)
}

// hospital is the example hospital's intent, compiled as ward plan does.
func hospital(t *testing.T) *intent.Intent { return examplehosp.Intent(t) }
