package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/credentials"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// listener stands in for every target's SSH port and counts connections:
// a refused plan must not open even one.
type listener struct {
	ln    net.Listener
	conns atomic.Int64
}

func listen(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

func (l *listener) port() int { return l.ln.Addr().(*net.TCPAddr).Port }

// applyWorkspace copies a policy whose every target points at l, with
// credentials and known_hosts of its own, imports the example inventory,
// and returns the policy directory and database URL.
func applyWorkspace(t *testing.T, from string, l *listener) (pol, db string) {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	os.Mkdir(creds, 0o700)
	t.Setenv("WARD_CREDENTIALS_DIR", creds)
	for _, name := range []string{"core-fw", "access-ovs"} {
		os.WriteFile(filepath.Join(creds, name), []byte("not-a-real-password\n"), 0o600)
	}
	knownHosts := filepath.Join(dir, "known_hosts")
	os.WriteFile(knownHosts, nil, 0o600)
	pol = filepath.Join(dir, "policy")
	os.Mkdir(pol, 0o755)
	files, _ := filepath.Glob(filepath.Join(from, "*"))
	address := regexp.MustCompile(`(?m)^(\s*address\s*=\s*)"[^"]*"`)
	port := regexp.MustCompile(`(?m)^(\s*port\s*=\s*)\d+`)
	kh := regexp.MustCompile(`(?m)^(\s*known_hosts\s*=\s*)"[^"]*"`)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if filepath.Base(f) == "targets.hcl" {
			b = address.ReplaceAll(b, []byte(`${1}"127.0.0.1"`))
			b = port.ReplaceAll(b, []byte(fmt.Sprintf("${1}%d", l.port())))
			b = kh.ReplaceAll(b, []byte(`${1}"`+knownHosts+`"`))
		}
		os.WriteFile(filepath.Join(pol, filepath.Base(f)), b, 0o644)
	}
	db = "sqlite://" + filepath.Join(dir, "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	return pol, db
}

// savePlan runs ward plan -out and returns the signed file's path.
func savePlan(t *testing.T, pol, db string, wantCode int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plan.json")
	code, out, errs := runWard(t, "plan", "-policy", pol, "-db", db, "-out", file)
	if code != wantCode {
		t.Fatalf("ward plan -out: exit %d, want %d\n%s%s", code, wantCode, out, errs)
	}
	if !strings.Contains(out, "signed with key ed25519:") {
		t.Errorf("ward plan does not say the plan was signed:\n%s", out)
	}
	return file
}

// rewrite changes the plan inside a signed file; with resign it signs it
// again with the installation's own key (someone who can read it).
func rewrite(t *testing.T, file string, change func(p *plan.Plan), resign bool) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var env plan.Signed
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	var p plan.Plan
	if err := json.Unmarshal(env.Plan, &p); err != nil {
		t.Fatal(err)
	}
	change(&p)
	if resign {
		s, err := plan.LoadSigner(credentials.FromEnv())
		if err != nil {
			t.Fatal(err)
		}
		if b, err = s.Sign(&p); err != nil {
			t.Fatal(err)
		}
	} else {
		if env.Plan, err = json.Marshal(&p); err != nil {
			t.Fatal(err)
		}
		b, _ = json.MarshalIndent(env, "", "  ")
	}
	out := filepath.Join(t.TempDir(), "tampered.json")
	os.WriteFile(out, b, 0o644)
	return out
}

func changedOf(t *testing.T, p *plan.Plan, driver string) *plan.TargetPlan {
	t.Helper()
	for _, tp := range p.Changed() {
		if tp.Driver == driver {
			return tp
		}
	}
	t.Fatalf("the plan changes no %s target", driver)
	return nil
}

