package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/wardnet/ward/drivers"
)

// runningDriver is fakeDriver whose devices run the text given per target.
type runningDriver struct {
	fakeDriver
	running map[string]string
}

func (d runningDriver) Running(_ context.Context, s drivers.Session) (drivers.Config, error) {
	return drivers.Config{Text: d.running[s.(*recSession).target]}, nil
}

// runningRegistry has the firewall and switch drivers of runningDriver,
// whose devices run running's text (read when asked, so a test may change it).
func runningRegistry(running map[string]string) *drivers.Registry {
	var reg drivers.Registry
	newDriver := func(json.RawMessage) (drivers.Driver, error) { return runningDriver{running: running}, nil }
	reg.Register(drivers.Info{Name: "linux_nftables", Roles: []drivers.Role{drivers.RoleFirewall}, New: newDriver})
	reg.Register(drivers.Info{Name: "openvswitch", Roles: []drivers.Role{drivers.RoleAccessSwitch}, New: newDriver})
	return &reg
}

// appliedExample applies the example hospital policy through a new
// fixture and returns it with its targets' last-applied states and their
// hashes, as the store holds them.
func appliedExample(t *testing.T) (*fixture, map[string]AppliedState, map[string]string) {
	t.Helper()
	f := newFixture(t, "../../examples/hospital/policy")
	f.apply(f.plan())
	states, hashes, err := lastApplied(context.Background(), f.st)
	if err != nil {
		t.Fatal(err)
	}
	return f, states, hashes
}

// TestCheckDriftRecords: every target's result is stored with the running
// configuration's hash (of the text as read) and the applied state's, and
// the check is audited once.
func TestCheckDriftRecords(t *testing.T) {
	f, states, hashes := appliedExample(t)
	ctx := context.Background()
	running := map[string]string{"core-fw": states["core-fw"].Config, "access-ovs": "{}\n"}
	reg := runningRegistry(running)

	driverOf := map[string]string{"core-fw": "linux_nftables", "access-ovs": "openvswitch", "spare-fw": "linux_nftables"}
	drifts, err := CheckDrift(ctx, f.st, reg, driverOf, f.rec.dial, nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sha := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	want := map[string]Drift{
		"core-fw":    {Target: "core-fw", Status: "in_sync", RunningSHA256: sha(running["core-fw"]), AppliedSHA256: hashes["core-fw"]},
		"access-ovs": {Target: "access-ovs", Status: "drift", RunningSHA256: sha("{}\n"), AppliedSHA256: hashes["access-ovs"]},
		"spare-fw":   {Target: "spare-fw", Status: "never_applied"},
	}
	if len(drifts) != len(want) {
		t.Fatalf("drifts: %+v", drifts)
	}
	for _, d := range drifts {
		w := want[d.Target]
		if d.Status != w.Status || d.RunningSHA256 != w.RunningSHA256 || d.AppliedSHA256 != w.AppliedSHA256 {
			t.Errorf("%s: got %+v, want %+v", d.Target, d, w)
		}
	}
	if hashes["core-fw"] == "" || hashes["access-ovs"] == "" {
		t.Fatalf("the example was not applied: %v", hashes)
	}

	latest, err := f.st.LatestDriftChecks(ctx, f.st.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		c, ok := latest[name]
		if !ok || c.Status != w.Status || c.RunningHash != w.RunningSHA256 || c.AppliedHash != w.AppliedSHA256 || c.Actor != "alice" {
			t.Errorf("recorded %s: %+v, want %+v", name, c, w)
		}
	}
	events, err := f.st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Action == "target.drift_check" {
			n++
			if ev.Actor != "alice" || ev.Object != "3 targets" {
				t.Errorf("audit event: %+v", ev)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d drift check events, want 1", n)
	}

	// A check that cannot be recorded says so, with its results.
	if drifts, err := CheckDrift(ctx, f.st, reg, driverOf, f.rec.dial, nil, ""); err == nil || len(drifts) != 3 {
		t.Fatalf("unrecorded check: %v, %d results", err, len(drifts))
	}
}

// interleavedOwner runs before(target) once per target, just before it
// grants the target: what another process did with the target while this
// one waited for it.
type interleavedOwner struct {
	before func(target string)
	done   map[string]bool
}

func (o *interleavedOwner) Do(ctx context.Context, target, _ string, fn func(ctx context.Context) error) error {
	if !o.done[target] {
		o.done[target] = true
		o.before(target)
	}
	return fn(ctx)
}

// An apply that pushes a target and records its new state while ward
// drift waits for that target's owner: the check compares what the device
// runs with the state recorded when it holds the target — in sync, the
// new state's hash — never with the state read before it waited, which
// would report (and audit) a drift that is not there.
func TestCheckDriftReadsTheStateItHolds(t *testing.T) {
	f, states, hashes := appliedExample(t)
	ctx := context.Background()
	old, err := f.st.TargetStateOf(ctx, "core-fw")
	if err != nil || old == nil || old.ApplyRunID == nil {
		t.Fatalf("core-fw's state: %+v, %v", old, err)
	}
	running := map[string]string{"core-fw": states["core-fw"].Config, "access-ovs": states["access-ovs"].Config}
	// The next state: core-fw's intent less its last rule.
	nextIntent := *states["core-fw"].Intent
	fw := *nextIntent.Firewall
	fw.Rules = fw.Rules[:len(fw.Rules)-1]
	nextIntent.Firewall = &fw
	cfg, err := fakeDriver{}.Render(&nextIntent)
	if err != nil {
		t.Fatal(err)
	}
	next := &TargetPlan{Name: "core-fw", Driver: "linux_nftables", Intent: &nextIntent, Config: cfg.Text}
	_, nextHash, err := appliedState(next)
	if err != nil {
		t.Fatal(err)
	}
	owner := &interleavedOwner{done: map[string]bool{}, before: func(target string) {
		if target != "core-fw" {
			return
		}
		// Another process's apply, under the owner before this check.
		running["core-fw"] = next.Config
		if err := RecordApplied(ctx, f.st, *old.ApplyRunID, next, "bob"); err != nil {
			t.Error(err)
		}
	}}
	driverOf := map[string]string{"core-fw": "linux_nftables", "access-ovs": "openvswitch"}
	drifts, err := CheckDrift(ctx, f.st, runningRegistry(running), driverOf, f.rec.dial, owner, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Drift{
		"core-fw":    {Target: "core-fw", Status: "in_sync", AppliedSHA256: nextHash},
		"access-ovs": {Target: "access-ovs", Status: "in_sync", AppliedSHA256: hashes["access-ovs"]},
	}
	if len(drifts) != len(want) {
		t.Fatalf("drifts: %+v", drifts)
	}
	for _, d := range drifts {
		if w := want[d.Target]; d.Status != w.Status || d.AppliedSHA256 != w.AppliedSHA256 {
			t.Errorf("%s: %s against applied state %.12s (error %q); want %s against %.12s", d.Target, d.Status, d.AppliedSHA256, d.Error, w.Status, w.AppliedSHA256)
		}
	}
}
