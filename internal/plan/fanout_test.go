package plan

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/clifake"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
	"github.com/wardnet/ward/policy"
	gossh "golang.org/x/crypto/ssh"
)

// The fan-out fixture: a fleet of SSH servers (gliderlabs/ssh, one per
// target, each with its own host key) that take a configuration in one
// command, as nft -f does: the new configuration is in force only once the
// push has run to its end, never part of it.

const (
	fanUser     = "ward"
	fanPassword = "fan-out"
	// fanDialTimeout bounds the SSH connection and handshake, as
	// sshsession.Target.Timeout does for a real target: a target that
	// accepts TCP and never answers fails after it.
	fanDialTimeout = 2 * time.Second
)

// fanDevice is one fake firewall.
type fanDevice struct {
	mu       sync.Mutex
	running  string   // the configuration in force
	received []string // every configuration pushed to it, at receipt
}

func (d *fanDevice) state() (string, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running, append([]string(nil), d.received...)
}

// fanFleet is the fleet and the per-target addresses a dial goes to.
type fanFleet struct {
	delay   time.Duration // how long each push takes on the device
	devices map[string]*fanDevice
	servers map[string]*clifake.Server
	addr    map[string]string // target → host:port; changed only between applies
	hostKey map[string]gossh.PublicKey

	inflight, maxInflight atomic.Int64
}

func newFanFleet(t testing.TB, names []string, delay time.Duration) *fanFleet {
	t.Helper()
	f := &fanFleet{delay: delay, devices: map[string]*fanDevice{}, servers: map[string]*clifake.Server{},
		addr: map[string]string{}, hostKey: map[string]gossh.PublicKey{}}
	for _, name := range names {
		dev := &fanDevice{}
		srv := clifake.Start(t, "fanout", clifake.Auth{User: fanUser, Password: fanPassword}, f.handler(dev))
		f.devices[name], f.servers[name] = dev, srv
		f.addr[name], f.hostKey[name] = srv.Addr(), srv.HostKey()
	}
	return f
}

// handler serves "apply TEXT" (takes f.delay, then TEXT is in force) and
// "show running".
func (f *fanFleet) handler(dev *fanDevice) ssh.Handler {
	return func(s ssh.Session) {
		cmd := s.RawCommand()
		switch {
		case strings.HasPrefix(cmd, "apply "):
			text := strings.TrimPrefix(cmd, "apply ")
			dev.mu.Lock()
			dev.received = append(dev.received, text)
			dev.mu.Unlock()
			n := f.inflight.Add(1)
			for {
				m := f.maxInflight.Load()
				if n <= m || f.maxInflight.CompareAndSwap(m, n) {
					break
				}
			}
			select {
			case <-time.After(f.delay):
			case <-s.Context().Done():
				f.inflight.Add(-1)
				s.Exit(1) // cut before the end: the old configuration stays
				return
			}
			dev.mu.Lock()
			dev.running = text
			dev.mu.Unlock()
			// Out of flight before the client hears the end, so the push it
			// starts next never counts beside this one.
			f.inflight.Add(-1)
			s.Exit(0)
		case cmd == "show running":
			running, _ := dev.state()
			fmt.Fprint(s, running)
			s.Exit(0)
		default:
			fmt.Fprintf(s.Stderr(), "unknown command %q\n", cmd)
			s.Exit(127)
		}
	}
}

// refuse stops target's server: its port refuses connections.
func (f *fanFleet) refuse(target string) { f.servers[target].Close() }

// hang points target at a listener that accepts TCP and never speaks, as
// a device whose sshd is wedged.
func (f *fanFleet) hang(t testing.TB, target string) { f.addr[target] = clifake.Blackhole(t) }

// dial is a DialFunc over real SSH to the fleet, the host key pinned.
func (f *fanFleet) dial(ctx context.Context, target string) (drivers.Session, error) {
	addr, ok := f.addr[target]
	if !ok {
		return nil, fmt.Errorf("target %q is not in the fleet", target)
	}
	dctx, cancel := context.WithTimeout(ctx, fanDialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("target %s: connecting to %s: %w", target, addr, err)
	}
	deadline, _ := dctx.Deadline()
	conn.SetDeadline(deadline)
	cfg := &gossh.ClientConfig{User: fanUser, Auth: []gossh.AuthMethod{gossh.Password(fanPassword)},
		HostKeyCallback: gossh.FixedHostKey(f.hostKey[target])}
	c, chans, reqs, err := gossh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("target %s: SSH handshake with %s: %w", target, addr, err)
	}
	conn.SetDeadline(time.Time{})
	return &fanSession{c: gossh.NewClient(c, chans, reqs)}, nil
}

type fanSession struct{ c *gossh.Client }

