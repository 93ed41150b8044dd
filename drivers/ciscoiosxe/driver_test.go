package ciscoiosxe

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/ciscoiosxe/iosxefake"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/netsession"
)

// minute is how long a revert-timer minute lasts on the fakes here: long
// enough for a push of the hospital under a 2-minute timer, short enough
// to wait a timer out.
const minute = 2 * time.Second

// startFake runs a fake switch with the ports of the given intents (and
// its default 48), and dials it the way Ward does: netsession with the
// driver's platform definition, the host key pinned.
func startFake(t *testing.T, opts iosxefake.Options, targets ...*intent.Target) (*iosxefake.Fake, *netsession.Session) {
	t.Helper()
	if opts.Minute == 0 {
		opts.Minute = minute
	}
	opts.Password, opts.EnableSecret = "ward-test", "ward-test"
	for i := 1; i <= 48; i++ {
		opts.Ports = append(opts.Ports, fmt.Sprintf("GigabitEthernet1/0/%d", i))
	}
	for _, tg := range targets {
		if tg.Switch == nil {
			continue
		}
		for _, p := range tg.Switch.Ports {
			full, _, err := canonicalInterface(p.Port)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(opts.Ports, full) {
				opts.Ports = append(opts.Ports, full)
			}
		}
	}
	f := iosxefake.Start(t, opts)
	return f, dial(t, f)
}

func dial(t *testing.T, f *iosxefake.Fake) *netsession.Session {
	t.Helper()
	s, err := netsession.Dial(t.Context(), netsession.Target{Name: "fake-c9300", Address: f.Host(), Port: f.Port(), Username: "ward", KnownHosts: f.WriteKnownHosts(t), Timeout: 30 * time.Second},
		netsession.Credential{Password: "ward-test"}, platformYAML)
	if err != nil {
		t.Fatalf("dialing the fake: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newDriver(t *testing.T, opts string) drivers.Driver {
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

// canonical gives every port its IOS name, as the suite's quarantine
// cases compare them with what the switch reports.
func canonical(t *testing.T, tg *intent.Target) *intent.Target {
	out := *tg
	sw := *tg.Switch
	sw.Ports = nil
	for _, p := range tg.Switch.Ports {
		p.Port = hospitalCanon(t, tg)[p.Port]
		sw.Ports = append(sw.Ports, p)
	}
	out.Switch = &sw
	return &out
}

// variant is the hospital with its first zone's rules dropped, a port
// moved to another VLAN and another quarantine VLAN: another configuration
// of every kind of thing the driver writes.
func variant(t *testing.T, h *intent.Target) *intent.Target {
	out := *h
	fw := *h.Firewall
	fw.Rules = nil
	drop := fw.Zones[0].Set
	for _, r := range h.Firewall.Rules {
		if r.From != drop && r.To != drop {
			fw.Rules = append(fw.Rules, r)
		}
	}
	if len(fw.Rules) == len(h.Firewall.Rules) {
		t.Fatalf("zone set %s has no rules to drop", drop)
	}
	out.Firewall = &fw
	sw := *h.Switch
	sw.Ports = slices.Clone(h.Switch.Ports)
	sw.Ports[0].VLAN = 3999
	sw.QuarantineVLAN = 998
	out.Switch = &sw
	return &out
}

// overflow is small() with more object-group ACEs in zone a's ACL than
// any model takes.
func overflow() *intent.Target {
	t := small()
	t.Model = "C9300-48P"
	for i := range 2100 {
		t.Firewall.Rules = append(t.Firewall.Rules, intent.Rule{Flow: "many", Service: "many", From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []intent.Ports{{From: 20000 + 2*i, To: 20000 + 2*i}}})
	}
	return t
}

// TestConformance runs the drivers/drivertest suite against the fake,
// with every capability the driver declares: two valid cases from the
// example hospital (its core firewall with the 3 West access ports on one
// L3 switch, and a variant), an invalid one the switch refuses (a port it
// does not have), a corrupted one.
func TestConformance(t *testing.T) {
	h := canonical(t, hospitalL3(t))
	v := variant(t, h)
	bad := canonical(t, hospitalL3(t))
	bad.Switch.Ports = append(slices.Clone(bad.Switch.Ports), intent.PortVLAN{Port: "GigabitEthernet9/0/1", VLAN: 210, Device: "ghost", Zone: "x"})
	f, s := startFake(t, iosxefake.Options{}, h, v)
	d := newDriver(t, `{"confirm_minutes": 30, "save_config": true}`)
	drivertest.TestDriverWith(t, d, s, []drivertest.Case{
		{Name: "hospital-variant", Target: v},
		{Name: "hospital", Target: h},
		{Name: "port-missing", Target: bad, Invalid: true},
		{Name: "corrupt", Target: h, Corrupt: func(c drivers.Config) drivers.Config {
			return drivers.Config{Text: strings.Replace(c.Text, " deny ip any any log\n", " deny ip any any log\n do write erase\n", 1)}
		}},
	}, drivertest.Options{
		Advance: func(d time.Duration) {
			time.Sleep(time.Duration(float64(d)/float64(time.Minute)*float64(minute)) + minute/2)
		},
		QuarantineAddr: "10.61.210.250",
		QuarantinePort: h.Switch.Ports[len(h.Switch.Ports)-1].Port,
		Overflow:       overflow(),
	})
	if f.RevertPending() {
		t.Error("a revert timer is still running after the suite")
	}
}
