package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// finishCounting is an ApplyFinisher that counts its calls and says
// "failed" when any target is not "applied".
func finishCounting(calls *int, mu *sync.Mutex) ApplyFinisher {
	return func(run ApplyRun, targets []ApplyTarget) (string, string, AuditEntry, error) {
		mu.Lock()
		*calls++
		mu.Unlock()
		status := "succeeded"
		var names []string
		for _, t := range targets {
			if t.Status != "applied" {
				status = "failed"
			}
			names = append(names, t.Target+"="+t.Status)
		}
		return status, strings.Join(names, ","), AuditEntry{Actor: "test", Action: "apply.finish", Object: fmt.Sprintf("apply run %d", run.ID)}, nil
	}
}

// A run's targets are settled once each, in any order and concurrently;
// the run is finished exactly once, by whichever settle was last, with the
// jobs committed with it; a second settle of a target changes nothing.
func TestApplySettlesOnceAndFinishesOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		if err := st.CreatePlan(ctx, &Plan{Content: "{}", CreatedAt: st.Now()}); err != nil {
			t.Fatal(err)
		}
		const n = 20
		var targets []ApplyTarget
		for i := range n {
			targets = append(targets, ApplyTarget{Target: fmt.Sprintf("fw-%02d", i), Plan: fmt.Sprintf(`{"name":"fw-%02d"}`, i)})
		}
		targets = append(targets, ApplyTarget{Target: "render-only", Status: "not_pushed", Error: "push = false"})
		var mu sync.Mutex
		calls := 0
		run := ApplyRun{PlanID: 1, Status: "running", StartedAt: st.Now()}
		err := st.StartApply(ctx, &run, targets, func(id uint64, t ApplyTarget) Job {
			return Job{Kind: "plan.apply", Target: t.Target, Payload: fmt.Sprintf(`{"run":%d}`, id), Key: fmt.Sprintf("apply:%d:%s", id, t.Target)}
		}, finishCounting(&calls, &mu))
		if err != nil {
			t.Fatal(err)
		}
		if jobs := listJobs(t, st, JobQueued); len(jobs) != n {
			t.Fatalf("%d jobs queued with the run, want %d (one per pending target)", len(jobs), n)
		}
		got, err := st.ApplyTargetOf(ctx, run.ID, "fw-03")
		if err != nil || got.Plan != `{"name":"fw-03"}` || got.Status != ApplyPending {
			t.Fatalf("ApplyTargetOf: %+v, %v", got, err)
		}
		if prog, err := st.RunningApplies(ctx); err != nil || len(prog) != 1 || prog[0].RunID != run.ID || prog[0].Targets != n+1 || prog[0].Pending != n {
			t.Fatalf("RunningApplies before any push: %+v, %v; want run %d with %d of %d pending", prog, err, run.ID, n, n+1)
		}
		var wg sync.WaitGroup
		settledBy := make([]int, n)
		for i := range n {
			for try := range 2 { // each target settled twice, concurrently
				wg.Go(func() {
					ok, err := st.SettleApplyTarget(ctx, ApplyTarget{RunID: run.ID, Target: fmt.Sprintf("fw-%02d", i), Status: "applied", DurationNS: int64(try)}, finishCounting(&calls, &mu))
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						settledBy[i]++
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		for i, c := range settledBy {
			if c != 1 {
				t.Errorf("fw-%02d settled %d times", i, c)
			}
		}
		if calls != 1 {
			t.Fatalf("the run was finished %d times, want once", calls)
		}
		if prog, err := st.RunningApplies(ctx); err != nil || len(prog) != 0 {
			t.Errorf("RunningApplies after the run finished: %+v, %v", prog, err)
		}
		r, err := st.GetApplyRun(ctx, run.ID)
		if err != nil || r.Status != "failed" || r.FinishedAt == nil || !strings.Contains(r.Summary, "render-only=not_pushed") {
			t.Fatalf("run after the last settle: %+v, %v", r, err)
		}
		rows, err := st.ApplyTargets(ctx, run.ID)
		if err != nil || len(rows) != n+1 {
			t.Fatalf("ApplyTargets: %d rows, %v", len(rows), err)
		}
		for i, row := range rows {
			if row.Seq != i+1 || row.Plan != "" {
				t.Errorf("row %d: seq %d, plan %q: want settle order and no plan", i, row.Seq, row.Plan)
			}
		}
		if rows[0].Target != "render-only" {
			t.Errorf("first settled %s, want render-only (settled at the start)", rows[0].Target)
		}
		events, err := st.ListAudit(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		finishes := 0
		for _, e := range events {
			if e.Action == "apply.finish" {
				finishes++
			}
		}
		if finishes != 1 {
			t.Errorf("%d apply.finish events, want 1", finishes)
		}
		if newer, err := st.NewerApply(ctx, run.ID-1, "fw-01"); err != nil || newer != run.ID {
			t.Errorf("NewerApply(before the run) = %d, %v; want %d", newer, err, run.ID)
		}
		if newer, err := st.NewerApply(ctx, run.ID, "fw-01"); err != nil || newer != 0 {
			t.Errorf("NewerApply(the run) = %d, %v; want 0", newer, err)
		}
	})
}

// A run with nothing to push is finished by StartApply itself.
func TestStartApplyWithNothingPending(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreatePlan(ctx, &Plan{Content: "{}", CreatedAt: st.Now()}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	run := ApplyRun{PlanID: 1, Status: "running", StartedAt: st.Now()}
	err = st.StartApply(ctx, &run, []ApplyTarget{{Target: "lab-fw", Status: "not_pushed"}}, func(uint64, ApplyTarget) Job {
		t.Fatal("a job for a target that is not pending")
		return Job{}
	}, finishCounting(&calls, &mu))
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.GetApplyRun(ctx, run.ID)
	if err != nil || calls != 1 || r.FinishedAt == nil || r.Status != "failed" {
		t.Fatalf("run %+v, finished %d times, %v", r, calls, err)
	}
}

// TestCreatePlanAudited: a plan and its plan.create event commit together;
// an event that cannot be written leaves no plan behind.
func TestCreatePlanAudited(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		event := func(id uint64) AuditEntry {
			return AuditEntry{Actor: "alice", Action: "plan.create", Object: fmt.Sprintf("plan %d", id)}
		}
		row := Plan{Content: "{}", CreatedAt: st.Now()}
		if err := st.CreatePlan(ctx, &row, event); err != nil {
			t.Fatal(err)
		}
		events, err := st.ListAudit(ctx, 0)
		if err != nil || len(events) != 1 || events[0].Object != fmt.Sprintf("plan %d", row.ID) {
			t.Fatalf("events after a plan: %+v, %v; want one plan.create naming plan %d", events, err, row.ID)
		}
		broken := func(uint64) AuditEntry {
			return AuditEntry{Actor: "alice", Action: "plan.create", Detail: make(chan int)}
		}
		if err := st.CreatePlan(ctx, &Plan{Content: "{}", CreatedAt: st.Now()}, broken); err == nil {
			t.Fatal("a plan whose audit event could not be written was recorded")
		}
		var plans int64
		if err := st.DB.Model(&Plan{}).Count(&plans).Error; err != nil || plans != 1 {
			t.Errorf("%d plans (%v); want the first only: a plan without its audit event must not stay", plans, err)
		}
	})
}
