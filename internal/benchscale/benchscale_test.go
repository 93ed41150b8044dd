package benchscale

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

func small() Scale {
	return Scale{Zones: 5, DevicesPerZone: 12, ZoneBits: 27, Flows: 9, Switches: 2, Quarantine: true, Seed: 3}
}

// TestGenerateDeterministic: one Scale, one scenario; another seed,
// other flows.
func TestGenerateDeterministic(t *testing.T) {
	a, err := Generate(Capirca60x200x400())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(Capirca60x200x400())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.HCL, b.HCL) || !slices.EqualFunc(a.Devices, b.Devices, func(x, y inventory.Device) bool { return x.Name == y.Name && x.IP == y.IP && x.Port == y.Port }) {
		t.Error("two scenarios of one Scale differ")
	}
	ca, cb := a.Capirca(), b.Capirca()
	if !bytes.Equal(ca.Policy, cb.Policy) || !bytes.Equal(ca.Networks, cb.Networks) || !bytes.Equal(ca.Services, cb.Services) {
		t.Error("the capirca input of one Scale differs between two runs")
	}
	s := Capirca60x200x400()
	s.Seed++
	c, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.HCL, c.HCL) {
		t.Error("another seed gave the same policy")
	}
}

// TestGenerateShape: the scenario is what Scale and the package doc say.
func TestGenerateShape(t *testing.T) {
	for _, s := range []Scale{small(), Capirca60x200x400(), Core100kAnd50Access()} {
		sc, err := Generate(s)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%d zones × %d devices × %d flows", s.Zones, s.DevicesPerZone, s.Flows)
		if len(sc.Zones) != s.Zones || len(sc.Flows) != s.Flows || len(sc.Devices) != s.Zones*s.DevicesPerZone {
			t.Fatalf("%s: %d zones, %d flows, %d devices", name, len(sc.Zones), len(sc.Flows), len(sc.Devices))
		}
		for i, z := range sc.Zones {
			for j := range i {
				if sc.Zones[j].Subnet.Overlaps(z.Subnet) {
					t.Errorf("%s: zones %s and %s overlap", name, sc.Zones[j].Name, z.Name)
				}
			}
			if z.Subnet.Bits() != s.ZoneBits {
				t.Errorf("%s: zone %s is a %s", name, z.Name, z.Subnet)
			}
		}
		for _, f := range sc.Flows {
			if f.From == f.To || len(f.Services) < 1 || len(f.Services) > 3 {
				t.Errorf("%s: flow %s from zone %d to %d with %d services", name, f.Name, f.From, f.To, len(f.Services))
			}
			for _, i := range f.Services {
				if sc.Services[i].Proto != sc.Services[f.Services[0]].Proto {
					t.Errorf("%s: flow %s mixes protocols", name, f.Name)
				}
			}
		}
		ports := map[string]bool{}
		for _, d := range sc.Devices {
			z := sc.Zones[slices.IndexFunc(sc.Zones, func(z Zone) bool { return "class_"+z.Name == d.Class })]
			if !z.Subnet.Contains(d.IP) || d.IP == z.Subnet.Addr() {
				t.Errorf("%s: device %s (%s) is not a host of its zone %s", name, d.Name, d.IP, z.Subnet)
			}
			if (s.Switches > 0) != (d.Switch != "") || (d.Switch != "" && ports[d.Switch+" "+d.Port]) {
				t.Errorf("%s: device %s on switch %q port %q", name, d.Name, d.Switch, d.Port)
			}
			ports[d.Switch+" "+d.Port] = true
		}
	}
}

func TestGenerateRefuses(t *testing.T) {
	for _, s := range []Scale{
		{Zones: 1, DevicesPerZone: 1, ZoneBits: 24, Flows: 1},
		{Zones: 4, DevicesPerZone: 300, ZoneBits: 24, Flows: 1},
		{Zones: 300, DevicesPerZone: 1, ZoneBits: 14, Flows: 1},
		{Zones: 4, DevicesPerZone: 1, ZoneBits: 31, Flows: 1},
		{Zones: 4, DevicesPerZone: 1, ZoneBits: 24, Flows: -1},
	} {
		if _, err := Generate(s); err == nil {
			t.Errorf("Generate(%+v) accepted", s)
		}
	}
}

