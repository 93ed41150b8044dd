package aristaeos

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/examplehosp"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/aristaeos/eosfake"
	"github.com/wardnet/ward/drivers/clifake"
	"github.com/wardnet/ward/drivers/drivertest"
	wi "github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/netsession"
	"github.com/wardnet/ward/internal/intent"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from Render (review the diff)")

const (
	testUser = "ward"
	testPass = "s3cret"
)

// l3switch is the example hospital as one Arista L3 switch would enforce
// it: the core firewall's intent (zones, VLANs, flows) and the ICU access
// switch's ports, both roles on one target.
func l3switch(t *testing.T) *wi.Target {
	t.Helper()
	in := hospital(t)
	fw, sw := in.Targets["core-fw"], in.Targets["access-icu"]
	if fw == nil || fw.Firewall == nil || sw == nil || sw.Switch == nil {
		t.Fatal("the example hospital lost core-fw or access-icu")
	}
	if len(fw.Firewall.Zones) == 0 {
		t.Fatal("the example hospital's firewall intent has no zone VLANs")
	}
	return &wi.Target{Name: "icu-l3", Driver: driverName, Roles: []string{"access_switch", "firewall"},
		Firewall: fw.Firewall, Switch: sw.Switch, Model: "CCS-720XP-48ZC2"}
}

func newDriver(t *testing.T) *driver {
	t.Helper()
	d, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.(*driver)
}

