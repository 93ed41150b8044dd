package quarantine

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/clifake"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/localsession"
	"github.com/wardnet/ward/drivers/sshsession"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// blackhole accepts TCP connections and never answers on them, as a
// firewall does whose packets are dropped once the handshake is done (or
// a device hung mid-session): an SSH client waits for the banner until its
// own timeout. It returns the port.
func blackhole(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(clifake.Blackhole(t))
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBlackholedTargetDelaysOnlyItself: during an alert storm one of two
// firewalls drops everything (its SSH dial is never answered). Every alert
// is decided and recorded within 50 ms, and every device an alert
// contains is in the right set of the other, real nftables firewall within
// a second of its alert; the dead firewall's failures are reported on its
// jobs, on the quarantines and to the metric hook.
func TestBlackholedTargetDelaysOnlyItself(t *testing.T) {
	drivertest.NeedRoot(t, "nft in a network namespace")
	ns := realFirewall(t)
	port := blackhole(t)
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(knownHosts, nil, 0o600)

	ctx := t.Context()
	st := seededStore(t, "sqlite://"+filepath.Join(t.TempDir(), "ward.db"))
	if err := st.SaveTargetState(ctx, store.TargetState{Target: "edge-fw", Content: "{}", Hash: "x", AppliedAt: time.Now()},
		store.AuditEntry{Actor: "test", Action: "apply.target", Object: "edge-fw"}); err != nil {
		t.Fatal(err)
	}
	dial := func(ctx context.Context, target string) (drivers.Session, error) {
		switch target {
		case "core-fw":
			return localsession.New(localsession.Options{Netns: ns}), nil
		case "edge-fw":
			// The real SSH client, with its production timeout (15 s):
			// the pool's own dial deadline must cut it short.
			return sshsession.Dial(ctx, sshsession.Target{Name: target, Address: "127.0.0.1", Port: port, Username: "ward",
				KnownHosts: knownHosts, Timeout: 15 * time.Second}, sshsession.Credential{Password: "x"})
		}
		return nil, fmt.Errorf("no target %q in this test", target)
	}
	m, cfg := realManager(t, st, dial, func(cfg *policy.Config) {
		cfg.Targets["edge-fw"] = &policy.Target{Name: "edge-fw", Driver: "linux_nftables", Roles: []string{"firewall"},
			Address: "127.0.0.1", Port: port, Username: "ward", Credential: "edge-fw", KnownHosts: knownHosts}
	})
	// The pool's dial deadline, not the SSH client's 15 s, cuts the dead
	// one short; shorter than the default to keep the test quick.
	const dialTimeout = 3 * time.Second
	m.pool.SetDialTimeout(dialTimeout)
	var pushErrs sync.Map
	m.onPushErr = func(target string, _ error) { pushErrs.Store(target, true) }
	owner := jobs.NewOwner(st, jobs.OwnerOptions{})
	q := jobs.NewQueue(st, owner, jobs.QueueOptions{})
	m.Jobs(q, owner)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); q.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	// The storm: an alert every 10 ms for different devices, more than
	// max_auto_per_hour of them.
	devices, err := st.CurrentDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	devices = slices.DeleteFunc(devices, func(d store.Device) bool { return d.IP == "" || d.Labels["protected"] == "true" })
	n := cfg.Quarantine.MaxAutoPerHour + 10
	if len(devices) < n {
		t.Fatalf("%d devices in the example inventory, want at least %d", len(devices), n)
	}
	type sent struct {
		r    Result
		ip   string
		at   time.Time
		took time.Duration
	}
	results := make([]sent, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := alert.Alert{Format: "generic", Source: "ids", ID: fmt.Sprintf("storm-%d", i), Severity: "critical",
				Addresses: []netip.Addr{netip.MustParseAddr(devices[i].IP)}, Signature: "ET TROJAN storm", Raw: []byte("{}")}
			start := time.Now()
			rs, err := m.Intake(ctx, []alert.Alert{a})
			took := time.Since(start)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = sent{r: rs[0], ip: devices[i].IP, at: start, took: took}
		})
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()

	contained := 0
	var slowestContainment time.Duration
	for _, s := range results {
		if s.took > 50*time.Millisecond {
			t.Errorf("alert %s (%s) took %s to decide and record, want under 50 ms: intake must not wait on a target", s.r.ID, s.ip, s.took)
		}
		set := map[string]string{LevelIsolate: intent.IsolateSet, LevelRestrict: intent.RestrictSet}[s.r.Action]
		if set == "" {
			continue
		}
		contained++
		deadline := s.at.Add(time.Second)
		for !slices.Contains(setMembers(t, ns, set+"_v4"), s.ip) {
			if time.Now().After(deadline) {
				t.Fatalf("%s (%s, %s) is not in core-fw's %s a second after its alert, while edge-fw is dead", s.r.Device, s.ip, s.r.Action, set)
			}
			time.Sleep(20 * time.Millisecond)
		}
		slowestContainment = max(slowestContainment, time.Since(s.at))
	}
	if contained == 0 || contained > cfg.Quarantine.MaxAutoPerHour {
		t.Fatalf("%d devices contained by %d alerts, want 1 to max_auto_per_hour (%d)", contained, n, cfg.Quarantine.MaxAutoPerHour)
	}
	var slowest time.Duration
	for _, s := range results {
		slowest = max(slowest, s.took)
	}
	t.Logf("%d alerts, %d contained on core-fw within a second each (slowest %s); slowest intake %s", n, contained,
		slowestContainment.Round(time.Millisecond), slowest.Round(time.Microsecond))

	// The dead firewall is reported: on its jobs, on the quarantines
	// (naming it and only it), to the metric hook.
	deadline := time.Now().Add(3 * dialTimeout)
	for {
		list, err := m.List(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		reported := slices.ContainsFunc(list, func(l Listed) bool { return strings.Contains(l.EnforceError, "edge-fw") })
		_, counted := pushErrs.Load("edge-fw")
		if reported && counted {
			for _, l := range list {
				if strings.Contains(l.EnforceError, "core-fw") {
					t.Errorf("quarantine #%d blames core-fw, which answered: %s", l.ID, l.EnforceError)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead firewall was not reported within %s: on a quarantine %v, to the metric %v", 3*dialTimeout, reported, counted)
		}
		time.Sleep(100 * time.Millisecond)
	}
	all, err := st.ListJobs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(j store.Job) bool { return j.Target == "edge-fw" && strings.Contains(j.LastError, "edge-fw") }) {
		t.Errorf("no job of edge-fw records why it failed: %+v", all)
	}
	if _, bad := pushErrs.Load("core-fw"); bad {
		t.Error("a push to core-fw was counted as failed")
	}

	// Reconcile with the dead firewall: core-fw is reconciled (a member
	// lost by hand is back), edge-fw is reported, and the whole takes the
	// dead one's dial timeout, not its SSH client's.
	lost := results[0].ip
	for _, s := range results {
		if s.r.Action == LevelIsolate || s.r.Action == LevelRestrict {
			lost = s.ip
			set := map[string]string{LevelIsolate: intent.IsolateSet, LevelRestrict: intent.RestrictSet}[s.r.Action] + "_v4"
			if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "delete", "element", "inet", "ward", set, "{", lost, "}").CombinedOutput(); err != nil {
				t.Fatalf("deleting %s from %s by hand: %v %s", lost, set, err, out)
			}
			break
		}
	}
	start := time.Now()
	rep, err := m.Reconcile(ctx)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Errors, func(e string) bool { return strings.HasPrefix(e, "edge-fw: ") }) || slices.ContainsFunc(rep.Errors, func(e string) bool { return strings.HasPrefix(e, "core-fw") }) {
		t.Errorf("reconcile errors %q, want edge-fw's only", rep.Errors)
	}
	if !slices.ContainsFunc(rep.Added, func(a string) bool { return strings.HasPrefix(a, "core-fw: ") && strings.Contains(a, lost) }) {
		t.Errorf("reconcile added %q, want %s back on core-fw", rep.Added, lost)
	}
	if took > ReconcileDeadline {
		t.Errorf("reconcile took %s with a dead target, want at most %s", took, ReconcileDeadline)
	}
	t.Logf("reconcile with a dead target took %s", took.Round(time.Millisecond))
}
