package juniperjunos

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/examplehosp"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	model "github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/internal/intent"
)

// -update rewrites testdata/*.golden from Render, and the recorded
// sessions from the fake: review the diff before committing it.
var update = flag.Bool("update", false, "rewrite testdata/*.golden and testdata/*.session (review the diff)")

// l3Switch is the example hospital as one Junos L3 switch would enforce
// it: the core firewall's intent (routing between the zone VLANs) and the
// Juniper access switch's ports (access-rad), both roles.
func l3Switch(t testing.TB) *intent.Target {
	t.Helper()
	in := hospital(t)
	fw, sw := in.Targets["core-fw"], in.Targets["access-rad"]
	if fw == nil || fw.Firewall == nil || sw == nil || sw.Switch == nil || len(sw.Switch.Ports) == 0 {
		t.Fatalf("the example hospital lacks core-fw's firewall or access-rad's ports")
	}
	return &intent.Target{Name: "core-rad", Driver: driverName, Roles: []string{intent.RoleAccessSwitch, intent.RoleFirewall},
		Firewall: fw.Firewall, Switch: sw.Switch}
}

func newDriver(t testing.TB, opts string) drivers.Driver {
	t.Helper()
	var raw json.RawMessage
	if opts != "" {
		raw = json.RawMessage(opts)
	}
	d, err := New(raw)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it, then review it)", err)
	}
	if string(want) != got {
		t.Errorf("Render differs from %s (-want +got):\n%s", path, drivertest.Diff(string(want), got))
	}
}

