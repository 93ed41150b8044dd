package ciscoiosxe

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/transport"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/ciscoiosxe/iosxefake"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/netsession"
)

// faultMinute is a revert-timer minute in the fault tests: the driver runs
// with confirm_minutes 1, so an unconfirmed change rolls back after it.
const faultMinute = 1500 * time.Millisecond

// twoConfigs is both() and a variant of it (a port in another VLAN, one
// rule fewer), rendered, with the fake's port types.
func twoConfigs(t *testing.T, d drivers.Driver) (a, b drivers.Config, ta, tb *intent.Target) {
	t.Helper()
	ta, tb = both(), both()
	// The fake has GigabitEthernet ports only.
	for _, x := range []*intent.Target{ta, tb} {
		x.Switch.Ports = slices.Clone(x.Switch.Ports)
		for i, p := range x.Switch.Ports {
			if strings.HasPrefix(p.Port, "Ten") {
				x.Switch.Ports[i].Port = "Gi1/0/20"
			}
		}
	}
	tb.Switch.Ports[0].VLAN = 30
	tb.Firewall.Rules = tb.Firewall.Rules[1:]
	var err error
	if a, err = d.Render(ta); err != nil {
		t.Fatal(err)
	}
	if b, err = d.Render(tb); err != nil {
		t.Fatal(err)
	}
	return a, b, ta, tb
}

// runs checks that the switch, read on a new session, enforces want.
func runs(t *testing.T, d drivers.Driver, f *iosxefake.Fake, want drivers.Config, what string) {
	t.Helper()
	got, err := d.Running(t.Context(), dial(t, f))
	if err != nil {
		t.Fatalf("%s: Running: %v", what, err)
	}
	if same, diff, err := drivers.Compare(d, want, got); err != nil || !same {
		t.Fatalf("%s: the switch does not run the expected configuration (%v):\n%s", what, err, diff)
	}
}

func waitRevert(t *testing.T, f *iosxefake.Fake) {
	t.Helper()
	deadline := time.Now().Add(3 * faultMinute)
	for f.RevertPending() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if f.RevertPending() {
		t.Fatal("the revert timer did not run out")
	}
}

// TestFaultConnectionDropped: the connection drops in the middle of the
// change. Apply reports an unknown outcome; the switch's revert timer
// puts the previous configuration back by itself; the next Apply, on a
// new session, converges.
func TestFaultConnectionDropped(t *testing.T) {
	d := newDriver(t, `{"confirm_minutes": 1}`)
	a, b, ta, tb := twoConfigs(t, d)
	f, s := startFake(t, iosxefake.Options{Minute: faultMinute}, ta, tb)
	if err := d.Apply(t.Context(), s, a); err != nil {
		t.Fatal(err)
	}
	f.DropAfterConfigLines(6)
	err := d.Apply(t.Context(), s, b)
	if !errors.Is(err, drivers.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "revert timer") {
		t.Fatalf("Apply with the connection dropped mid-change: err = %v; want drivers.ErrOutcomeUnknown naming the revert timer", err)
	}
	if !f.RevertPending() {
		t.Fatal("no revert timer runs on the switch after the drop")
	}
	waitRevert(t, f)
	runs(t, d, f, a, "after the revert timer ran out")
	f.DropAfterConfigLines(0)
	s2 := dial(t, f)
	if err := d.Apply(t.Context(), s2, b); err != nil {
		t.Fatalf("the next Apply: %v", err)
	}
	runs(t, d, f, b, "after the next Apply")
}

// TestFaultLineRefused: the switch refuses a line of the change (a
// refused commit, IOS's way). Apply reverts at once (configure revert
// now) and says so; nothing of the change stays; the next Apply converges.
func TestFaultLineRefused(t *testing.T) {
	d := newDriver(t, `{"confirm_minutes": 1}`)
	a, b, ta, tb := twoConfigs(t, d)
	f, s := startFake(t, iosxefake.Options{Minute: faultMinute}, ta, tb)
	if err := d.Apply(t.Context(), s, a); err != nil {
		t.Fatal(err)
	}
	f.FailCommand("switchport access vlan 30", iosxefake.InvalidInput)
	err := d.Apply(t.Context(), s, b)
	if !errors.Is(err, drivers.ErrCheckFailed) || !strings.Contains(err.Error(), "previous configuration back in force") {
		t.Fatalf("Apply with a refused line: err = %v; want drivers.ErrCheckFailed saying the previous configuration is back", err)
	}
	if f.RevertPending() {
		t.Error("a revert timer still runs after configure revert now")
	}
	runs(t, d, f, a, "right after the refusal")
	f.FailCommand("switchport access vlan 30", "")
	if err := d.Apply(t.Context(), s, b); err != nil {
		t.Fatalf("the next Apply: %v", err)
	}
	runs(t, d, f, b, "after the next Apply")
}

// TestFaultNotConfirmed: configure confirm and configure revert now are
// both refused, so the change stays unconfirmed. Apply reports an unknown
// outcome; the new configuration runs until the timer, then the switch
// puts the previous one back by itself; the next Apply converges.
func TestFaultNotConfirmed(t *testing.T) {
	d := newDriver(t, `{"confirm_minutes": 1}`)
	a, b, ta, tb := twoConfigs(t, d)
	f, s := startFake(t, iosxefake.Options{Minute: faultMinute}, ta, tb)
	if err := d.Apply(t.Context(), s, a); err != nil {
		t.Fatal(err)
	}
	f.FailCommand("configure confirm", iosxefake.InvalidInput)
	f.FailCommand("configure revert now", iosxefake.InvalidInput)
	err := d.Apply(t.Context(), s, b)
	if !errors.Is(err, drivers.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "revert timer") {
		t.Fatalf("Apply with configure confirm refused: err = %v; want drivers.ErrOutcomeUnknown naming the revert timer", err)
	}
	if !f.RevertPending() {
		t.Fatal("no revert timer runs: the change was confirmed after all")
	}
	runs(t, d, f, b, "before the timer runs out (unconfirmed)")
	waitRevert(t, f)
	runs(t, d, f, a, "after the revert timer ran out")
	f.FailCommand("configure confirm", "")
	f.FailCommand("configure revert now", "")
	if err := d.Apply(t.Context(), s, b); err != nil {
		t.Fatalf("the next Apply: %v", err)
	}
	runs(t, d, f, b, "after the next Apply")
	if f.RevertPending() {
		t.Error("a revert timer still runs after a confirmed Apply")
	}
}

