package juniperjunos

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sopts "github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/transport"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/juniperjunos/junosfake"
	"github.com/wardnet/ward/drivers/netsession"
	"github.com/wardnet/ward/internal/intent"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// small is an L3 switch intent covering each thing Render writes, small
// enough for fault tests: two zones, a network, an essential rule, UDP,
// ICMP echo, a monitor zone, quarantine with remediation, two ports.
func small(vlanB int) *intent.Target {
	return &intent.Target{
		Name: "small", Driver: driverName, Roles: []string{intent.RoleAccessSwitch, intent.RoleFirewall},
		Firewall: &intent.Firewall{
			Sets: []intent.AddressSet{
				{Name: "net_dns", Kind: "network", Of: "dns", V4: prefixes("192.0.2.53/32")},
				{Name: "zone_a", Kind: "zone", Of: "a", V4: prefixes("10.1.0.0/24", "10.1.1.5/32")},
				{Name: "zone_b", Kind: "zone", Of: "b", V4: prefixes("10.2.0.0/16")},
			},
			Rules: []intent.Rule{
				{From: "zone_a", To: "zone_b", Proto: "tcp", Ports: []intent.Ports{{From: 443, To: 443}}, Essential: true},
				{From: "zone_a", To: "net_dns", Proto: "udp", Ports: []intent.Ports{{From: 53, To: 53}}},
				{From: "zone_b", To: "zone_a", Proto: "icmp", ICMPTypes: []string{"echo-request"}},
				{From: "net_dns", To: "zone_b", Proto: "tcp", Ports: []intent.Ports{{From: 8000, To: 8100}}},
			},
			Monitor:       []string{"zone_b"},
			DefaultAction: "drop",
			Quarantine:    intent.Quarantine{IsolateSet: "quarantine_isolate", RestrictSet: "quarantine_restrict", Remediation: []string{"net_dns"}},
			Zones:         []intent.Zone{{Name: "a", VLAN: 10, Set: "zone_a"}, {Name: "b", VLAN: vlanB, Set: "zone_b", Monitor: true}, {Name: "empty", VLAN: 30}},
		},
		Switch: &intent.Switch{QuarantineVLAN: 999, Ports: []intent.PortVLAN{
			{Port: "ge-0/0/5", VLAN: 10, Device: "d1", Zone: "a"},
			{Port: "GE-0/0/6.0", VLAN: vlanB, Device: "d2", Zone: "b"},
		}},
	}
}