func (s *fanSession) Run(ctx context.Context, cmd string) (string, error) {
	sess, err := s.c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	out, err := sess.CombinedOutput(cmd)
	return string(out), err
}

func (s *fanSession) Close() error { return s.c.Close() }

// fanPolicy writes a policy of n linux_nftables firewalls (fw-000...) into
// dir; dicomPort changes every firewall's configuration.
func fanPolicy(t testing.TB, dir string, n, dicomPort int) []string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `settings {
  default_zone   = "workstations"
  default_action = "deny"
}
zone "workstations" {
  criticality = "medium"
  vlan        = 500
  subnets     = ["10.50.0.0/16"]
}
zone "pacs" {
  criticality = "high"
  vlan        = 410
  subnets     = ["10.41.0.0/16"]
}
service "dicom" { tcp = [%d] }
flow "workstations_to_pacs" {
  from     = zone.workstations
  to       = zone.pacs
  services = [service.dicom]
  reason   = "Image viewing"
  ticket   = "CHG-200"
}
`, dicomPort)
	var names []string
	for i := range n {
		name := fmt.Sprintf("fw-%03d", i)
		names = append(names, name)
		fmt.Fprintf(&b, `target %q {
  driver      = "linux_nftables"
  address     = "10.250.%d.%d"
  port        = 22
  username    = "ward"
  credential  = "fw"
  known_hosts = "/etc/ward/known_hosts"
  role        = "firewall"
}
`, name, 1+i/250, 1+i%250)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.hcl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return names
}