// TestHospitalGolden: the example hospital's render, reviewed by hand.
func TestHospitalGolden(t *testing.T) {
	cfg, err := newDriver(t).Render(l3switch(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "hospital.golden")
	if *update {
		if err := os.WriteFile(path, []byte(cfg.Text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Text != string(want) {
		t.Errorf("Render differs from %s (-want +got):\n%s", path, drivertest.Diff(string(want), cfg.Text))
	}
}

// TestParseRenderEnforcesTheHospital: Parse(Render(t)) enforces what t
// does. What the syntax cannot carry, and so is compared normalised: port
// ranges come back merged and sorted, and the labels Enforced drops.
func TestParseRenderEnforcesTheHospital(t *testing.T) {
	d := newDriver(t)
	for _, tg := range []*wi.Target{l3switch(t), hospital(t).Targets["access-icu"]} {
		cfg, err := d.Render(tg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Parse(cfg)
		if err != nil {
			t.Fatalf("%s: Parse(Render): %v", tg.Name, err)
		}
		want := normalised(t, tg)
		if !wi.SameEnforcement(got, want) {
			t.Errorf("%s: Parse(Render(t)) does not enforce what t does", tg.Name)
		}
		again, err := d.Render(got)
		if err != nil || again.Text != cfg.Text {
			t.Errorf("%s: Render(Parse(Render(t))) differs from Render(t): %v\n%s", tg.Name, err, drivertest.Diff(cfg.Text, again.Text))
		}
	}
}

// normalised is t with port ranges merged and sorted, the one form the
// entries can say them in.
func normalised(t *testing.T, tg *wi.Target) *wi.Target {
	if tg.Firewall == nil {
		return tg
	}
	fw := *tg.Firewall
	fw.Rules = nil
	for _, r := range tg.Firewall.Rules {
		ps, err := drivers.MergePorts(r.Ports)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 1 && ps[0] == (wi.Ports{From: 0, To: 65535}) {
			ps = nil
		}
		r.Ports = ps
		fw.Rules = append(fw.Rules, r)
	}
	out := *tg
	out.Firewall = &fw
	return &out
}

func TestCanonicalPort(t *testing.T) {
	for in, want := range map[string]string{"Et5": "Ethernet5", "ethernet 5": "Ethernet5", "Et1/1": "Ethernet1/1",
		"Ethernet3/1/2": "Ethernet3/1/2", "Po10": "Port-Channel10", "port-channel 2": "Port-Channel2"} {
		if got, err := canonicalPort(in); err != nil || got != want {
			t.Errorf("canonicalPort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"Gi1/0/5", "Vlan10", "Et", "Po1/1", "Et05", "Et5; reload"} {
		if got, err := canonicalPort(bad); err == nil {
			t.Errorf("canonicalPort(%q) = %q, want an error", bad, got)
		}
	}
}

// TestParseReadsTheDevicesForm: named ports and /32 prefixes as a switch
// may print them read as Render writes them; an edited entry is an error.
func TestParseReadsTheDevicesForm(t *testing.T) {
	d := newDriver(t)
	cfg, err := d.Render(small())
	if err != nil {
		t.Fatal(err)
	}
	dev := strings.ReplaceAll(cfg.Text, "eq 80", "eq www")
	dev = strings.ReplaceAll(dev, "host 10.2.0.9", "10.2.0.9/32")
	if dev == cfg.Text {
		t.Fatal("the small intent renders no eq 80 or host 10.2.0.9 to rewrite")
	}
	if same, diff, err := drivers.Compare(d, cfg, drivers.Config{Text: dev}); err != nil || !same {
		t.Errorf("the device's form of the same configuration: same=%v err=%v\n%s", same, err, diff)
	}
	edited := strings.Replace(cfg.Text, "permit tcp 10.1.0.0/24 10.2.0.0/16 eq 443", "permit tcp 10.1.0.0/24 any eq 443", 1)
	if edited == cfg.Text {
		t.Fatal("no entry to edit")
	}
	if _, err := d.Parse(drivers.Config{Text: edited}); !errors.Is(err, drivers.ErrInvalidConfig) {
		t.Errorf("Parse of an edited zone ACL: err = %v, want ErrInvalidConfig", err)
	}
	for _, bad := range []string{"ip access-list ward-x\n   10 permit ip any any; reload\n", "reload\n", "interface Ethernet1\n   shutdown\n"} {
		if _, err := d.Parse(drivers.Config{Text: bad}); !errors.Is(err, drivers.ErrInvalidConfig) {
			t.Errorf("Parse(%q): err = %v, want ErrInvalidConfig", bad, err)
		}
	}
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// small is an L3 switch with both roles: two zones, a network, TCP, UDP,
// ICMP echo, an essential rule, a monitor zone, quarantine sets.
func small() *wi.Target {
	return &wi.Target{
		Name: "l3", Driver: driverName, Roles: []string{"access_switch", "firewall"},
		Firewall: &wi.Firewall{
			Sets: []wi.AddressSet{
				{Name: "net_remedy", Kind: "network", Of: "remedy", V4: prefixes("192.0.2.0/28")},
				{Name: "zone_a", Kind: "zone", Of: "a", V4: prefixes("10.1.0.0/24")},
				{Name: "zone_b", Kind: "zone", Of: "b", V4: prefixes("10.2.0.0/16", "10.2.0.9/32")},
			},
			Rules: []wi.Rule{
				{From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []wi.Ports{{From: 443, To: 443}}, Essential: true},
				{From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []wi.Ports{{From: 80, To: 80}}},
				{From: "zone_a", To: "zone_b", Proto: "udp", Ports: []wi.Ports{{From: 53, To: 53}}},
				{From: "zone_b", To: "zone_a", Proto: "icmp", ICMPTypes: []string{"echo-request"}},
			},
			Monitor:       []string{"zone_b"},
			DefaultAction: "drop",
			Quarantine:    wi.Quarantine{IsolateSet: "quarantine_isolate", RestrictSet: "quarantine_restrict", Remediation: []string{"net_remedy"}},
			Zones:         []wi.Zone{{Name: "a", VLAN: 10, Set: "zone_a"}, {Name: "b", VLAN: 20, Set: "zone_b", Monitor: true}, {Name: "c", VLAN: 30}},
		},
		Switch: &wi.Switch{QuarantineVLAN: 999, Ports: []wi.PortVLAN{
			{Port: "Et1", VLAN: 10, Device: "d1"}, {Port: "Ethernet2", VLAN: 20, Device: "d2"},
		}},
	}
}

// variant is small changed: a rule gone, one more port, another VLAN.
func variant() *wi.Target {
	t := small()
	fw := *t.Firewall
	fw.Rules = fw.Rules[:2]
	fw.DefaultAction = "drop"
	t.Firewall = &fw
	t.Switch = &wi.Switch{QuarantineVLAN: 999, Ports: []wi.PortVLAN{
		{Port: "Ethernet1", VLAN: 20, Device: "d1"}, {Port: "Ethernet3", VLAN: 10, Device: "d3"},
	}}
	return t
}

// startFake runs an EOS fake and dials it as Ward does: scrapligo's
// standard transport, the host key pinned, the driver's platform.
func startFake(t *testing.T, o eosfake.Options) (*eosfake.Fake, *netsession.Session) {
	t.Helper()
	o.Username, o.Password = testUser, testPass
	if o.Ports == 0 {
		o.Ports = 96
	}
	f := eosfake.Start(t, o)
	return f, dial(t, f)
}

func dial(t *testing.T, f *eosfake.Fake) *netsession.Session {
	t.Helper()
	host, _, _ := strings.Cut(f.Addr(), ":")
	s, err := netsession.Dial(t.Context(), netsession.Target{Name: "eos", Address: host, Port: f.Port(), Username: testUser, KnownHosts: f.KnownHosts(t), Timeout: 20 * time.Second},
		netsession.Credential{Password: testPass}, platformYAML)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the drivers' conformance suite against the fake.
func TestConformance(t *testing.T) {
	clock := clifake.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	_, s := startFake(t, eosfake.Options{Clock: clock})
	d := newDriver(t)
	drivertest.TestDriverWith(t, d, s, []drivertest.Case{
		{Name: "hospital", Target: l3switch(t)},
		{Name: "small", Target: small()},
		{Name: "variant", Target: variant()},
		{Name: "port-the-switch-lacks", Target: func() *wi.Target {
			v := variant()
			v.Switch.Ports = append(v.Switch.Ports, wi.PortVLAN{Port: "Et200", VLAN: 10, Device: "ghost"})
			return v
		}(), Invalid: true},
	}, drivertest.Options{Advance: clock.Advance, QuarantineAddr: "10.2.0.77", QuarantinePort: "Ethernet1", Overflow: overflow()})
}

// overflow is small with 2,000 devices in zone a: more entries than the
// default limits take.
func overflow() *wi.Target {
	t := small()
	fw := *t.Firewall
	fw.Sets = append([]wi.AddressSet(nil), fw.Sets...)
	for i := range 2000 {
		fw.Sets[1].V4 = append(fw.Sets[1].V4, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(1 + i/250), byte(1 + i%250)}), 32))
	}
	t.Firewall = &fw
	t.Model = "CCS-720XP-48ZC2"
	return t
}

// applyOK applies tg and checks the fake then runs it.
func applyOK(t *testing.T, d *driver, s drivers.Session, tg *wi.Target) drivers.Config {
	t.Helper()
	cfg, err := d.Render(tg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(t.Context(), s, cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return cfg
}

func running(t *testing.T, d *driver, s drivers.Session) drivers.Config {
	t.Helper()
	r, err := d.Running(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestQuarantine: isolate and restrict add entries to every zone ACL and
// the set's list, a port moves to the quarantine VLAN; Running does not
// show any of it, an apply keeps it, release removes it.
func TestQuarantine(t *testing.T) {
	f, s := startFake(t, eosfake.Options{})
	d := newDriver(t)
	cfg := applyOK(t, d, s, small())
	ctx := t.Context()
	if err := d.AddToSet(ctx, s, "quarantine_isolate", []string{"10.2.0.77"}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddToSet(ctx, s, "quarantine_restrict", []string{"10.1.0.5"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPortVLAN(ctx, s, "Et2", 999); err != nil {
		t.Fatal(err)
	}
	dev := f.Running()
	for _, want := range []string{
		"10 permit ip host 10.2.0.77 192.0.2.0/28", "deny ip any host 10.2.0.77 log", "2000000 deny ip host 10.1.0.5 any log",
		"description ward-quarantine home-vlan-20\n   switchport access vlan 999",
	} {
		if !strings.Contains(dev, want) {
			t.Errorf("the switch's running configuration lacks %q:\n%s", want, dev)
		}
	}
	q, err := d.ReadQuarantine(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Sets["quarantine_isolate"]; len(got) != 1 || got[0] != "10.2.0.77" || q.Sets["quarantine_restrict"][0] != "10.1.0.5" || q.Ports["Ethernet2"] != 20 {
		t.Errorf("ReadQuarantine = %+v", q)
	}
	if r := running(t, d, s); r != cfg {
		t.Errorf("Running shows quarantine state (-applied +running):\n%s", drivertest.Diff(cfg.Text, r.Text))
	}
	// An apply of another configuration keeps the quarantine.
	applyOK(t, d, s, variant())
	if q2, err := d.ReadQuarantine(ctx, s); err != nil || len(q2.Sets["quarantine_isolate"]) != 1 || len(q2.Sets["quarantine_restrict"]) != 1 {
		t.Errorf("after an apply, ReadQuarantine = %+v, %v; want the quarantine kept", q2, err)
	}
	// Release.
	if err := d.RemoveFromSet(ctx, s, "quarantine_isolate", []string{"10.2.0.77", "10.9.9.9"}); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveFromSet(ctx, s, "quarantine_restrict", []string{"10.1.0.5"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPortVLAN(ctx, s, "Ethernet2", 20); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.Running(), "10.2.0.77") || strings.Contains(f.Running(), "ward-quarantine home") {
		t.Errorf("after release the switch still holds quarantine state:\n%s", f.Running())
	}
	if err := d.AddToSet(ctx, s, "zone_a", []string{"10.1.0.5"}); err == nil {
		t.Error("AddToSet on a set that is not a quarantine set succeeded")
	}
}

// TestFaults: a push cut off, a commit refused, a change never confirmed:
// each leaves the previous configuration in force, says so, and the next
// apply converges.
func TestFaults(t *testing.T) {
	d := newDriver(t)
	good, err := d.Render(small())
	if err != nil {
		t.Fatal(err)
	}
	next, err := d.Render(variant())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("connection dropped mid-push", func(t *testing.T) {
		f, s := startFake(t, eosfake.Options{})
		if err := d.Apply(t.Context(), s, good); err != nil {
			t.Fatal(err)
		}
		before := f.Running()
		// The drop counts configuration lines over the fake's life: a
		// fresh fake cuts the first apply after 5 lines, then no more.
		fd, s2 := startFake(t, eosfake.Options{DropAfterConfigLines: 5})
		if err := d.Apply(t.Context(), s2, good); err == nil {
			t.Fatal("Apply over a connection cut after 5 lines succeeded")
		} else if !errors.Is(err, drivers.ErrSessionBroken) || !strings.Contains(err.Error(), "previous configuration is in force") {
			t.Errorf("err = %v; want ErrSessionBroken saying the previous configuration is in force", err)
		}
		if got := fd.Running(); strings.Contains(got, "ward-") {
			t.Errorf("an uncommitted session changed the running configuration:\n%s", got)
		}
		s3 := dial(t, fd)
		if err := d.Apply(t.Context(), s3, good); err != nil {
			t.Fatalf("the next Apply: %v", err)
		}
		if fd.Running() != before {
			t.Errorf("the next Apply did not converge (-want +got):\n%s", drivertest.Diff(before, fd.Running()))
		}
	})
	t.Run("connection dropped after the commit timer", func(t *testing.T) {
		want, err := build(small(), nil)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := commands(newState(), want)
		if err != nil {
			t.Fatal(err)
		}
		clock := clifake.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		// The session's lines, show session-config diffs, then commit
		// timer: the cut comes right after the switch took the commit.
		f, s := startFake(t, eosfake.Options{Clock: clock, DropAfterConfigLines: len(cmds) + 2})
		err = d.Apply(t.Context(), s, good)
		if !errors.Is(err, drivers.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "restores the previous configuration by itself") {
			t.Fatalf("err = %v; want ErrOutcomeUnknown saying the switch rolls back by itself", err)
		}
		s2 := dial(t, f)
		if o, err := drivers.Which(t.Context(), d, s2, good, drivers.Config{}); err != nil || o != drivers.OutcomeApplied {
			t.Errorf("Which before the timer ran out = %v, %v; want applied", o, err)
		}
		clock.Advance(6 * time.Minute)
		if o, err := drivers.Which(t.Context(), d, s2, good, drivers.Config{}); err != nil || o != drivers.OutcomePrevious {
			t.Errorf("Which after the timer ran out = %v, %v; want previous", o, err)
		}
		if err := d.Apply(t.Context(), s2, good); err != nil {
			t.Fatalf("the next Apply: %v", err)
		}
		if same, _, _ := drivers.Compare(d, good, running(t, d, s2)); !same {
			t.Error("the next Apply did not converge")
		}
	})
	t.Run("commit refused", func(t *testing.T) {
		f, s := startFake(t, eosfake.Options{RefuseCommit: "% Cannot commit: configuration lock held"})
		err := d.Apply(t.Context(), s, good)
		if !errors.Is(err, drivers.ErrCheckFailed) {
			t.Errorf("err = %v; want ErrCheckFailed", err)
		}
		if strings.Contains(f.Running(), "ward-") {
			t.Errorf("a refused commit changed the running configuration:\n%s", f.Running())
		}
	})
	t.Run("never confirmed", func(t *testing.T) {
		clock := clifake.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		f, s := startFake(t, eosfake.Options{Clock: clock})
		if err := d.Apply(t.Context(), s, good); err != nil {
			t.Fatal(err)
		}
		before := f.Running()
		p, err := d.ApplyConfirmed(t.Context(), s, next, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if same, _, _ := drivers.Compare(d, next, running(t, d, s)); !same {
			t.Fatal("ApplyConfirmed did not put the configuration in force")
		}
		clock.Advance(3 * time.Minute)
		if f.Running() != before || f.Rollbacks() != 1 {
			t.Errorf("the commit timer ran out but the switch did not restore the previous configuration (rollbacks %d)", f.Rollbacks())
		}
		if err := d.Confirm(t.Context(), s, p); err == nil {
			t.Error("Confirm after the timer ran out succeeded")
		}
		if err := d.Apply(t.Context(), s, next); err != nil {
			t.Fatalf("the next Apply: %v", err)
		}
		if same, _, _ := drivers.Compare(d, next, running(t, d, s)); !same {
			t.Error("the next Apply did not converge")
		}
	})
	t.Run("stage and abort", func(t *testing.T) {
		f, s := startFake(t, eosfake.Options{})
		st, err := d.Stage(t.Context(), s, good)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(st.Diff, "+ip access-list ward-zone-zone_a") || strings.Contains(f.Running(), "ward-") {
			t.Errorf("Stage: diff %q, running changed: %v", st.Diff, strings.Contains(f.Running(), "ward-"))
		}
		if err := d.Abort(t.Context(), s, st); err != nil {
			t.Fatal(err)
		}
		st, err = d.Stage(t.Context(), s, good)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Commit(t.Context(), s, st); err != nil {
			t.Fatal(err)
		}
		if same, _, _ := drivers.Compare(d, good, running(t, d, s)); !same {
			t.Error("Commit of a staged session did not put it in force")
		}
	})
}

func TestOptionsAndCapacity(t *testing.T) {
	for _, bad := range []string{`{"commit_timer_minutes":0}`, `{"session_prefix":"x y"}`, `{"session_prefix":"-a"}`} {
		if _, err := New([]byte(bad)); err == nil {
			t.Errorf("New(%s) succeeded", bad)
		}
	}
	d := newDriver(t)
	tg := l3switch(t)
	cfg, err := d.Render(tg)
	if err != nil {
		t.Fatal(err)
	}
	over := d.CheckCapacity(tg, cfg)
	tg.Model = "DCS-7050X3-32S"
	big := d.CheckCapacity(tg, cfg)
	if len(over) == 0 && len(big) == 0 {
		t.Log("the hospital fits both models")
	}
	for _, o := range append(over, big...) {
		if o.Source == "" || o.Need <= o.Limit {
			t.Errorf("overflow %v: no source, or not an overflow", o)
		}
	}
	tiny := small()
	tiny.Model = "unknown"
	if o := d.CheckCapacity(tiny, mustRender(t, d, tiny)); len(o) != 0 {
		t.Errorf("the small intent overflows: %v", o)
	}
}

func mustRender(t *testing.T, d *driver, tg *wi.Target) drivers.Config {
	cfg, err := d.Render(tg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// hospital compiles the example hospital's intent, as ward plan does.
func hospital(t *testing.T) *intent.Intent { return examplehosp.Intent(t) }