// TestCompile: the real parser, engine and compiler take the scenario;
// each zone's set is its subnet, each flow's services are rules, and
// every device is on its switch's port in its zone's VLAN.
func TestCompile(t *testing.T) {
	sc, err := Generate(small())
	if err != nil {
		t.Fatal(err)
	}
	in, err := sc.Compile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fw := in.Targets["core"].Firewall
	if fw == nil || fw.Quarantine.RestrictSet == "" {
		t.Fatalf("core: firewall %+v", fw)
	}
	sets := map[string][]netip.Prefix{}
	for _, s := range fw.Sets {
		if s.Kind == "zone" {
			sets[s.Of] = s.V4
		}
	}
	for _, z := range sc.Zones {
		if !slices.Equal(sets[z.Name], []netip.Prefix{z.Subnet}) {
			t.Errorf("zone %s: set %v, want its subnet %s", z.Name, sets[z.Name], z.Subnet)
		}
	}
	var rules int
	for _, f := range sc.Flows {
		rules += len(f.Services)
	}
	if len(fw.Rules) != rules {
		t.Errorf("%d rules, want %d (one per flow and service)", len(fw.Rules), rules)
	}
	vlan := map[string]int{}
	for _, z := range sc.Zones {
		vlan[z.Name] = z.VLAN
	}
	var ports int
	for i := range small().Switches {
		sw := in.Targets[fmt.Sprintf("access%02d", i+1)]
		if sw == nil || sw.Switch == nil {
			t.Fatalf("switch %d has no access-switch intent", i+1)
		}
		for _, p := range sw.Switch.Ports {
			if p.VLAN != vlan[p.Zone] {
				t.Errorf("%s %s: VLAN %d, zone %s has %d", sw.Name, p.Port, p.VLAN, p.Zone, vlan[p.Zone])
			}
		}
		ports += len(sw.Switch.Ports)
	}
	if ports != len(sc.Devices) {
		t.Errorf("%d ports for %d devices", ports, len(sc.Devices))
	}
}

// TestCapircaInput: one term per flow, naming its zones' and services'
// tokens, each defined once, with the zone's subnet and the service's
// port; a last term denies.
func TestCapircaInput(t *testing.T) {
	sc, err := Generate(small())
	if err != nil {
		t.Fatal(err)
	}
	c := sc.Capirca()
	def := regexp.MustCompile(`(?m)^(\S+) = (\S+)`)
	tokens := map[string]string{}
	for _, m := range def.FindAllStringSubmatch(string(c.Networks)+string(c.Services), -1) {
		if _, dup := tokens[m[1]]; dup {
			t.Errorf("token %s defined twice", m[1])
		}
		tokens[m[1]] = m[2]
	}
	term := regexp.MustCompile(`(?s)term (\S+) \{\n(.*?)\n\}`)
	terms := term.FindAllStringSubmatch(string(c.Policy), -1)
	if len(terms) != len(sc.Flows)+1 {
		t.Fatalf("%d terms for %d flows", len(terms), len(sc.Flows))
	}
	for i, f := range sc.Flows {
		body := terms[i][2]
		attr := func(k string) []string {
			m := regexp.MustCompile(`(?m)^  ` + k + `:: (.*)$`).FindStringSubmatch(body)
			if m == nil {
				return nil
			}
			return strings.Fields(m[1])
		}
		if terms[i][1] != f.Name || !slices.Equal(attr("action"), []string{"accept"}) {
			t.Errorf("term %d: %q, want flow %s accepted:\n%s", i, terms[i][1], f.Name, body)
		}
		if src := attr("source-address"); len(src) != 1 || tokens[src[0]] != sc.Zones[f.From].Subnet.String() {
			t.Errorf("term %s: source %v, want zone %s's subnet", f.Name, src, sc.Zones[f.From].Name)
		}
		if dst := attr("destination-address"); len(dst) != 1 || tokens[dst[0]] != sc.Zones[f.To].Subnet.String() {
			t.Errorf("term %s: destination %v, want zone %s's subnet", f.Name, dst, sc.Zones[f.To].Name)
		}
		var want []string
		for _, s := range f.Services {
			svc := sc.Services[s]
			want = append(want, strings.Replace(fmt.Sprintf("%d-%d/%s", svc.From, svc.To, svc.Proto), fmt.Sprintf("%d-%d", svc.From, svc.From), fmt.Sprint(svc.From), 1))
		}
		var got []string
		for _, tok := range attr("destination-port") {
			got = append(got, tokens[tok])
		}
		if !slices.Equal(got, want) || !slices.Equal(attr("protocol"), []string{sc.Services[f.Services[0]].Proto}) {
			t.Errorf("term %s: protocol %v ports %v, want %v", f.Name, attr("protocol"), got, want)
		}
	}
	if last := terms[len(terms)-1]; last[1] != "default-deny" || !strings.Contains(last[2], "action:: deny") {
		t.Errorf("the last term is %q:\n%s", last[1], last[2])
	}
}

func ExampleScenario_Capirca() {
	sc, _ := Generate(Scale{Zones: 2, DevicesPerZone: 1, ZoneBits: 24, Flows: 1, Seed: 1})
	c := sc.Capirca()
	fmt.Print(string(c.Networks), string(c.Policy))
	// Output:
	// # Generated by internal/benchscale: one token per zone, its subnet.
	// Z1 = 10.0.0.0/24 # zone z1
	// Z2 = 10.0.1.0/24 # zone z2
	// header {
	//   comment:: "Generated by internal/benchscale (Ward's benchmark scenario)."
	//   target:: cisco ward_bench object-group
	// }
	//
	// term f0001 {
	//   source-address:: Z2
	//   destination-address:: Z1
	//   protocol:: tcp
	//   destination-port:: POSTGRES LDAP SMB
	//   action:: accept
	// }
	//
	// term default-deny {
	//   action:: deny
	//   logging:: true
	// }
}