func mustRender(t *testing.T, d drivers.Driver, tg *intent.Target) drivers.Config {
	t.Helper()
	c, err := d.Render(tg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// faultSetup applies small(20) on a fresh fake and returns what it runs.
func faultSetup(t *testing.T) (*junosfake.Fake, *junosfake.ManualClock, drivers.Driver, string) {
	t.Helper()
	f, clock := startFake(t)
	d := newDriver(t, `{"commit_confirm_minutes": 2}`)
	if err := d.Apply(t.Context(), dial(t, f), mustRender(t, d, small(20))); err != nil {
		t.Fatal(err)
	}
	return f, clock, d, f.Running()
}

// converges checks the next Apply, on a new session, makes the device run
// cfg.
func converges(t *testing.T, f *junosfake.Fake, d drivers.Driver, cfg drivers.Config) {
	t.Helper()
	s := dial(t, f)
	if err := d.Apply(t.Context(), s, cfg); err != nil {
		t.Fatalf("the next Apply: %v", err)
	}
	running, err := d.Running(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if running != cfg {
		t.Errorf("after the next Apply, Running differs (-applied +running):\n%s", drivertest.Diff(cfg.Text, running.Text))
	}
	checkOwnKept(t, f)
}

func samePrevious(t *testing.T, f *junosfake.Fake, previous string) {
	t.Helper()
	if got := f.Running(); got != previous {
		t.Errorf("the previous configuration is not in force (-previous +running):\n%s", drivertest.Diff(previous, got))
	}
}

func TestFaultConnectionDroppedMidPush(t *testing.T) {
	f, _, d, previous := faultSetup(t)
	next := mustRender(t, d, small(21))
	f.DropAfterConfigLines(5)
	err := d.Apply(t.Context(), dial(t, f), next)
	if !errors.Is(err, drivers.ErrSessionBroken) || !strings.Contains(err.Error(), "previous configuration is in force") {
		t.Fatalf("Apply cut mid-push: err = %v; want ErrSessionBroken saying the previous configuration is in force", err)
	}
	f.DropAfterConfigLines(0)
	samePrevious(t, f, previous)
	converges(t, f, d, next)
}

func TestFaultCommitRefused(t *testing.T) {
	f, _, d, previous := faultSetup(t)
	next := mustRender(t, d, small(21))
	f.RefuseCommits("commit script ward-test failed")
	err := d.Apply(t.Context(), dial(t, f), next)
	if !errors.Is(err, drivers.ErrCheckFailed) || !strings.Contains(err.Error(), "previous configuration is in force") ||
		!strings.Contains(err.Error(), "commit script ward-test failed") {
		t.Fatalf("Apply with commits refused: err = %v; want ErrCheckFailed with the device's message, saying the previous configuration is in force", err)
	}
	samePrevious(t, f, previous)
	f.RefuseCommits("")
	converges(t, f, d, next)
}

// TestFaultConfirmLost: the session stalls at the confirming commit; the
// device, never confirmed, rolls the change back by itself once its timer
// passes.
func TestFaultConfirmLost(t *testing.T) {
	f, clock, d, previous := faultSetup(t)
	next := mustRender(t, d, small(21))
	f.StallOn("commit")
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Second)
	defer cancel()
	s := dialTimeout(t, f, 2*time.Second)
	err := d.Apply(ctx, s, next)
	if !errors.Is(err, drivers.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "rolls the change back by itself within 2 minutes") {
		t.Fatalf("Apply whose confirming commit never answered: err = %v; want ErrOutcomeUnknown saying the device rolls back by itself", err)
	}
	f.StallOn("")
	// The stalled session holds configure exclusive until its connection
	// is gone (scrapligo's close first tries the platform's on-close
	// commands, which time out on a stalled device).
	s.Close()
	waitUnlocked(t, f)
	if !f.ConfirmPending() {
		t.Fatal("no commit confirmed pending on the device")
	}
	clock.Advance(3 * time.Minute)
	if f.ConfirmPending() {
		t.Fatal("the device did not roll back when the timer passed")
	}
	samePrevious(t, f, previous)
	converges(t, f, d, next)
}

// waitUnlocked waits until a new session may take configure exclusive
// (the fake releases it when the stalled session's connection is gone).
func waitUnlocked(t *testing.T, f *junosfake.Fake) {
	t.Helper()
	s := dial(t, f)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Interact(t.Context(), "configure exclusive")
		if err == nil {
			if _, err := s.Interact(t.Context(), "exit configuration-mode"); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled session still holds configure exclusive: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestFaultLocked: another session holds configure exclusive: nothing is
// loaded and the error says so.
func TestFaultLocked(t *testing.T) {
	f, _, d, previous := faultSetup(t)
	other := dial(t, f)
	if _, err := other.Interact(t.Context(), "configure exclusive"); err != nil {
		t.Fatal(err)
	}
	err := d.Apply(t.Context(), dial(t, f), mustRender(t, d, small(21)))
	if err == nil || !strings.Contains(err.Error(), "locked") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("Apply while another session holds the lock: err = %v", err)
	}
	samePrevious(t, f, previous)
}

// recordOrReplay opens a session for the replay test: with -update, to the
// fake, logging every byte the device sends to testdata/name; without, from
// that file through scrapligo's file transport (a session captured from a
// real device can be dropped in the same way).
func recordOrReplay(t *testing.T, name string) (*netsession.Session, func() [][]byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		f, _ := startFake(t)
		host, port, _ := net.SplitHostPort(f.Addr())
		p, _ := strconv.Atoi(port)
		var log bytes.Buffer
		pl, err := platform.NewPlatform(platformYAML, host, sopts.WithTransportType(transport.StandardTransport),
			sopts.WithPort(p), sopts.WithAuthUsername("ward"), sopts.WithAuthPassword(testPassword),
			sopts.WithSSHKnownHostsFile(f.KnownHosts(t)), sopts.WithTermWidth(511), sopts.WithChannelLog(&log))
		if err != nil {
			t.Fatal(err)
		}
		nd, err := pl.GetNetworkDriver()
		if err != nil {
			t.Fatal(err)
		}
		if err := nd.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// What the driver sent, before the close adds the platform's exit.
			sent := strings.Join(f.Log(), "\n") + "\n"
			nd.Close()
			if err := os.WriteFile(path, log.Bytes(), 0o644); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(path+".sent", []byte(sent), 0o644); err != nil {
				t.Error(err)
			}
		})
		return netsession.Open("replay", nd), nil
	}
	pl, err := platform.NewPlatform(platformYAML, "replay", sopts.WithTransportType(transport.FileTransport),
		sopts.WithFileTransportFile(path), sopts.WithTransportReadSize(1), sopts.WithReadDelay(0),
		sopts.WithTimeoutOps(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := pl.GetNetworkDriver()
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.Open(); err != nil {
		t.Fatalf("replaying %s: %v", path, err)
	}
	ft := nd.Transport.Impl.(*transport.File)
	return netsession.Open("replay", nd), func() [][]byte { return ft.Writes }
}

// TestReplay replays a recorded session: Running on a switch with its own
// configuration, an Apply, Running again. The driver must read the
// device's output and send the same commands as when it was recorded.
func TestReplay(t *testing.T) {
	d := newDriver(t, `{"commit_confirm_minutes": 2}`)
	cfg := mustRender(t, d, small(20))
	s, writes := recordOrReplay(t, "apply.session")
	ctx := t.Context()
	before, err := d.Running(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if before.Text != "" {
		t.Errorf("Running on a switch with none of Ward's configuration: %q, want nothing", before.Text)
	}
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	after, err := d.Running(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if after != cfg {
		t.Errorf("Running after Apply (-applied +running):\n%s", drivertest.Diff(cfg.Text, after.Text))
	}
	if writes == nil {
		return
	}
	sent, err := os.ReadFile(filepath.Join("testdata", "apply.session.sent"))
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, w := range writes() {
		got.Write(w)
	}
	// Each line the device received when the session was recorded was
	// sent again, in order.
	rest := got.String()
	for _, line := range strings.Split(strings.TrimSuffix(string(sent), "\n"), "\n") {
		i := strings.Index(rest, line)
		if i < 0 {
			t.Fatalf("the replay did not send %q (in order) as the recorded session did", line)
		}
		rest = rest[i+len(line):]
	}
}
