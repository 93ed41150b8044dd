package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/store"
)

// TestStatus: ward status shows the replicas, the leader and its epoch,
// the job backlog and the jobs failed for good, as the store holds them.
func TestStatus(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(dir, "credentials"))
	t.Setenv("WARD_AUDIT_KEY", "")
	db := "sqlite://" + filepath.Join(dir, "ward.db")

	code, out, errs := runWard(t, "status", "-db", db)
	if code != 0 || !strings.Contains(out, "Leader: none") || !strings.Contains(out, "Replicas (0)") {
		t.Fatalf("status of an empty store: exit %d\n%s%s", code, out, errs)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Replica{{ID: "ward-a", Host: "host-a", Pid: 11, Address: "10.0.0.1:8080"}, {ID: "ward-b", Host: "host-b", Pid: 22}} {
		if err := st.PutReplica(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	first, _, err := st.ClaimLeadership(ctx, "scheduler", "ward-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.ClaimLeadership(ctx, "scheduler", "ward-b", &first); err != nil || !ok {
		t.Fatalf("take-over: %v %v", ok, err)
	}
	if err := st.EnqueueJobs(ctx, store.Job{Kind: "quarantine.sync", Target: "core-fw", Key: "a"}, store.Job{Kind: "quarantine.sync", Target: "core-fw", Key: "b"}); err != nil {
		t.Fatal(err)
	}
	// An apply of two targets, one of them pushed.
	pl := store.Plan{Content: "{}", CreatedAt: st.Now()}
	if err := st.CreatePlan(ctx, &pl); err != nil {
		t.Fatal(err)
	}
	run := store.ApplyRun{PlanID: pl.ID, Status: "running", Actor: "alice", StartedAt: st.Now()}
	finish := func(store.ApplyRun, []store.ApplyTarget) (string, string, store.AuditEntry, error) {
		t.Fatal("the run finished with a target pending")
		return "", "", store.AuditEntry{}, nil
	}
	if err := st.StartApply(ctx, &run, []store.ApplyTarget{{Target: "access-ovs", Status: "applied"}, {Target: "edge-fw"}}, func(id uint64, t store.ApplyTarget) store.Job {
		return store.Job{Kind: "plan.apply", Target: t.Target, Key: "apply"}
	}, finish); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errs = runWard(t, "status", "-db", db)
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errs)
	}
	for _, want := range []string{"Leader: ward-b, epoch 2", "Replicas (2)", "ward-a  host-a  11   10.0.0.1:8080", "leader", "Job backlog: 3 unfinished", "core-fw: 2",
		"edge-fw: 1", "Applies in progress", "run 1 (plan 1) by alice", "1 of 2 target(s) pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("ward status lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runWard(t, "status", "-db", db, "-json")
	var v struct {
		Leader struct {
			Replica string
			Epoch   int64
		}
		Replicas []struct {
			ID     string
			Leader bool
		}
		Queued   int
		Applying []store.ApplyProgress `json:"applies_in_progress"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("status -json: exit %d\n%s%s", code, out, errs)
	}
	if v.Leader.Replica != "ward-b" || v.Leader.Epoch != 2 || len(v.Replicas) != 2 || v.Replicas[0].Leader || !v.Replicas[1].Leader || v.Queued != 3 ||
		len(v.Applying) != 1 || v.Applying[0].Pending != 1 || v.Applying[0].Actor != "alice" {
		t.Errorf("status -json = %+v", v)
	}
}