// TestApplyNothingToDo: applying what runs sends no configuration line.
func TestApplyNothingToDo(t *testing.T) {
	d := newDriver(t, "")
	a, _, ta, _ := twoConfigs(t, d)
	f, s := startFake(t, iosxefake.Options{}, ta)
	if err := d.Apply(t.Context(), s, a); err != nil {
		t.Fatal(err)
	}
	n := len(f.Log())
	if err := d.Apply(t.Context(), s, a); err != nil {
		t.Fatal(err)
	}
	for _, l := range f.Log()[n:] {
		if !strings.HasPrefix(l, "show ") {
			t.Errorf("a second Apply of the same configuration sent %q", l)
		}
	}
}

// TestReplayRunning replays a recorded session through scrapligo's file
// transport into Running and Parse: testdata/running.session was recorded
// from the fake with -update after applying both(); a session captured
// from a real switch (the device's side, as scrapligo's channel log
// writes it) can be dropped in beside it as a regression test.
func TestReplayRunning(t *testing.T) {
	d := newDriver(t, "")
	want, _, ta, _ := twoConfigs(t, d)
	path := filepath.Join("testdata", "running.session")
	if *update {
		f, s := startFake(t, iosxefake.Options{Privileged: true}, ta)
		if err := d.Apply(t.Context(), s, want); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		p, err := platform.NewPlatform(platformYAML, f.Host(),
			options.WithTransportType(transport.StandardTransport), options.WithPort(f.Port()),
			options.WithAuthUsername("ward"), options.WithAuthPassword("ward-test"),
			options.WithSSHKnownHostsFile(f.WriteKnownHosts(t)), options.WithTimeoutOps(10*time.Second),
			options.WithChannelLog(&log))
		if err != nil {
			t.Fatal(err)
		}
		nd, err := p.GetNetworkDriver()
		if err != nil {
			t.Fatal(err)
		}
		if err := nd.Open(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Running(t.Context(), netsessionOpen(nd)); err != nil {
			t.Fatal(err)
		}
		nd.Close()
		if err := os.WriteFile(path, log.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := platform.NewPlatform(platformYAML, "replay",
		options.WithTransportType(transport.FileTransport), options.WithFileTransportFile(path),
		options.WithTimeoutOps(30*time.Second), options.WithReadDelay(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := p.GetNetworkDriver()
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.Open(); err != nil {
		t.Fatalf("replaying %s: %v", path, err)
	}
	defer nd.Close()
	got, err := d.Running(t.Context(), netsessionOpen(nd))
	if err != nil {
		t.Fatalf("Running over the replayed session: %v", err)
	}
	if same, diff, err := drivers.Compare(d, want, got); err != nil || !same {
		t.Errorf("the replayed running configuration does not enforce both(): %v\n%s", err, diff)
	}
	// The recording is the switch's own form, not Render's text.
	if !strings.Contains(got.Text, "eq domain") {
		t.Errorf("the replayed configuration shows no IOS port name (eq domain):\n%s", got.Text)
	}
}

func netsessionOpen(nd *network.Driver) *netsession.Session { return netsession.Open("replay", nd) }

// TestApplyKeepsQuarantinedPort: a port in the quarantine VLAN stays
// there through an Apply that gives it another VLAN; its description takes
// the new VLAN, where release then moves it.
func TestApplyKeepsQuarantinedPort(t *testing.T) {
	d := newDriver(t, "")
	a, b, ta, tb := twoConfigs(t, d)
	f, s := startFake(t, iosxefake.Options{}, ta, tb)
	if err := d.Apply(t.Context(), s, a); err != nil {
		t.Fatal(err)
	}
	const port = "GigabitEthernet1/0/10" // Gi1/0/10: VLAN 20 in a, 30 in b
	vs := d.(drivers.VLANSetter)
	if err := vs.SetPortVLAN(t.Context(), s, "Gi1/0/10", 999); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(t.Context(), s, b); err != nil {
		t.Fatal(err)
	}
	q, err := d.(drivers.QuarantineReader).ReadQuarantine(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if q.Ports[port] != 30 {
		t.Fatalf("after an Apply giving the quarantined port VLAN 30: quarantine ports %v, want %s home 30", q.Ports, port)
	}
	if !strings.Contains(f.Running(), "interface "+port+"\n description ward vlan 30 device d3 zone b\n switchport access vlan 999\n") {
		t.Errorf("the port left the quarantine VLAN or kept its old description:\n%s", f.Running())
	}
	runs(t, d, f, b, "with the port in quarantine")
	if err := vs.SetPortVLAN(t.Context(), s, port, 30); err != nil {
		t.Fatal(err)
	}
	if q, _ := d.(drivers.QuarantineReader).ReadQuarantine(t.Context(), s); len(q.Ports) != 0 {
		t.Errorf("after release: quarantine ports %v", q.Ports)
	}
}
