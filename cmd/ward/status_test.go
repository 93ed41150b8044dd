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
	st.Close()

	code, out, errs = runWard(t, "status", "-db", db)
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errs)
	}
	for _, want := range []string{"Leader: ward-b, epoch 2", "Replicas (2)", "ward-a  host-a  11   10.0.0.1:8080", "leader", "Job backlog: 2 unfinished", "core-fw: 2"} {
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
		Queued int
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("status -json: exit %d\n%s%s", code, out, errs)
	}
	if v.Leader.Replica != "ward-b" || v.Leader.Epoch != 2 || len(v.Replicas) != 2 || v.Replicas[0].Leader || !v.Replicas[1].Leader || v.Queued != 2 {
		t.Errorf("status -json = %+v", v)
	}
}