// fanPlan plans the policy in dir against st.
func fanPlan(t testing.TB, dir string, st *store.Store, reg *drivers.Registry) *Plan {
	t.Helper()
	cfg, diags := policy.NewParser(policy.WithDrivers(reg.RolesByName()), policy.WithClock(fixedNow)).LoadDir(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p, diags := Build(context.Background(), cfg, nil, Options{PolicyDir: dir, Now: fixedNow, Store: st, Drivers: reg})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return p
}

func fanStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "ward.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// reportLog collects OnResult's calls and notices overlapping ones.
type reportLog struct {
	busy    atomic.Bool
	overlap atomic.Bool
	mu      sync.Mutex
	got     []PushResult
}

func (l *reportLog) onResult(r PushResult) {
	if !l.busy.CompareAndSwap(false, true) {
		l.overlap.Store(true)
	}
	time.Sleep(time.Millisecond) // widen the window an unserialised call would hit
	l.mu.Lock()
	l.got = append(l.got, r)
	l.mu.Unlock()
	l.busy.Store(false)
}

// An apply to 200 targets, 5 of them dead (3 refusing connections, 2
// accepting TCP and never answering SSH): the 195 run and record the new
// configuration, the 5 are reported failed with why, keep the
// configuration they ran and the state recorded for them, and received
// nothing; each result is reported once, as it finishes, one report at a
// time; and no more than Parallel pushes run at once.
func TestApplyFanOut200WithDeadTargets(t *testing.T) {
	const n, parallel = 200, 32
	ctx := context.Background()
	dir := t.TempDir()
	st := fanStore(t)
	reg := fakeRegistry()
	names := fanPolicy(t, dir, n, 104)
	fleet := newFanFleet(t, names, 500*time.Millisecond)

	// Every target first runs the old configuration, applied by Ward.
	old := fanPlan(t, dir, st, reg)
	if got := len(old.Changed()); got != n {
		t.Fatalf("the first plan changes %d targets, want %d", got, n)
	}
	res, err := ApplyWith(ctx, old, ApplyOptions{Drivers: reg, Store: st, Dial: fleet.dial, Actor: "test", Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != "applied" {
			t.Fatalf("first apply: %+v", r)
		}
	}
	oldConfig, oldHash := map[string]string{}, map[string]string{}
	for _, tp := range old.Changed() {
		oldConfig[tp.Name] = tp.Config
		if oldHash[tp.Name], err = CurrentBaseHash(ctx, st, tp.Name); err != nil {
			t.Fatal(err)
		}
	}

	dead := map[string]string{ // target → what its error must say
		"fw-007": "connection refused", "fw-058": "connection refused", "fw-199": "connection refused",
		"fw-100": "SSH handshake", "fw-131": "SSH handshake",
	}
	for name, why := range dead {
		if why == "connection refused" {
			fleet.refuse(name)
		} else {
			fleet.hang(t, name)
		}
	}
	fanPolicy(t, dir, n, 11112)
	p := fanPlan(t, dir, st, reg)
	if got := len(p.Changed()); got != n {
		t.Fatalf("the second plan changes %d targets, want %d", got, n)
	}
	fleet.maxInflight.Store(0)
	var log reportLog
	res, err = ApplyWith(ctx, p, ApplyOptions{Drivers: reg, Store: st, Dial: fleet.dial, Actor: "test", Parallel: parallel, OnResult: log.onResult})
	if err != nil {
		t.Fatal(err)
	}

	if log.overlap.Load() {
		t.Error("OnResult was called again before its previous call returned")
	}
	if len(log.got) != n {
		t.Errorf("OnResult was called %d times, want once per target (%d)", len(log.got), n)
	}
	reported := map[string]PushResult{}
	for _, r := range log.got {
		if _, twice := reported[r.Target]; twice {
			t.Errorf("%s reported twice", r.Target)
		}
		reported[r.Target] = r
	}
	if m := fleet.maxInflight.Load(); m > parallel || m < 2 {
		t.Errorf("%d pushes ran at once at most; want between 2 and Parallel (%d)", m, parallel)
	}

	applied := 0
	for _, r := range res {
		if reported[r.Target] != r {
			t.Errorf("%s: reported %+v, returned %+v", r.Target, reported[r.Target], r)
		}
		tp := targetNamed(p, r.Target)
		running, received := fleet.devices[r.Target].state()
		hash, err := CurrentBaseHash(ctx, st, r.Target)
		if err != nil {
			t.Fatal(err)
		}
		why, isDead := dead[r.Target]
		if !isDead {
			if r.Status != "applied" {
				t.Errorf("%s: %+v, want applied", r.Target, r)
				continue
			}
			applied++
			if running != tp.Config || len(received) != 2 || received[1] != tp.Config {
				t.Errorf("%s: runs %q after receiving %d configurations; want the new one, received once", r.Target, running, len(received)-1)
			}
			if hash == oldHash[r.Target] {
				t.Errorf("%s: applied but the state recorded for it is still the old one", r.Target)
			}
			continue
		}
		if r.Status != "failed" || !strings.Contains(r.Error, why) || !strings.Contains(r.Error, r.Target) {
			t.Errorf("%s: %+v, want failed with an error naming it and saying %q", r.Target, r, why)
		}
		if running != oldConfig[r.Target] || len(received) != 1 {
			t.Errorf("%s (dead): runs %q after receiving %d configurations since the first apply; want the old one, nothing received", r.Target, running, len(received)-1)
		}
		if hash != oldHash[r.Target] {
			t.Errorf("%s (dead): the state recorded for it changed (%s → %s)", r.Target, oldHash[r.Target], hash)
		}
	}
	if applied != n-len(dead) {
		t.Errorf("%d targets applied, want %d", applied, n-len(dead))
	}
}

func targetNamed(p *Plan, name string) *TargetPlan {
	for i := range p.Targets {
		if p.Targets[i].Name == name {
			return &p.Targets[i]
		}
	}
	return nil
}

// BenchmarkApplyFanOut200 is one apply to 200 SSH targets each taking
// 0.5 s to commit, at DefaultParallel, recorded in SQLite: ns/op is the
// elapsed time of one apply (the plan is made outside the timer).
//
//	go test ./internal/plan -run '^$' -bench ApplyFanOut200 -benchtime 3x
func BenchmarkApplyFanOut200(b *testing.B) { benchFanOut(b, fanStore(b), nil) }

// BenchmarkApplyFanOut200Postgres is BenchmarkApplyFanOut200 on
// PostgreSQL, reporting the peak number of the database's sessions during
// the applies (pg-sessions): what one replica's apply asks of
// max_connections.
func BenchmarkApplyFanOut200Postgres(b *testing.B) {
	url := pgtest.URL(b)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	mon, err := store.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mon.Close() })
	benchFanOut(b, st, mon)
}

// benchFanOut applies to 200 targets of 0.5 s each per iteration; with
// mon, it samples the database's sessions every 20 ms and reports the
// peak.
func benchFanOut(b *testing.B, st, mon *store.Store) {
	const n = 200
	ctx := context.Background()
	dir := b.TempDir()
	reg := fakeRegistry()
	peak := 0
	if mon != nil {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if c, err := mon.DatabaseSessions(ctx); err == nil {
					peak = max(peak, c)
				}
			}
		}()
		defer func() {
			close(stop)
			<-done
			b.ReportMetric(float64(peak), "pg-sessions")
		}()
	}
	names := fanPolicy(b, dir, n, 104)
	fleet := newFanFleet(b, names, 500*time.Millisecond)
	port := 104
	for b.Loop() {
		b.StopTimer()
		port++ // every target changes in every apply
		fanPolicy(b, dir, n, port)
		p := fanPlan(b, dir, st, reg)
		b.StartTimer()
		res, err := ApplyWith(ctx, p, ApplyOptions{Drivers: reg, Store: st, Dial: fleet.dial, Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if len(res) != n {
			b.Fatalf("%d results, want %d", len(res), n)
		}
		for _, r := range res {
			if r.Status != "applied" {
				b.Fatalf("%+v", r)
			}
		}
	}
}
