package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// TestStatusLeaderWhoseLeaseRanOut: the leadership row outlives a leader
// killed with kill -9 (it never resigns). ward status must not name it as
// the leader once its lease has run out; before the fix it printed
// "Leader: ward-a, epoch 1" for a replica long dead, with no one leading.
func TestStatusLeaderWhoseLeaseRanOut(t *testing.T) {
	db, st := scratchStore(t)
	ctx := context.Background()
	if err := st.PutReplica(ctx, store.Replica{ID: "ward-a", Host: "host-a", Pid: 11}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.ClaimLeadership(ctx, "scheduler", "ward-a", nil); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	st.Close()

	code, out, errs := runWard(t, "status", "-db", db, "-lease", "3s")
	if code != 0 || !strings.Contains(out, "Leader: ward-a, epoch 1") {
		t.Fatalf("status with a leader renewed just now: exit %d\n%s%s", code, out, errs)
	}
	time.Sleep(700 * time.Millisecond)
	code, out, errs = runWard(t, "status", "-db", db, "-lease", "300ms")
	if code != 0 || strings.Contains(out, "Leader: ward-a") || !strings.Contains(out, "Leader: none now — ward-a (epoch 1) has not renewed its lease") {
		t.Errorf("status 700 ms after the last renewal of a 300 ms lease: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "last leader (lease ran out)") {
		t.Errorf("the replicas' table still calls ward-a the leader:\n%s", out)
	}
}
