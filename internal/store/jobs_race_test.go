package store

import (
	"context"
	"testing"
	"time"
)

// A decision's transaction that enqueues a job whose key already has a
// queued job relies on that job to do its work. If a worker claimed and
// ran the queued job after the enqueue but before the decision committed,
// the job read the store without the decision, and nothing queued is left
// to act on it: a release (or a quarantine) would reach the target only at
// the next reconcile. After the decision commits, the key's work must be
// queued, or claimed no earlier than the commit; and the claim must not
// take a later job of the target meanwhile (a target's jobs run in order).
func TestEnqueueIntoQueuedJobRacesClaim(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		now := time.Now()
		mustEnqueue(t, st,
			Job{Kind: "push", Target: "core-fw", Key: "qsync:core-fw:7"},
			Job{Kind: "push", Target: "core-fw", Key: "qsync:core-fw:8"})

		decision := st.DB.WithContext(ctx).Begin()
		if err := decision.Error; err != nil {
			t.Fatal(err)
		}
		defer decision.Rollback()
		if err := enqueueJobs(decision, Job{Kind: "push", Target: "core-fw", Key: "qsync:core-fw:7"}); err != nil {
			t.Fatal(err)
		}

		type result struct {
			j   *Job
			err error
			at  time.Time
		}
		got := make(chan result, 1)
		go func() {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			j, err := st.ClaimJob(cctx, ClaimOptions{Target: "core-fw", Worker: "w1", Kinds: []string{"push"}, Now: now, MaxAttempts: 3, MaxBackoff: time.Hour})
			got <- result{j, err, time.Now()}
		}()
		time.Sleep(300 * time.Millisecond)
		committed := time.Now()
		if err := decision.Commit().Error; err != nil {
			t.Fatal(err)
		}
		r := <-got
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.j != nil && r.j.Key == "qsync:core-fw:8" {
			t.Fatalf("claimed job %d (key %s) before the target's older job with key qsync:core-fw:7", r.j.ID, r.j.Key)
		}
		claimedBefore := r.j != nil && r.at.Before(committed)
		var queued int64
		if err := st.DB.Model(&Job{}).Where(`"key" = ? AND status = ?`, "qsync:core-fw:7", JobQueued).Count(&queued).Error; err != nil {
			t.Fatal(err)
		}
		if claimedBefore && queued == 0 {
			t.Fatalf("job %d (key %s) was claimed %s before the decision that enqueued into it committed, and no job of the key is queued: the decision's work is lost",
				r.j.ID, r.j.Key, committed.Sub(r.at).Round(time.Millisecond))
		}
		if r.j == nil && queued != 1 {
			t.Fatalf("nothing claimed, and %d queued jobs of the key, want 1", queued)
		}
	})
}
