package juniperjunos

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/juniperjunos/junosfake"
	"github.com/wardnet/ward/drivers/netsession"
	"github.com/wardnet/ward/internal/intent"
)

const testPassword = "s3cret-for-tests"

// deviceOwn is configuration of the switch that is not Ward's: every test
// checks it is left alone.
var deviceOwn = []string{
	"set system host-name ex-core-1",
	"set vlans v210 vlan-id 210",
	"set vlans v210 l3-interface irb.210",
	"set interfaces irb unit 210 family inet address 10.61.210.1/24",
	"set interfaces ge-0/0/47 unit 0 family ethernet-switching interface-mode trunk",
	"set interfaces ge-0/0/47 unit 0 family ethernet-switching vlan members v210",
	"set policy-options prefix-list mgmt 10.250.0.0/16",
}

// startFake serves a fake EX switch (Virtual Chassis prompt, version
// statement, its own configuration) on a manual clock.
func startFake(t *testing.T) (*junosfake.Fake, *junosfake.ManualClock) {
	t.Helper()
	clock := junosfake.NewManualClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	f := junosfake.Start(t, junosfake.Options{Password: testPassword, Hostname: "ex-core-1", Master: "master:0",
		Version: "21.4R3-S5.4", Running: deviceOwn, Clock: clock})
	return f, clock
}

// dial opens a network-OS session to the fake with the driver's platform
// definition, the host key pinned.
func dial(t *testing.T, f *junosfake.Fake) *netsession.Session {
	t.Helper()
	return dialTimeout(t, f, 20*time.Second)
}

func dialTimeout(t *testing.T, f *junosfake.Fake, timeout time.Duration) *netsession.Session {
	t.Helper()
	host, port, err := net.SplitHostPort(f.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	s, err := netsession.Dial(t.Context(), netsession.Target{Name: "ex-core-1", Address: host, Port: p, Username: "ward",
		KnownHosts: f.KnownHosts(t), Timeout: timeout}, netsession.Credential{Password: testPassword}, platformYAML)
	if err != nil {
		t.Fatalf("dialing the fake: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// variant is the example L3 switch changed the way a policy change
// changes it: a rule gone, a port moved to another VLAN, one port gone
// and another added.
func variant(t testing.TB) *intent.Target {
	v := l3Switch(t)
	fw := *v.Firewall
	fw.Rules = slices.Clone(fw.Rules[1:])
	v.Firewall = &fw
	sw := *v.Switch
	sw.Ports = slices.Clone(sw.Ports[1:])
	sw.Ports[0].VLAN = 220
	sw.Ports = append(sw.Ports, intent.PortVLAN{Port: "ge-1/0/40", VLAN: 210, Device: "new-pump", Zone: "infusion_pumps"})
	v.Switch = &sw
	return v
}

// overflow is a one-zone firewall with more terms than an EX2300 filter
// takes (512).
func overflow() *intent.Target {
	fw := &intent.Firewall{DefaultAction: "drop", Zones: []intent.Zone{{Name: "a", VLAN: 10, Set: "zone_a"}},
		Sets: []intent.AddressSet{{Name: "zone_a", Kind: "zone", Of: "a"}, {Name: "net_b", Kind: "network", Of: "b"}}}
	for p := 1; p <= 600; p++ {
		fw.Rules = append(fw.Rules, intent.Rule{From: "zone_a", To: "net_b", Proto: "tcp", Ports: []intent.Ports{{From: p * 2, To: p * 2}}})
	}
	return &intent.Target{Name: "big", Driver: driverName, Roles: []string{intent.RoleFirewall}, Model: "EX2300-48P", Firewall: fw}
}

func TestConformance(t *testing.T) {
	f, clock := startFake(t)
	s := dial(t, f)
	d := newDriver(t, `{"commit_confirm_minutes": 3}`)
	last := variant(t)
	port, err := canonicalInterface(last.Switch.Ports[0].Port)
	if err != nil {
		t.Fatal(err)
	}
	last.Switch.Ports[0].Port = port
	drivertest.TestDriverWith(t, d, s, []drivertest.Case{
		{Name: "hospital", Target: l3Switch(t)},
		{Name: "variant", Target: last},
		{Name: "vlan-out-of-range", Target: l3Switch(t), Corrupt: func(c drivers.Config) drivers.Config {
			return drivers.Config{Text: strings.Replace(c.Text, "vlan members 221\n", "vlan members 4095\n", 1)}
		}},
	}, drivertest.Options{
		Advance:        clock.Advance,
		QuarantineAddr: "10.61.210.77",
		QuarantinePort: port,
		Overflow:       overflow(),
	})
	checkOwnKept(t, f)
}

// checkOwnKept fails unless the switch's own configuration is still there.
func checkOwnKept(t *testing.T, f *junosfake.Fake) {
	t.Helper()
	running := "\n" + f.Running() + "\n"
	for _, l := range deviceOwn {
		if !strings.Contains(running, "\n"+l+"\n") {
			t.Errorf("the switch's own statement %q is gone", l)
		}
	}
}
