package quarantine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

const (
	examplePolicy    = "../../examples/hospital/policy"
	exampleInventory = "../../examples/hospital/inventory.csv"
)

// fakeTargets is the quarantine state of the example's core-fw and
// access-ovs, kept in memory by a fake driver that records every call.
type fakeTargets struct {
	mu    sync.Mutex
	sets  map[string]map[string]map[string]bool // target -> set -> addr
	ports map[string]map[string]int             // target -> port -> vlan
	calls []string
	fail  map[string]error // target -> error for every call
	// failNext fails the next call of one kind on one target ("core-fw
	// remove") with its error, changing nothing, once.
	failNext map[string]error
	dials    int
	// onRead, when set (before the Manager runs), is called with the
	// target before each ReadQuarantine: a test stops a process there.
	onRead func(target string)
}

func newFakeTargets() *fakeTargets {
	return &fakeTargets{sets: map[string]map[string]map[string]bool{}, ports: map[string]map[string]int{}, fail: map[string]error{}, failNext: map[string]error{}}
}

type fakeSession struct{ target string }

func (s *fakeSession) Run(context.Context, string) (string, error) { return "", nil }
func (s *fakeSession) Close() error                                { return nil }

type fakeDriver struct{ f *fakeTargets }

func (d fakeDriver) Render(*intent.Target) (drivers.Config, error)                { return drivers.Config{}, nil }
func (d fakeDriver) Apply(context.Context, drivers.Session, drivers.Config) error { return nil }
func (d fakeDriver) Running(context.Context, drivers.Session) (drivers.Config, error) {
	return drivers.Config{}, nil
}

func (d fakeDriver) call(s drivers.Session, format string, a ...any) error {
	t := s.(*fakeSession).target
	d.f.calls = append(d.f.calls, t+": "+fmt.Sprintf(format, a...))
	if k := t + " " + strings.Fields(format)[0]; d.f.failNext[k] != nil {
		err := d.f.failNext[k]
		delete(d.f.failNext, k)
		return err
	}
	return d.f.fail[t]
}

func (d fakeDriver) AddToSet(_ context.Context, s drivers.Session, set string, addrs []string) error {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	if err := d.call(s, "add %s %s", set, strings.Join(addrs, ",")); err != nil {
		return err
	}
	t := s.(*fakeSession).target
	if d.f.sets[t] == nil {
		d.f.sets[t] = map[string]map[string]bool{}
	}
	if d.f.sets[t][set] == nil {
		d.f.sets[t][set] = map[string]bool{}
	}
	for _, a := range addrs {
		d.f.sets[t][set][a] = true
	}
	return nil
}

func (d fakeDriver) RemoveFromSet(_ context.Context, s drivers.Session, set string, addrs []string) error {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	if err := d.call(s, "remove %s %s", set, strings.Join(addrs, ",")); err != nil {
		return err
	}
	for _, a := range addrs {
		delete(d.f.sets[s.(*fakeSession).target][set], a)
	}
	return nil
}

func (d fakeDriver) SetPortVLAN(_ context.Context, s drivers.Session, port string, vlan int) error {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	if err := d.call(s, "port %s vlan %d", port, vlan); err != nil {
		return err
	}
	t := s.(*fakeSession).target
	if d.f.ports[t] == nil {
		d.f.ports[t] = map[string]int{}
	}
	d.f.ports[t][port] = vlan
	return nil
}

func (d fakeDriver) ReadQuarantine(_ context.Context, s drivers.Session) (drivers.QuarantineState, error) {
	if d.f.onRead != nil {
		d.f.onRead(s.(*fakeSession).target)
	}
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	t := s.(*fakeSession).target
	if err := d.f.fail[t]; err != nil {
		return drivers.QuarantineState{}, err
	}
	q := drivers.QuarantineState{Sets: map[string][]string{}, Ports: map[string]int{}}
	for set, m := range d.f.sets[t] {
		for a := range m {
			q.Sets[set] = append(q.Sets[set], a)
		}
	}
	for p, v := range d.f.ports[t] {
		if v == 999 {
			q.Ports[p] = 0
		}
	}
	return q, nil
}

// in reports whether addr is in a set on core-fw.
func (f *fakeTargets) in(set, addr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sets["core-fw"][set][addr]
}

func (f *fakeTargets) port(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ports["access-ovs"][p]
}

