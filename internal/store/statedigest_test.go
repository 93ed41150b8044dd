package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Two states differ in digest whenever a target is added, removed or
// changed, including a target recorded with an empty hash against one
// never applied, and names that could run into their hashes.
func TestStateDigestDistinguishes(t *testing.T) {
	cases := []map[string]string{
		nil,
		{"core-fw": ""},
		{"core-fw": "a"},
		{"core-fw": "b"},
		{"core-fw": "a", "edge-fw": "a"},
		{"core-fw a": "b"},
		{"core-fw": "a b"},
	}
	seen := map[string]int{}
	for i, c := range cases {
		d := StateDigest(c)
		if d == "" {
			t.Fatalf("case %d: empty digest; \"\" must mean not recorded", i)
		}
		if j, ok := seen[d]; ok {
			t.Errorf("cases %d (%v) and %d (%v) have one digest", j, cases[j], i, c)
		}
		seen[d] = i
	}
	if StateDigest(map[string]string{"a": "1", "b": "2"}) != StateDigest(map[string]string{"b": "2", "a": "1"}) {
		t.Error("the digest depends on map order")
	}
	if StateDigest(nil) != StateDigest(map[string]string{}) {
		t.Error("nil and empty states differ")
	}
}

// applyFixture is a store whose targets core-fw and edge-fw were applied
// once, and helpers to start, cancel and settle apply runs on it.
type applyFixture struct {
	t   *testing.T
	st  *Store
	mu  sync.Mutex
	fin int
}

func newApplyFixture(t *testing.T, st *Store) *applyFixture {
	f := &applyFixture{t: t, st: st}
	f.record("core-fw", "h1", 0)
	f.record("edge-fw", "h1", 0)
	return f
}