func TestRenderHospitalGolden(t *testing.T) {
	d := newDriver(t, "")
	cfg, err := d.Render(l3Switch(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "hospital.golden", cfg.Text)
	again, err := d.Render(l3Switch(t))
	if err != nil || again != cfg {
		t.Fatalf("Render is not deterministic (err %v)", err)
	}
}

// carried is what of t a Junos configuration can say (see the package
// doc): no quarantine VLAN, no rules that no zone filter carries, no
// icmpv6 rules, only the address sets some term names, port ranges as the
// filters merge them.
func carried(t *intent.Target) *intent.Target {
	out := *t
	if f := t.Firewall; f != nil {
		c := *f
		zoneSets := map[string]bool{}
		for _, z := range f.Zones {
			if z.Set != "" {
				zoneSets[z.Set] = true
			}
		}
		c.Rules = nil
		for _, r := range f.Rules {
			switch {
			case r.Proto == "icmpv6":
				continue
			case zoneSets[r.From]:
			case zoneSets[r.To] && r.Proto != "icmp":
			case zoneSets[r.To] && r.Proto == "icmp" && (len(r.ICMPTypes) == 0 || slices.Equal(r.ICMPTypes, []string{"echo-request"})):
			default:
				continue
			}
			r.Ports, _ = drivers.MergePorts(r.Ports)
			if len(r.Ports) == 1 && r.Ports[0].From == 0 && r.Ports[0].To == 65535 {
				r.Ports = nil
			}
			c.Rules = append(c.Rules, r)
		}
		named := map[string]bool{}
		for _, r := range c.Rules {
			named[r.From], named[r.To] = true, true
		}
		for _, m := range f.Quarantine.Remediation {
			named[m] = true
		}
		for _, m := range f.Monitor {
			named[m] = true
		}
		c.Sets = nil
		for _, s := range f.Sets {
			if named[s.Name] {
				c.Sets = append(c.Sets, s)
			}
		}
		out.Firewall = &c
	}
	if s := t.Switch; s != nil {
		c := *s
		c.QuarantineVLAN = 0
		c.Ports = nil
		for _, p := range s.Ports {
			p.Port, _ = canonicalInterface(p.Port)
			c.Ports = append(c.Ports, p)
		}
		out.Switch = &c
	}
	return &out
}

// TestParseRenderHospital: Parse(Render(t)) enforces what t does, as far
// as the syntax carries it (carried).
func TestParseRenderHospital(t *testing.T) {
	d := newDriver(t, "")
	in := hospital(t)
	targets := map[string]*intent.Target{"l3": l3Switch(t), "access-rad": in.Targets["access-rad"]}
	fw := *in.Targets["core-fw"]
	fw.Driver = driverName
	targets["core-fw"] = &fw
	for name, tg := range targets {
		t.Run(name, func(t *testing.T) {
			cfg, err := d.Render(tg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Parse(cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := carried(tg)
			if !model.SameEnforcement(got, want) {
				gj, _ := json.MarshalIndent(got.Enforced(), "", " ")
				wj, _ := json.MarshalIndent(want.Enforced(), "", " ")
				t.Errorf("Parse(Render(t)) does not enforce what t does (-t +parsed):\n%s", drivertest.Diff(string(wj), string(gj)))
			}
			if tg.Firewall != nil && len(want.Firewall.Rules) == 0 {
				t.Errorf("no rule carried: the test compares nothing")
			}
			again, err := d.Render(got)
			if err != nil || again != cfg {
				t.Errorf("Render(Parse(Render(t))) differs from Render(t) (err %v):\n%s", err, drivertest.Diff(cfg.Text, again.Text))
			}
		})
	}
}

// TestParseDeviceForms: the device's own forms (port names, a prefix
// without its length, set version, another order of lines) read as
// Render's.
func TestParseDeviceForms(t *testing.T) {
	d := newDriver(t, "")
	render := strings.Join([]string{
		"set policy-options prefix-list net_dns 192.0.2.53/32",
		"set policy-options prefix-list zone_a 10.1.0.0/24",
		"set firewall family inet filter ward_zone_a term rule-1 from source-prefix-list zone_a",
		"set firewall family inet filter ward_zone_a term rule-1 from destination-prefix-list net_dns",
		"set firewall family inet filter ward_zone_a term rule-1 from protocol udp",
		"set firewall family inet filter ward_zone_a term rule-1 from destination-port 53",
		"set firewall family inet filter ward_zone_a term rule-1 then accept",
		"set firewall family inet filter ward_zone_a term default then count default",
		"set firewall family inet filter ward_zone_a term default then log",
		"set firewall family inet filter ward_zone_a term default then discard",
		"set interfaces irb unit 10 family inet filter input ward_zone_a",
		"set interfaces ge-0/0/5 description ward-10",
		"set interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode access",
		"set interfaces ge-0/0/5 unit 0 family ethernet-switching vlan members 10",
	}, "\n") + "\n"
	device := strings.Join([]string{
		"set version 21.4R3-S5.4",
		"set interfaces ge-0/0/5 unit 0 family ethernet-switching vlan members 10",
		"set interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode access",
		"set interfaces ge-0/0/5 description ward-10",
		"set interfaces irb unit 10 family inet filter input ward_zone_a",
		"set firewall family inet filter ward_zone_a term rule-1 then accept",
		"set firewall family inet filter ward_zone_a term rule-1 from protocol udp",
		"set firewall family inet filter ward_zone_a term rule-1 from destination-port domain",
		"set firewall family inet filter ward_zone_a term rule-1 from source-prefix-list zone_a",
		"set firewall family inet filter ward_zone_a term rule-1 from destination-prefix-list net_dns",
		"set firewall family inet filter ward_zone_a term default then discard",
		"set firewall family inet filter ward_zone_a term default then log",
		"set firewall family inet filter ward_zone_a term default then count default",
		"set policy-options prefix-list zone_a 10.1.0.0/24",
		"set policy-options prefix-list net_dns 192.0.2.53",
	}, "\n")
	same, diff, err := drivers.Compare(d, drivers.Config{Text: render}, drivers.Config{Text: device})
	if err != nil || !same {
		t.Fatalf("the device's form does not compare equal to Render's (err %v):\n%s", err, diff)
	}
	for _, bad := range []string{
		device + "\nset firewall family inet filter ward_zone_a term x then accept",
		device + "\nset system host-name x",
		device + "\nset policy-options prefix-list zone_a 10.0.0.0/8; request system reboot",
		"delete firewall",
	} {
		if _, err := d.Parse(drivers.Config{Text: bad}); err == nil {
			t.Errorf("Parse accepted %q", bad[max(0, len(bad)-80):])
		}
	}
}

// hospital is the example hospital's intent, compiled as ward plan does.
func hospital(t testing.TB) *intent.Intent { return examplehosp.Intent(t) }