// seedApplied records the example policy's targets as applied, as a
// previous apply would have, so a later plan can lose something.
func seedApplied(t *testing.T, pol, db string) {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t, db)
	defer st.Close()
	p := buildPlan(t, st, pol)
	run := recordSucceededRun(t, st, p, "seed")
	for _, tp := range p.Changed() {
		if tp.Unavailable == "" {
			if err := plan.RecordApplied(ctx, st, run, tp, "seed"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// buildPlan plans the policy at pol on st's inventory, of only the named
// targets if any, as ward plan would.
func buildPlan(t *testing.T, st *store.Store, pol string, only ...string) *plan.Plan {
	t.Helper()
	ctx := context.Background()
	cfg, diags := policy.NewParser(policy.WithDrivers(newRegistry().RolesByName())).LoadDir(pol)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	p, diags := plan.Build(ctx, cfg, devices, plan.Options{Store: st, Drivers: newRegistry(), Only: only})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return p
}

// recordSucceededRun records p and a succeeded apply run of it by actor,
// and returns the run's id: what an apply leaves before its targets'
// states are recorded.
func recordSucceededRun(t *testing.T, st *store.Store, p *plan.Plan, actor string) uint64 {
	t.Helper()
	ctx := context.Background()
	row, err := plan.Record(ctx, st, nil, p, actor)
	if err != nil {
		t.Fatal(err)
	}
	run := store.ApplyRun{PlanID: row.ID, Status: "succeeded", Actor: actor}
	if err := st.StartApplyRun(ctx, &run); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

// scratchStore is an empty SQLite store with a credential directory of its
// own (the audit key is made there); it returns the database URL and the
// store, closed when t ends if the test has not closed it before.
func scratchStore(t *testing.T) (string, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(dir, "credentials"))
	t.Setenv("WARD_AUDIT_KEY", "")
	db := "sqlite://" + filepath.Join(dir, "ward.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return db, st
}

// pendingApplyRun starts an apply run of an empty plan on targets whose
// jobs are queued an hour ahead, so nothing pushes them meanwhile: a run
// left pending by an interrupted ward apply.
func pendingApplyRun(t *testing.T, st *store.Store, targets ...string) store.ApplyRun {
	t.Helper()
	ctx := context.Background()
	pl := store.Plan{Content: "{}", CreatedAt: st.Now()}
	if err := st.CreatePlan(ctx, &pl); err != nil {
		t.Fatal(err)
	}
	run := store.ApplyRun{PlanID: pl.ID, Status: "running", Actor: "bob", StartedAt: st.Now()}
	job := func(id uint64, tg store.ApplyTarget) store.Job {
		return store.Job{Kind: plan.ApplyJobKind, Target: tg.Target, Key: fmt.Sprintf("apply:%d:%s", id, tg.Target), RunAt: st.Now().Add(time.Hour)}
	}
	finish := func(r store.ApplyRun, _ []store.ApplyTarget) (string, string, store.AuditEntry, error) {
		return "failed", "[]", store.AuditEntry{Actor: r.Actor, Action: "apply.finish", Object: fmt.Sprintf("apply run %d", r.ID)}, nil
	}
	var applied []store.ApplyTarget
	for _, tg := range targets {
		applied = append(applied, store.ApplyTarget{Target: tg, Plan: "{}"})
	}
	if err := st.StartApply(ctx, &run, applied, job, finish); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestApplyRefusesTamperedPlanFiles: every edit of a saved plan the issue
// names makes ward apply exit 1 before it opens a single connection to a
// target, whether the edit kept the old signature or was signed again with
// the right key. The untouched plan does reach for the targets (the
// control: the listener would have seen a refused plan's attempt).
func TestApplyRefusesTamperedPlanFiles(t *testing.T) {
	l := listen(t)
	pol, db := applyWorkspace(t, examplePolicy, l)
	good := savePlan(t, pol, db, 0)

	type tampering struct {
		name   string
		change func(p *plan.Plan)
		want   string // in stderr when signed again
	}
	cases := []tampering{
		{"config text of core-fw", func(p *plan.Plan) {
			changedOf(t, p, "linux_nftables").Config += "add rule inet ward forward accept\n"
		}, "configuration for target core-fw differs"},
		{"driver renamed to an unregistered one", func(p *plan.Plan) {
			changedOf(t, p, "openvswitch").Driver = "evil_driver"
		}, `driver "evil_driver" is not available`},
		{"base state", func(p *plan.Plan) { changedOf(t, p, "linux_nftables").BaseHash = "feed" }, "changed by another apply"},
		{"state digest", func(p *plan.Plan) { p.StateDigest = "sha256:feed" }, "last-applied state of the targets changed since it was made"},
		{"no state digest (an older Ward's plan)", func(p *plan.Plan) { p.StateDigest = "" }, "made by an older Ward"},
	}
	apply := func(file string, extra ...string) (int, string) {
		t.Helper()
		code, out, errs := runWard(t, append([]string{"apply", file, "-auto-approve", "-policy", pol, "-db", db}, extra...)...)
		return code, out + errs
	}
	check := func(name, file, want string, extra ...string) {
		t.Helper()
		code, out := apply(file, extra...)
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", name, code, want, out)
		}
		if n := l.conns.Load(); n != 0 {
			t.Fatalf("%s: %d connection(s) to the targets before the refusal", name, n)
		}
	}
	for _, c := range cases {
		check(c.name+", old signature", rewrite(t, good, c.change, false), "changed after it was signed")
		check(c.name+", signed again", rewrite(t, good, c.change, true), c.want)
	}
	b, _ := os.ReadFile(good)
	var env map[string]any
	json.Unmarshal(b, &env)
	delete(env, "signature")
	nosig := filepath.Join(t.TempDir(), "nosig.json")
	b, _ = json.Marshal(env)
	os.WriteFile(nosig, b, 0o644)
	check("signature removed", nosig, "has no signature")
	unsigned := filepath.Join(t.TempDir(), "unsigned.json")
	raw, _ := json.Marshal(env["plan"])
	os.WriteFile(unsigned, raw, 0o644)
	check("unsigned plan", unsigned, "unsigned")

	// Signed with another installation's key.
	otherDir := t.TempDir()
	other, err := plan.LoadSigner(credentials.Source{Dir: otherDir})
	if err != nil {
		t.Fatal(err)
	}
	var p plan.Plan
	json.Unmarshal(raw, &p)
	b, _ = other.Sign(&p)
	foreign := filepath.Join(t.TempDir(), "foreign.json")
	os.WriteFile(foreign, b, 0o644)
	check("signed with another key", foreign, "signed with key")

	// An approval flag without a reason is a usage error, before anything.
	if code, out := apply(good, "-allow-essential-change"); code != 2 || !strings.Contains(out, "-reason") {
		t.Errorf("-allow-essential-change without -reason: exit %d\n%s", code, out)
	}

	// The control: the untouched plan passes every check and dials.
	code, out := apply(good)
	if l.conns.Load() == 0 {
		t.Fatalf("the good plan did not reach for the targets (exit %d):\n%s", code, out)
	}
	if strings.Contains(out, "Refusing") || strings.Contains(out, "refusing") {
		t.Errorf("the good plan was refused:\n%s", out)
	}
}

// TestApplyJudgesGuardrailsAndEssentialItself: a blocked plan whose flag
// was flipped, and a plan losing an essential flow whose list was emptied,
// are refused on the plan ward apply makes again, before any connection.
func TestApplyJudgesGuardrailsAndEssentialItself(t *testing.T) {
	t.Run("blocked", func(t *testing.T) {
		l := listen(t)
		pol, db := applyWorkspace(t, "../../examples/hospital/bad-change", l)
		blocked := savePlan(t, pol, db, 1)
		unblock := func(p *plan.Plan) { p.Blocked, p.Reasons, p.Guardrails.Deny = false, []string{}, nil }
		for _, resign := range []bool{false, true} {
			code, out, errs := runWard(t, "apply", rewrite(t, blocked, unblock, resign), "-auto-approve", "-policy", pol, "-db", db)
			want := "changed after it was signed"
			if resign {
				want = "refusing a blocked plan"
			}
			if code != 1 || !strings.Contains(errs, want) {
				t.Errorf("blocked flipped (signed again: %v): exit %d, want 1 and %q\n%s%s", resign, code, want, out, errs)
			}
		}
		if n := l.conns.Load(); n != 0 {
			t.Fatalf("%d connection(s) before the refusal", n)
		}
	})
	t.Run("essential", func(t *testing.T) {
		l := listen(t)
		pol, db := applyWorkspace(t, examplePolicy, l)
		seedApplied(t, pol, db)
		flows := filepath.Join(pol, "flows.hcl")
		b, _ := os.ReadFile(flows)
		cut := regexp.MustCompile(`(?s)flow "pump_servers_to_pumps" \{.*?\n\}\n`).ReplaceAll(b, nil)
		if len(cut) == len(b) {
			t.Fatal("flow pump_servers_to_pumps not found")
		}
		os.WriteFile(flows, cut, 0o644)
		losing := savePlan(t, pol, db, 0)
		empty := func(p *plan.Plan) {
			if p.Changes == nil || len(p.Changes.Essential) == 0 {
				t.Fatal("the saved plan loses nothing essential")
			}
			p.Changes.Essential = nil
		}
		run := func(file string, extra ...string) (int, string) {
			code, out, errs := runWard(t, append([]string{"apply", file, "-auto-approve", "-policy", pol, "-db", db}, extra...)...)
			return code, out + errs
		}
		for _, c := range []struct {
			name, file, want string
			extra            []string
		}{
			{"as saved", losing, "-allow-essential-change -reason", nil},
			{"list emptied, old signature", rewrite(t, losing, empty, false), "changed after it was signed", nil},
			{"list emptied, signed again", rewrite(t, losing, empty, true), "essential", nil},
		} {
			if code, out := run(c.file, c.extra...); code != 1 || !strings.Contains(out, c.want) {
				t.Errorf("%s: exit %d, want 1 and %q\n%s", c.name, code, c.want, out)
			}
		}
		if n := l.conns.Load(); n != 0 {
			t.Fatalf("%d connection(s) before the refusal", n)
		}
		// Approved with a reason, it goes ahead (and reaches the targets);
		// the audit log names the reason.
		code, out := run(losing, "-allow-essential-change", "-reason", "pump servers replaced; checked with pharmacy")
		if l.conns.Load() == 0 {
			t.Fatalf("the approved plan did not reach for the targets (exit %d):\n%s", code, out)
		}
		if !strings.Contains(out, "Essential change approved by") {
			t.Errorf("the approval is not shown:\n%s", out)
		}
		_, audit, _ := runWard(t, "audit", "-db", db, "-json")
		if !strings.Contains(audit, "apply.allow_essential_change") || !strings.Contains(audit, "checked with pharmacy") {
			t.Errorf("the audit log lacks the approval and its reason:\n%s", audit)
		}
	})
}

// TestApplyWaitsForTheTargetsOwner: while another Ward process holds
// core-fw (a quarantine push, say), ward apply pushes to access-ovs but
// does not touch core-fw; once core-fw is given back, it goes on.
func TestApplyWaitsForTheTargetsOwner(t *testing.T) {
	ovs, fw := listen(t), listen(t)
	pol, db := applyWorkspace(t, examplePolicy, ovs)
	targets := filepath.Join(pol, "targets.hcl")
	b, _ := os.ReadFile(targets)
	block := regexp.MustCompile(`(?s)(target "core-fw" \{.*?port\s*=\s*)\d+`)
	if !block.Match(b) {
		t.Fatal("no port in target core-fw")
	}
	os.WriteFile(targets, block.ReplaceAll(b, []byte(fmt.Sprintf("${1}%d", fw.port()))), 0o644)
	file := savePlan(t, pol, db, 0)

	ctx := context.Background()
	st := openTestStore(t, db)
	other := jobs.NewOwner(st, jobs.OwnerOptions{Holder: "another ward (test)"})
	held, release, gone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		gone <- other.Do(ctx, "core-fw", "quarantine", func(context.Context) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	done := make(chan string, 1)
	go func() {
		_, out, errs := runWard(t, "apply", file, "-auto-approve", "-policy", pol, "-db", db)
		done <- out + errs
	}()
	for deadline := time.Now().Add(15 * time.Second); ovs.conns.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the apply never reached access-ovs, which nobody held")
		}
	}
	time.Sleep(500 * time.Millisecond)
	if n := fw.conns.Load(); n != 0 {
		t.Fatalf("core-fw was contacted %d time(s) while another process held it", n)
	}
	close(release)
	if err := <-gone; err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-done:
		if fw.conns.Load() == 0 {
			t.Errorf("core-fw was never contacted after it was given back:\n%s", out)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the apply did not finish after core-fw was given back")
	}
}

// TestApplyCancel: ward apply -cancel RUN skips the run's targets whose
// push has not started and says so; a second cancel is refused, naming
// the run's end; an unknown run too.
func TestApplyCancel(t *testing.T) {
	db, st := scratchStore(t)
	run := pendingApplyRun(t, st, "core-fw", "edge-fw")
	st.Close()

	code, out, errs := runWard(t, "apply", "-cancel", fmt.Sprint(run.ID), "-db", db)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Apply run %d: 2 target(s) cancelled, nothing sent to them: core-fw, edge-fw.", run.ID)) {
		t.Fatalf("ward apply -cancel: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = runWard(t, "apply", "-cancel", fmt.Sprint(run.ID), "-db", db)
	if code != 1 || !strings.Contains(errs, "the apply run is finished") {
		t.Errorf("a second cancel: exit %d\n%s", code, errs)
	}
	code, _, errs = runWard(t, "apply", "-cancel", "999", "-db", db)
	if code != 1 || !strings.Contains(errs, "apply run 999") {
		t.Errorf("cancel of no run: exit %d\n%s", code, errs)
	}
}

// TestApplyRefusedWhileRunPendingOrStale: ward apply of a saved plan is
// refused (exit 1, no connection) while another apply run has a target
// pending, naming the run and ward apply -cancel; once that run is
// cancelled it goes ahead. A plan saved with -target core-fw, made before
// access-ovs was applied, is refused as stale: it was judged against
// access-ovs's state before.
func TestApplyRefusedWhileRunPendingOrStale(t *testing.T) {
	l := listen(t)
	pol, db := applyWorkspace(t, examplePolicy, l)
	file := filepath.Join(t.TempDir(), "core-fw.json")
	if code, out, errs := runWard(t, "plan", "-policy", pol, "-db", db, "-target", "core-fw", "-out", file); code != 0 {
		t.Fatalf("ward plan -target core-fw -out: exit %d\n%s%s", code, out, errs)
	}
	st := openTestStore(t, db)
	// A run interrupted by Ctrl-C: its job queued, nothing pushing it.
	run := pendingApplyRun(t, st, "access-ovs")
	st.Close()

	code, out, errs := runWard(t, "apply", file, "-auto-approve", "-policy", pol, "-db", db)
	for _, want := range []string{fmt.Sprintf("apply run %d", run.ID), "access-ovs", fmt.Sprintf("ward apply -cancel %d", run.ID), "Nothing was applied"} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("ward apply while run %d is pending: exit %d, want 1 and %q:\n%s%s", run.ID, code, want, out, errs)
		}
	}
	if n := l.conns.Load(); n != 0 {
		t.Fatalf("%d connection(s) to the targets by the refused apply", n)
	}
	if code, out, errs := runWard(t, "apply", "-cancel", fmt.Sprint(run.ID), "-db", db); code != 0 {
		t.Fatalf("ward apply -cancel: exit %d\n%s%s", code, out, errs)
	}
	// Once cancelled, nothing was applied by it: the plan still holds, and
	// goes ahead (the listener is no SSH server, so its push fails).
	code, out, errs = runWard(t, "apply", file, "-auto-approve", "-policy", pol, "-db", db)
	if l.conns.Load() == 0 || strings.Contains(errs, "in progress") || strings.Contains(errs, "stale") {
		t.Fatalf("ward apply once run %d is cancelled: exit %d, %d connection(s):\n%s%s", run.ID, code, l.conns.Load(), out, errs)
	}

	// access-ovs applied since the plan was made.
	stale := filepath.Join(t.TempDir(), "core-fw-again.json")
	if code, out, errs := runWard(t, "plan", "-policy", pol, "-db", db, "-target", "core-fw", "-out", stale); code != 0 {
		t.Fatalf("ward plan -target core-fw -out: exit %d\n%s%s", code, out, errs)
	}
	recordApplied(t, pol, db, "access-ovs")
	before := l.conns.Load()
	code, out, errs = runWard(t, "apply", stale, "-auto-approve", "-policy", pol, "-db", db)
	if code != 1 || !strings.Contains(errs, "last-applied state of the targets changed since it was made") {
		t.Errorf("ward apply of a plan made before access-ovs was applied: exit %d\n%s%s", code, out, errs)
	}
	if n := l.conns.Load() - before; n != 0 {
		t.Fatalf("%d connection(s) to the targets by the stale plan", n)
	}
}

// recordApplied records target as applied with the policy's current
// configuration, as an apply of it would.
func recordApplied(t *testing.T, pol, db, target string) {
	t.Helper()
	st := openTestStore(t, db)
	defer st.Close()
	p := buildPlan(t, st, pol, target)
	if len(p.Changed()) != 1 {
		t.Fatalf("a plan of %s changes %d target(s), want it", target, len(p.Changed()))
	}
	run := recordSucceededRun(t, st, p, "test")
	if err := plan.RecordApplied(context.Background(), st, run, p.Changed()[0], "test"); err != nil {
		t.Fatal(err)
	}
}

// TestApplyCancelFinishesStartedPushes: a push waiting to retry an attempt
// (which may have reached the device) cannot be cancelled, and while it is
// pending no apply starts; without ward serve, ward apply -cancel runs it
// to its end, so the run finishes and the next apply may start.
func TestApplyCancelFinishesStartedPushes(t *testing.T) {
	l := listen(t)
	pol, db := applyWorkspace(t, examplePolicy, l)
	ctx := context.Background()
	st := openTestStore(t, db)
	p := buildPlan(t, st, pol, "core-fw")
	row, err := plan.Record(ctx, st, nil, p, "test")
	if err != nil {
		t.Fatal(err)
	}
	run, err := plan.StartApply(ctx, row.ID, p, plan.ApplyOptions{Drivers: newRegistry(), Store: st, Actor: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	// Its first attempt ran (in a process since interrupted) and failed.
	j, err := st.ClaimJob(ctx, store.ClaimOptions{Target: "core-fw", Worker: "gone", Kinds: []string{plan.ApplyJobKind}, Now: time.Now(), MaxAttempts: 3, MaxBackoff: time.Hour})
	if err != nil || j == nil {
		t.Fatalf("claim: %+v, %v", j, err)
	}
	if err := st.RetryJob(ctx, *j, "attempt 1 of 3: connection reset", time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errs := runWard(t, "apply", "-cancel", fmt.Sprint(run), "-policy", pol, "-db", db)
	for _, want := range []string{"0 target(s) cancelled", "waiting to retry a push that may have reached the device: core-fw", "core-fw      failed", fmt.Sprintf("Apply run %d is finished: failed", run)} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("ward apply -cancel of a run waiting to retry: exit %d, want 0 and %q:\n%s%s", code, want, out, errs)
		}
	}
	if l.conns.Load() == 0 {
		t.Error("the retried push never reached for core-fw")
	}
	st = openTestStore(t, db)
	if prog, err := st.RunningApplies(ctx); err != nil || len(prog) != 0 {
		t.Errorf("applies in progress after the cancel: %+v, %v; want none", prog, err)
	}
}