// record saves target's last-applied state, as a push of run would.
func (f *applyFixture) record(target, hash string, run uint64) {
	f.t.Helper()
	row := TargetState{Target: target, Content: "{}", Hash: hash, AppliedAt: f.st.Now()}
	if run != 0 {
		row.ApplyRunID = &run
	}
	if err := f.st.SaveTargetState(context.Background(), row, AuditEntry{Actor: "test", Action: "target.apply", Object: target}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *applyFixture) base() ApplyBase {
	f.t.Helper()
	rows, err := f.st.TargetStates(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	h := StateHashes(rows)
	return ApplyBase{Digest: StateDigest(h), Hashes: h}
}

func (f *applyFixture) finish() ApplyFinisher { return finishCounting(&f.fin, &f.mu) }

func applyKey(id uint64, target string) string { return fmt.Sprintf("apply:%d:%s", id, target) }

// start starts a run from base pushing targets.
func (f *applyFixture) start(base ApplyBase, targets ...string) (uint64, error) {
	pl := Plan{Content: "{}", CreatedAt: f.st.Now()}
	if err := f.st.CreatePlan(context.Background(), &pl); err != nil {
		f.t.Fatal(err)
	}
	run := ApplyRun{PlanID: pl.ID, Status: "running", Actor: "alice", StartedAt: f.st.Now()}
	var ts []ApplyTarget
	for _, name := range targets {
		ts = append(ts, ApplyTarget{Target: name, Plan: "{}"})
	}
	err := f.st.StartApplyFrom(context.Background(), base, &run, ts, func(id uint64, t ApplyTarget) Job {
		return Job{Kind: "plan.apply", Target: t.Target, Payload: fmt.Sprintf(`{"run":%d}`, id), Key: applyKey(id, t.Target)}
	}, f.finish())
	return run.ID, err
}

// counts returns how many apply runs and jobs the store holds.
func (f *applyFixture) counts() (runs, jobs int64) {
	f.t.Helper()
	if err := f.st.DB.Model(&ApplyRun{}).Count(&runs).Error; err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.DB.Model(&Job{}).Count(&jobs).Error; err != nil {
		f.t.Fatal(err)
	}
	return runs, jobs
}

// Two applies planned from one state, of disjoint targets, started at
// once from two connections: exactly one starts, the other is refused
// (another apply in progress) with nothing recorded. Round after round,
// the winner cancelled before the next.
func TestStartApplyRaceOneStarts(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, url string) {
		ctx := context.Background()
		other, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		f := newApplyFixture(t, st)
		g := &applyFixture{t: t, st: other}
		for round := range 10 {
			base := f.base()
			runsBefore, jobsBefore := f.counts()
			var wg sync.WaitGroup
			ids, errs := make([]uint64, 2), make([]error, 2)
			ready := make(chan struct{})
			for i, fx := range []*applyFixture{f, g} {
				target := []string{"core-fw", "edge-fw"}[i]
				wg.Go(func() {
					<-ready
					ids[i], errs[i] = fx.start(base, target)
				})
			}
			close(ready)
			wg.Wait()
			var won uint64
			for i, err := range errs {
				switch {
				case err == nil:
					if won != 0 {
						t.Fatalf("round %d: both applies started (runs %d and %d) from one state", round, won, ids[i])
					}
					won = ids[i]
				case !errors.Is(err, ErrApplyInProgress):
					t.Fatalf("round %d: the refused apply: %v; want ErrApplyInProgress", round, err)
				}
			}
			if won == 0 {
				t.Fatalf("round %d: neither apply started: %v", round, errs)
			}
			if runs, jobs := f.counts(); runs != runsBefore+1 || jobs != jobsBefore+1 {
				t.Fatalf("round %d: %d run(s) and %d job(s) recorded; want one of each (the refused apply records nothing)", round, runs-runsBefore, jobs-jobsBefore)
			}
			if _, _, err := st.CancelApply(ctx, won, "test", "cancelled by the test", applyKey, f.finish()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// An apply is refused while another run has a target pending, naming the
// run, its pending targets and how to cancel it; once that run is
// cancelled it starts. A plan made before a run that applied a target is
// refused as stale once that run is over, naming the target; one made
// after starts. Refused, nothing is recorded.
func TestStartApplyRefusedWhilePendingThenStale(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		f := newApplyFixture(t, st)
		base := f.base()
		first, err := f.start(base, "core-fw", "edge-fw")
		if err != nil {
			t.Fatal(err)
		}
		runs, jobs := f.counts()
		_, err = f.start(base, "access-ovs")
		if !errors.Is(err, ErrApplyInProgress) {
			t.Fatalf("an apply while run %d is pending: %v; want ErrApplyInProgress", first, err)
		}
		for _, want := range []string{fmt.Sprintf("apply run %d", first), "by alice", "core-fw, edge-fw", fmt.Sprintf("ward apply -cancel %d", first), "ward serve"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal %q does not say %q", err, want)
			}
		}
		if r, j := f.counts(); r != runs || j != jobs {
			t.Fatalf("the refused apply recorded %d run(s) and %d job(s)", r-runs, j-jobs)
		}
		if _, _, err := st.CancelApply(ctx, first, "test", "cancelled by the test", applyKey, f.finish()); err != nil {
			t.Fatal(err)
		}
		second, err := f.start(base, "core-fw")
		if err != nil {
			t.Fatalf("an apply once run %d is cancelled: %v", first, err)
		}
		// The second run pushes core-fw, records its new state, settles.
		f.record("core-fw", "h2", second)
		if _, err := st.SettleApplyTarget(ctx, ApplyTarget{RunID: second, Target: "core-fw", Status: "applied"}, f.finish()); err != nil {
			t.Fatal(err)
		}
		runs, jobs = f.counts()
		_, err = f.start(base, "edge-fw")
		if !errors.Is(err, ErrPlanStale) || !strings.Contains(err.Error(), fmt.Sprintf("core-fw: applied by apply run %d", second)) || strings.Contains(err.Error(), "edge-fw:") {
			t.Fatalf("a plan made before run %d applied core-fw: %v; want ErrPlanStale naming core-fw (only)", second, err)
		}
		if _, err = f.start(ApplyBase{Digest: base.Digest}, "edge-fw"); !errors.Is(err, ErrPlanStale) {
			t.Fatalf("the same, its digest alone: %v; want ErrPlanStale", err)
		}
		if _, err = f.start(ApplyBase{}, "edge-fw"); !errors.Is(err, ErrPlanStale) || !strings.Contains(err.Error(), "older Ward") {
			t.Fatalf("a plan recording no state: %v; want ErrPlanStale", err)
		}
		if r, j := f.counts(); r != runs || j != jobs {
			t.Fatalf("the refused applies recorded %d run(s) and %d job(s)", r-runs, j-jobs)
		}
		if _, err := f.start(f.base(), "edge-fw"); err != nil {
			t.Fatalf("a plan made after run %d: %v", second, err)
		}
	})
}