type env struct {
	m   *Manager
	st  *store.Store
	cfg *policy.Config
	f   *fakeTargets
}

// newEnv loads the example hospital into a new SQLite store, marks core-fw
// and access-ovs applied, and builds a Manager on fake drivers.
func newEnv(t *testing.T, edit func(*policy.Config)) *env {
	t.Helper()
	return newEnvOn(t, seededStore(t, "sqlite://"+filepath.Join(t.TempDir(), "ward.db")), edit)
}

// seededStore opens the store at url, closed when t ends, and seeds it
// (seedStore).
func seededStore(t *testing.T, url string, opts ...store.Option) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seedStore(t, st)
	return st
}

// seedStore imports the example inventory and marks core-fw and
// access-ovs applied.
func seedStore(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := inventory.ImportFile(ctx, st, exampleInventory, inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"core-fw", "access-ovs"} {
		if err := st.DB.Create(&store.TargetState{Target: name, Content: "{}", Hash: "x", AppliedAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// newEnvOn builds a Manager on fake drivers over a store already seeded.
func newEnvOn(t *testing.T, st *store.Store, edit func(*policy.Config)) *env {
	t.Helper()
	ctx := context.Background()
	f := newFakeTargets()
	reg := &drivers.Registry{}
	for _, n := range []string{"linux_nftables", "openvswitch"} {
		role := drivers.RoleFirewall
		if n == "openvswitch" {
			role = drivers.RoleAccessSwitch
		}
		reg.Register(drivers.Info{Name: n, Roles: []drivers.Role{role}, New: func(json.RawMessage) (drivers.Driver, error) { return fakeDriver{f}, nil }})
	}
	for _, n := range []string{"cisco_iosxe", "arista_eos", "juniper_junos"} {
		reg.Register(drivers.Info{Name: n, Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	}
	cfg, diags := policy.NewParser(policy.WithDrivers(reg.RolesByName())).LoadDir(examplePolicy)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if edit != nil {
		edit(cfg)
	}
	m, err := New(ctx, Options{Store: st, Policy: inforce.New(cfg, nil, nil), Drivers: reg, Dial: func(_ context.Context, target string) (drivers.Session, error) {
		f.mu.Lock()
		f.dials++
		f.mu.Unlock()
		return &fakeSession{target: target}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return &env{m: m, st: st, cfg: cfg, f: f}
}

// queue gives e's Manager a queue of its own that no loop works (the
// test drains it) and returns it.
func (e *env) queue(o jobs.QueueOptions) *jobs.Queue {
	owner := jobs.NewOwner(e.st, jobs.OwnerOptions{})
	q := jobs.NewQueue(e.st, owner, o)
	e.m.Jobs(q, owner)
	return q
}

// isolatedThenLost is newEnv with tv-netlab-01 isolated (by "x") and its
// address since gone from core-fw's isolate set, as after a firewall
// reboot: what a reconcile must put back.
func isolatedThenLost(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, nil)
	if _, err := e.m.Quarantine(context.Background(), Request{Device: "tv-netlab-01", Level: LevelIsolate, Actor: "x"}); err != nil {
		t.Fatal(err)
	}
	e.f.mu.Lock()
	delete(e.f.sets["core-fw"][intent.IsolateSet], tvIP)
	e.f.mu.Unlock()
	return e
}

func genericAlert(id, ip, severity string) alert.Alert {
	return alert.Alert{Format: "generic", Source: "test", ID: id, Severity: alert.Severity(severity),
		Addresses: []netip.Addr{netip.MustParseAddr(ip)}, Signature: "ET TROJAN test", Raw: []byte("{}")}
}

func intake(t *testing.T, e *env, a ...alert.Alert) []Result {
	t.Helper()
	rs, err := e.m.Intake(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const (
	tvIP   = "10.61.190.241" // tv-netlab-01: guest, low, no essential flow, port p-guest1
	pumpIP = "10.61.210.241" // pump-netlab-01: life_critical, port p-pump1
	wsIP   = "10.61.100.241" // ws-netlab-01: medium, essential flows (DNS, EHR)
)

func TestAlertIsolatesLowDeviceAndReleaseUndoes(t *testing.T) {
	e := newEnv(t, nil)
	r := intake(t, e, genericAlert("a1", tvIP, "high"))[0]
	if r.Action != LevelIsolate || r.Device != "tv-netlab-01" || r.QuarantineID == 0 || r.EnforceError != "" {
		t.Fatalf("result %+v, want tv-netlab-01 isolated", r)
	}
	if !e.f.in(intent.IsolateSet, tvIP) || e.f.port("p-guest1") != 999 {
		t.Fatalf("not enforced: isolate set %v, port %d; calls %v", e.f.in(intent.IsolateSet, tvIP), e.f.port("p-guest1"), e.f.calls)
	}
	out, err := e.m.Release(context.Background(), "tv-netlab-01", "alice")
	if err != nil || out.EnforceError != "" {
		t.Fatalf("release: %v %+v", err, out)
	}
	if e.f.in(intent.IsolateSet, tvIP) || e.f.port("p-guest1") != 190 {
		t.Fatalf("release did not undo: in set %v, port %d", e.f.in(intent.IsolateSet, tvIP), e.f.port("p-guest1"))
	}
	var events []store.AuditEvent
	e.st.DB.Where("action LIKE 'quarantine.%'").Order("id").Find(&events)
	if len(events) != 2 || events[0].Action != "quarantine.create" || events[1].Action != "quarantine.release" || events[1].Actor != "alice" {
		t.Errorf("audit events %+v, want create then release by alice", events)
	}
	if e.f.dials != 2 {
		t.Errorf("%d dials for 4 operations on 2 targets, want the sessions kept open (2)", e.f.dials)
	}
}

// TestReleaseIDReleasesThatQuarantine: releasing quarantine #id (the API,
// the UI) releases that one; once it has ended, a new quarantine opened
// on the device since is not released in its place — whoever asked to
// release #id never saw it.
func TestReleaseIDReleasesThatQuarantine(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	first := intake(t, e, genericAlert("r1", tvIP, "high"))[0]
	if first.QuarantineID == 0 {
		t.Fatalf("no quarantine: %+v", first)
	}
	// It ends (another person released it by device), and a new alert
	// quarantines the device again.
	if _, err := e.m.Release(ctx, "tv-netlab-01", "alice"); err != nil {
		t.Fatal(err)
	}
	second := intake(t, e, genericAlert("r2", tvIP, "high"))[0]
	if second.QuarantineID == 0 || second.QuarantineID == first.QuarantineID {
		t.Fatalf("second alert: %+v; want a new quarantine", second)
	}
	_, err := e.m.ReleaseID(ctx, first.QuarantineID, "bob")
	var rf *RefusedError
	if !errors.As(err, &rf) || !strings.Contains(err.Error(), "released already") {
		t.Fatalf("releasing the ended #%d: %v; want a refusal saying it is released already", first.QuarantineID, err)
	}
	row, err := e.st.FindQuarantine(ctx, second.QuarantineID)
	if err != nil || row.Status != StatusActive || !e.f.in(intent.IsolateSet, tvIP) {
		t.Fatalf("the new quarantine after a release of the old one by id: %+v %v; want #%d still open and enforced", row, err, second.QuarantineID)
	}
	if _, err := e.m.ReleaseID(ctx, second.QuarantineID, "bob"); err != nil || e.f.in(intent.IsolateSet, tvIP) {
		t.Fatalf("releasing #%d by id: %v; still enforced: %v", second.QuarantineID, err, e.f.in(intent.IsolateSet, tvIP))
	}
}

func TestLifeCriticalRestrictedThenIsolatedOnlyWithApproval(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r := intake(t, e, genericAlert("p1", pumpIP, "critical"))[0]
	if r.Action != LevelRestrict || r.Pending != "" {
		t.Fatalf("alert for a life-critical pump: %+v, want restrict", r)
	}
	if !e.f.in(intent.RestrictSet, pumpIP) || e.f.in(intent.IsolateSet, pumpIP) || e.f.port("p-pump1") != 0 {
		t.Fatalf("restrict not enforced as such: calls %v", e.f.calls)
	}
	out, err := e.m.Quarantine(ctx, Request{Device: "pump-netlab-01", Level: LevelIsolate, Actor: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Quarantine.Level != LevelRestrict || out.Quarantine.PendingLevel != LevelIsolate || e.f.in(intent.IsolateSet, pumpIP) {
		t.Fatalf("isolate of a life-critical pump: %+v; want it waiting for approval, still restricted", out.Quarantine)
	}
	if _, err := e.m.Approve(ctx, out.Quarantine.ID+100, "carol", ""); err == nil {
		t.Error("approving an unknown quarantine succeeded")
	}
	ap, err := e.m.Approve(ctx, out.Quarantine.ID, "carol", "off-patient, checked with 3 West")
	if err != nil || ap.EnforceError != "" {
		t.Fatalf("approve: %v %+v", err, ap)
	}
	if !e.f.in(intent.IsolateSet, pumpIP) || e.f.in(intent.RestrictSet, pumpIP) || e.f.port("p-pump1") != 999 {
		t.Fatalf("after approval: isolate %v restrict %v port %d", e.f.in(intent.IsolateSet, pumpIP), e.f.in(intent.RestrictSet, pumpIP), e.f.port("p-pump1"))
	}
	if _, err := e.m.Approve(ctx, out.Quarantine.ID, "carol", ""); err == nil {
		t.Error("approving twice succeeded")
	}
	var n int64
	e.st.DB.Model(&store.Approval{}).Where("quarantine_id = ? AND actor = 'carol'", out.Quarantine.ID).Count(&n)
	if n != 1 {
		t.Errorf("%d approval rows, want 1", n)
	}
}

func TestIsolateOfEssentialDeviceWaits(t *testing.T) {
	e := newEnv(t, nil)
	r := intake(t, e, genericAlert("w1", wsIP, "high"))[0]
	if r.Action != LevelRestrict || r.Pending != LevelIsolate || !strings.Contains(r.Reason, "workstations_to_ehr") {
		t.Fatalf("alert for a workstation in essential flows: %+v, want restrict with isolate pending, naming the flows", r)
	}
	if e.f.port("p-ws1") != 0 {
		t.Error("the workstation's port moved before approval")
	}
}

func TestDuplicatesUnknownProtectedAndTargets(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rs := intake(t, e, genericAlert("d1", tvIP, "high"), genericAlert("d1", tvIP, "high"))
	if rs[0].Status != "recorded" || rs[1].Status != "duplicate" || rs[1].QuarantineID != rs[0].QuarantineID {
		t.Fatalf("duplicate: %+v", rs)
	}
	r := intake(t, e, genericAlert("u1", "10.99.99.99", "critical"))[0]
	if r.Action != "none" || r.Device != "" || !strings.Contains(r.Reason, "no device") {
		t.Errorf("unknown address: %+v", r)
	}
	r = intake(t, e, genericAlert("t1", "10.250.61.2", "critical"))[0]
	if r.Action != "none" || !strings.Contains(r.Reason, "target core-fw") {
		t.Errorf("a target's address: %+v", r)
	}
	// A device labelled protected=true.
	var row store.Device
	e.st.DB.Where("name = ?", "unknown-netlab-01").Take(&row)
	row.Labels = map[string]string{"protected": "true"}
	e.st.DB.Save(&row)
	if err := e.m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	r = intake(t, e, genericAlert("p1", "10.61.199.241", "critical"))[0]
	if r.Action != LevelNotify || !strings.Contains(r.Reason, "protected") {
		t.Errorf("protected device: %+v", r)
	}
	if _, err := e.m.Quarantine(ctx, Request{Device: "unknown-netlab-01", Level: LevelIsolate, Actor: "x"}); err == nil {
		t.Error("a person's quarantine of a protected device succeeded")
	}
	var alerts, quarantines int64
	e.st.DB.Model(&store.Alert{}).Count(&alerts)
	e.st.DB.Model(&store.Quarantine{}).Count(&quarantines)
	if alerts != 4 || quarantines != 1 {
		t.Errorf("%d alerts and %d quarantines recorded, want 4 and 1", alerts, quarantines)
	}
	// Below min_severity: notify.
	r = intake(t, e, genericAlert("i1", "10.61.199.242", "info"))[0]
	if r.Action != "none" && r.Action != LevelNotify {
		t.Errorf("info alert: %+v", r)
	}
}

// TestAlertStorm: 1,000 alerts for different devices, sent at once, take at
// most max_auto_per_hour automatic actions; every alert is recorded once.
func TestAlertStorm(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var devices []store.Device
	e.st.DB.Where("removed_at IS NULL").Find(&devices)
	var wg sync.WaitGroup
	results := make([]Result, 1000)
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := devices[i%len(devices)]
			rs, err := e.m.Intake(ctx, []alert.Alert{genericAlert(fmt.Sprintf("storm-%d", i), d.IP, "critical")})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = rs[0]
		}()
	}
	wg.Wait()
	auto := 0
	for _, r := range results {
		if r.Action == LevelIsolate || r.Action == LevelRestrict {
			auto++
		}
	}
	max := e.cfg.Quarantine.MaxAutoPerHour
	if auto > max || auto == 0 {
		t.Errorf("%d automatic actions, want 1 to max_auto_per_hour (%d)", auto, max)
	}
	var alerts, active int64
	e.st.DB.Model(&store.Alert{}).Count(&alerts)
	e.st.DB.Model(&store.Quarantine{}).Where("status = ?", StatusActive).Count(&active)
	if alerts != 1000 || active != int64(auto) {
		t.Errorf("%d alerts recorded, %d active quarantines; want 1000 and %d", alerts, active, auto)
	}
	// Sending them again changes nothing.
	for i := range 100 {
		d := devices[i%len(devices)]
		if r := intake(t, e, genericAlert(fmt.Sprintf("storm-%d", i), d.IP, "critical"))[0]; r.Status != "duplicate" {
			t.Fatalf("resent alert %d: %+v", i, r)
		}
	}
	e.st.DB.Model(&store.Alert{}).Count(&alerts)
	if alerts != 1000 {
		t.Errorf("%d alerts after resending, want 1000", alerts)
	}
	guarded := slices.IndexFunc(results, func(r Result) bool { return strings.Contains(r.Reason, "max_auto_per_hour") })
	if guarded < 0 {
		t.Error("no alert says max_auto_per_hour turned it into notify")
	}
}

func TestExpiryAndReconcile(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	out, err := e.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelIsolate, TTL: 300 * time.Millisecond, Actor: "x"})
	if err != nil || !e.f.in(intent.IsolateSet, tvIP) {
		t.Fatalf("quarantine: %v %+v", err, out)
	}
	// A firewall that lost its quarantine (rebooted) and holds a stray one.
	e.f.mu.Lock()
	delete(e.f.sets["core-fw"][intent.IsolateSet], tvIP)
	e.f.sets["core-fw"][intent.IsolateSet]["10.61.199.241"] = true
	e.f.mu.Unlock()
	rep, err := e.m.Reconcile(ctx)
	if err != nil || len(rep.Added) != 1 || len(rep.Removed) != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if !e.f.in(intent.IsolateSet, tvIP) || e.f.in(intent.IsolateSet, "10.61.199.241") {
		t.Fatal("reconcile did not restore the quarantine and remove the stray address")
	}
	if n, _ := e.m.ExpireDue(ctx); n != 0 {
		t.Fatalf("expired %d before the TTL", n)
	}
	time.Sleep(350 * time.Millisecond)
	if n, err := e.m.ExpireDue(ctx); n != 1 || err != nil {
		t.Fatalf("ExpireDue = %d, %v; want 1", n, err)
	}
	if e.f.in(intent.IsolateSet, tvIP) || e.f.port("p-guest1") != 190 {
		t.Fatal("expiry did not release the device")
	}
	list, _ := e.m.List(ctx, true)
	if len(list) != 1 || list[0].Status != StatusExpired || list[0].ReleasedBy != "ward (ttl)" {
		t.Errorf("list %+v", list)
	}
}

func TestEnforceFailureIsRecordedAndRetried(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.f.fail["core-fw"] = fmt.Errorf("connection refused")
	r := intake(t, e, genericAlert("f1", tvIP, "high"))[0]
	if r.Action != LevelIsolate || !strings.Contains(r.EnforceError, "core-fw") {
		t.Fatalf("%+v, want isolate with core-fw's error", r)
	}
	if e.f.port("p-guest1") != 999 {
		t.Error("the switch was not changed although only the firewall failed")
	}
	delete(e.f.fail, "core-fw")
	if _, err := e.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.f.in(intent.IsolateSet, tvIP) {
		t.Fatal("reconcile did not retry the firewall")
	}
	list, _ := e.m.List(ctx, false)
	if len(list) != 1 || list[0].EnforceError != "" {
		t.Errorf("after the retry: %+v", list)
	}
}

// TestOperatorDecisionReplacesBuiltin: a ward.quarantine module in the
// policy directory replaces the built-in decision, but not Ward's guards.
func TestOperatorDecisionReplacesBuiltin(t *testing.T) {
	notifyAll := `package ward.quarantine

decision := {"action": "notify", "pending": "", "reason": "the SOC decides everything"}
`
	e := newEnv(t, func(cfg *policy.Config) {
		cfg.Modules = append(cfg.Modules, &policy.RegoModule{Filename: "soc.rego", Source: []byte(notifyAll)})
	})
	if v, _ := e.m.view(context.Background()); !v.decider.Custom {
		t.Fatal("the operator's module is not in use")
	}
	if r := intake(t, e, genericAlert("o1", tvIP, "critical"))[0]; r.Action != LevelNotify || r.Reason != "the SOC decides everything" {
		t.Errorf("%+v, want the operator's notify", r)
	}

	isolateAll := `package ward.quarantine

decision := {"action": "isolate", "pending": "", "reason": "isolate everything"}
`
	e = newEnv(t, func(cfg *policy.Config) {
		cfg.Modules = append(cfg.Modules, &policy.RegoModule{Filename: "soc.rego", Source: []byte(isolateAll)})
	})
	// Ward's guard still holds: a pump in essential flows is not isolated
	// without a person.
	if r := intake(t, e, genericAlert("o2", pumpIP, "critical"))[0]; r.Action != LevelRestrict || r.Pending != LevelIsolate {
		t.Errorf("%+v, want restrict with isolate pending despite the module", r)
	}

	broken := `package ward.quarantine

decision := {"action": "shutdown", "pending": "", "reason": "x"}
`
	e = newEnv(t, func(cfg *policy.Config) {
		cfg.Modules = append(cfg.Modules, &policy.RegoModule{Filename: "soc.rego", Source: []byte(broken)})
	})
	// A broken module loses no alert: it is recorded for a person.
	if r := intake(t, e, genericAlert("o3", tvIP, "critical"))[0]; r.Action != LevelNotify || !strings.Contains(r.Reason, `"shutdown"`) {
		t.Errorf("a decision with an unknown action: %+v, want notify naming it", r)
	}
}

func (fakeDriver) Parse(drivers.Config) (*intent.Target, error) { return &intent.Target{}, nil }

// TestReconcileReportsAddsBeforeACut: a reconcile whose session is cut
// after the firewall took its additions, before its removals, is run again
// by the pool on a new session, which finds the additions in place. The
// report and the target's audit event must still say what was added: the
// device was contained again by this reconcile.
func TestReconcileReportsAddsBeforeACut(t *testing.T) {
	const stray = "10.61.199.241"
	e := isolatedThenLost(t)
	ctx := context.Background()
	e.f.mu.Lock()
	e.f.sets["core-fw"][intent.IsolateSet][stray] = true
	e.f.failNext["core-fw remove"] = fmt.Errorf("reading the status of nft: %w", drivers.ErrSessionBroken)
	e.f.mu.Unlock()
	rep, err := e.m.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !e.f.in(intent.IsolateSet, tvIP) || e.f.in(intent.IsolateSet, stray) {
		t.Fatalf("after the reconcile: isolate set holds %s: %v, %s: %v; want true, false", tvIP, e.f.in(intent.IsolateSet, tvIP), stray, e.f.in(intent.IsolateSet, stray))
	}
	wantAdded := []string{"core-fw: " + intent.IsolateSet + " += " + tvIP}
	wantRemoved := []string{"core-fw: " + intent.IsolateSet + " -= " + stray}
	if !slices.Equal(rep.Added, wantAdded) || !slices.Equal(rep.Removed, wantRemoved) {
		t.Errorf("report added %q, removed %q; want %q, %q", rep.Added, rep.Removed, wantAdded, wantRemoved)
	}
	var evs []store.AuditEvent
	e.st.DB.Where("action = ? AND object = ?", "quarantine.reconcile", "core-fw").Order("seq").Find(&evs)
	if len(evs) != 1 {
		t.Fatalf("%d quarantine.reconcile events for core-fw, want 1", len(evs))
	}
	var audited ReconcileReport
	if err := json.Unmarshal([]byte(evs[0].Detail), &audited); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(audited.Added, wantAdded) {
		t.Errorf("audit event says added %q, want %q: the log misses a containment the reconcile made", audited.Added, wantAdded)
	}
}
