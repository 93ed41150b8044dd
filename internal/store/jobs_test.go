package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

func mustEnqueue(t *testing.T, st *Store, jobs ...Job) {
	t.Helper()
	if err := st.EnqueueJobs(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
}

func claim(t *testing.T, st *Store, target, worker string, now time.Time) *Job {
	t.Helper()
	j, err := st.ClaimJob(context.Background(), ClaimOptions{Target: target, Worker: worker, Kinds: []string{"push"}, Now: now, MaxAttempts: 3, MaxBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func listJobs(t *testing.T, st *Store, status string) []Job {
	t.Helper()
	js, err := st.ListJobs(context.Background(), status)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// At most one queued job per key, whoever enqueues it and however many
// at once; a running job does not count, and its retry is superseded by
// the queued one.
func TestEnqueueIdempotentByKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- st.EnqueueJobs(ctx, Job{Kind: "push", Target: "core-fw", Key: "quarantine:7"})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		mustEnqueue(t, st, Job{Kind: "push", Target: "core-fw"}, Job{Kind: "push", Target: "core-fw"}) // no key: never merged
		if q := listJobs(t, st, JobQueued); len(q) != 3 || q[0].Key != "quarantine:7" {
			t.Fatalf("queued after 16 enqueues of one key and 2 without: %+v", q)
		}
		j := claim(t, st, "core-fw", "w1", time.Now())
		if j == nil || j.Key != "quarantine:7" {
			t.Fatalf("claimed %+v", j)
		}
		// The decision changed while the job runs: the work is wanted
		// again, since the running job may have read the old state.
		mustEnqueue(t, st, Job{Kind: "push", Target: "core-fw", Key: "quarantine:7"})
		if err := st.RetryJob(ctx, *j, "timeout", time.Now()); err != nil {
			t.Fatal(err)
		}
		all := listJobs(t, st, "")
		if all[0].Status != JobSuperseded || all[0].FinishedAt == nil || all[3].Status != JobQueued || all[3].Key != "quarantine:7" {
			t.Fatalf("after retry of a job whose key was queued again: %+v", all)
		}
	})
}

// Work enqueued in a transaction exists exactly when the transaction
// commits.
func TestEnqueueInTransaction(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		boom := errors.New("decision refused")
		err := st.DB.Transaction(func(tx *gorm.DB) error {
			if err := enqueueJobs(tx, Job{Kind: "push", Target: "core-fw"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || len(listJobs(t, st, "")) != 0 {
			t.Fatalf("rolled-back enqueue: err %v, jobs %+v", err, listJobs(t, st, ""))
		}
		if err := st.DB.Transaction(func(tx *gorm.DB) error { return enqueueJobs(tx, Job{Kind: "push", Target: "core-fw"}) }); err != nil {
			t.Fatal(err)
		}
		if js := listJobs(t, st, JobQueued); len(js) != 1 || js[0].RunAt.IsZero() {
			t.Fatalf("committed enqueue: %+v", js)
		}
		if err := st.EnqueueJobs(context.Background(), Job{Kind: "push"}); err == nil || !strings.Contains(err.Error(), "needs a kind and a target") {
			t.Fatalf("a job without a target: %v", err)
		}
	})
}

// Jobs of a target are claimed in ID order; one waiting for its retry
// holds back those behind it; other kinds and targets are not taken.
func TestClaimJobOrder(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		now := time.Now()
		mustEnqueue(t, st,
			Job{Kind: "expire", Target: "core-fw", Payload: "other kind"},
			Job{Kind: "push", Target: "core-fw", Payload: "1"},
			Job{Kind: "push", Target: "access-3w", Payload: "other target"},
			Job{Kind: "push", Target: "core-fw", Payload: "2"},
		)
		j := claim(t, st, "core-fw", "w", now)
		if j == nil || j.Payload != "1" || j.Status != JobRunning || j.Attempts != 1 || j.LockedBy != "w" {
			t.Fatalf("first claim %+v", j)
		}
		if err := st.RetryJob(ctx, *j, "refused", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if j := claim(t, st, "core-fw", "w", now); j != nil {
			t.Fatalf("claimed %+v while the head of the target waits for its retry", j)
		}
		due, err := st.DueTargets(ctx, []string{"push"}, now, time.Minute, time.Hour)
		if err != nil || strings.Join(due, ",") != "access-3w" {
			t.Fatalf("due targets %v %v, want access-3w only", due, err)
		}
		j = claim(t, st, "core-fw", "w", now.Add(time.Minute))
		if j == nil || j.Payload != "1" || j.Attempts != 2 || j.LastError != "refused" {
			t.Fatalf("retry claim %+v", j)
		}
		if err := st.CompleteJob(ctx, *j); err != nil {
			t.Fatal(err)
		}
		if j := claim(t, st, "core-fw", "w", now); j == nil || j.Payload != "2" {
			t.Fatalf("next claim %+v", j)
		}
	})
}

// A wall clock set back two hours neither holds back a job enqueued to
// run at once nor a retry for longer than any backoff.
func TestClaimJobClockBack(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		now := time.Now()
		mustEnqueue(t, st, Job{Kind: "push", Target: "core-fw"})
		back := now.Add(-2 * time.Hour)
		j := claim(t, st, "core-fw", "w", back)
		if j == nil {
			t.Fatal("a job enqueued to run now was held back by a clock set back")
		}
		if err := st.RetryJob(ctx, *j, "refused", now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if j := claim(t, st, "core-fw", "w", now); j != nil {
			t.Fatal("a retry ran before its backoff")
		}
		if j := claim(t, st, "core-fw", "w", back); j == nil {
			t.Fatal("a retry was held back 2h by a clock set back")
		}
		// A job scheduled ahead waits for its time.
		mustEnqueue(t, st, Job{Kind: "push", Target: "access-3w", RunAt: now.Add(time.Hour)})
		if j := claim(t, st, "access-3w", "w", now); j != nil {
			t.Fatal("a job scheduled an hour ahead ran now")
		}
	})
}

// A job left running by a worker that stopped is queued again at the
// next claim of its target (its owner can be the only worker on it), or
// failed once it used up its attempts; the stopped worker cannot settle
// it afterwards.
func TestClaimRequeuesOrphans(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		now := time.Now()
		mustEnqueue(t, st, Job{Kind: "push", Target: "core-fw"})
		dead := claim(t, st, "core-fw", "dead worker", now)
		due, err := st.DueTargets(ctx, []string{"push"}, now.Add(30*time.Second), time.Minute, time.Hour)
		if err != nil || len(due) != 0 {
			t.Fatalf("a job running for 30s judged an orphan: %v %v", due, err)
		}
		due, err = st.DueTargets(ctx, []string{"push"}, now.Add(2*time.Minute), time.Minute, time.Hour)
		if err != nil || strings.Join(due, ",") != "core-fw" {
			t.Fatalf("an orphan's target is not visited: %v %v", due, err)
		}
		j := claim(t, st, "core-fw", "w2", now)
		if j == nil || j.ID != dead.ID || j.Attempts != 2 || !strings.Contains(j.LastError, "claimed by dead worker") {
			t.Fatalf("orphan not re-run: %+v", j)
		}
		if err := st.CompleteJob(ctx, *dead); !errors.Is(err, ErrJobLost) {
			t.Fatalf("the stopped worker settled a job taken over: %v", err)
		}
		// Third attempt dies too: it is failed, not run a fourth time.
		claim(t, st, "core-fw", "w3", now) // re-queues w2's claim and takes it (attempt 3)
		if j := claim(t, st, "core-fw", "w4", now); j != nil {
			t.Fatalf("a job that used up its attempts was claimed again: %+v", j)
		}
		f := listJobs(t, st, JobFailed)
		if len(f) != 1 || !strings.Contains(f[0].LastError, "gave up after 3 attempts") {
			t.Fatalf("failed: %+v", f)
		}
	})
}

func TestJobBacklogAndPrune(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		now := time.Now()
		mustEnqueue(t, st, Job{Kind: "push", Target: "a"}, Job{Kind: "push", Target: "a"}, Job{Kind: "push", Target: "b"})
		j := claim(t, st, "b", "w", now)
		if err := st.CompleteJob(ctx, *j); err != nil {
			t.Fatal(err)
		}
		claim(t, st, "a", "w", now)
		b, err := st.JobBacklog(ctx)
		if err != nil || len(b) != 1 || b["a"] != 2 {
			t.Fatalf("backlog %v %v", b, err)
		}
		if n, err := st.PruneJobs(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("pruned %d recent jobs: %v", n, err)
		}
		if n, err := st.PruneJobs(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("pruned %d, want the one done job: %v", n, err)
		}
		if len(listJobs(t, st, "")) != 2 {
			t.Fatal("prune removed unfinished jobs")
		}
	})
}

// QueuedJobs returns only the queued jobs of one target and kind, oldest
// first, at most limit: a claimed job, another target's or another kind's
// are not batched with the job a worker runs.
func TestQueuedJobs(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		mustEnqueue(t, st,
			Job{Kind: "push", Target: "core-fw", Payload: "a"},
			Job{Kind: "push", Target: "edge-fw", Payload: "other target"},
			Job{Kind: "push", Target: "core-fw", Payload: "b"},
			Job{Kind: "other", Target: "core-fw", Payload: "other kind"},
			Job{Kind: "push", Target: "core-fw", Payload: "c"},
			Job{Kind: "push", Target: "core-fw", Payload: "d"},
		)
		if j := claim(t, st, "core-fw", "w", time.Now()); j == nil || j.Payload != "a" {
			t.Fatalf("claimed %+v, want the job with payload a", j)
		}
		payloads := func(limit int) []string {
			js, err := st.QueuedJobs(ctx, "core-fw", "push", limit)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, j := range js {
				out = append(out, j.Payload)
			}
			return out
		}
		if got := strings.Join(payloads(10), ","); got != "b,c,d" {
			t.Errorf("queued push jobs of core-fw = %s, want b,c,d (oldest first; not the running one, nor another target's or kind's)", got)
		}
		if got := strings.Join(payloads(2), ","); got != "b,c" {
			t.Errorf("with limit 2 = %s, want b,c", got)
		}
	})
}

// PruneJobsOfKind deletes that kind's finished jobs, failed ones too,
// older than the bound; another kind's, and unfinished ones, stay.
func TestPruneJobsOfKind(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		now := time.Now()
		mustEnqueue(t, st, Job{Kind: "push", Target: "a"}, Job{Kind: "push", Target: "b"}, Job{Kind: "other", Target: "c"}, Job{Kind: "push", Target: "d"})
		if err := st.CompleteJob(ctx, *claim(t, st, "a", "w", now)); err != nil {
			t.Fatal(err)
		}
		if err := st.FailJob(ctx, *claim(t, st, "b", "w", now), "attempt 3 of 3: connection refused"); err != nil {
			t.Fatal(err)
		}
		other, err := st.ClaimJob(ctx, ClaimOptions{Target: "c", Worker: "w", Kinds: []string{"other"}, Now: now, MaxAttempts: 3, MaxBackoff: time.Hour})
		if err != nil || other == nil {
			t.Fatalf("claim: %+v %v", other, err)
		}
		if err := st.FailJob(ctx, *other, "refused"); err != nil {
			t.Fatal(err)
		}
		if n, err := st.PruneJobsOfKind(ctx, "push", time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("pruned %d recent jobs: %v", n, err)
		}
		if n, err := st.PruneJobsOfKind(ctx, "push", time.Now().Add(time.Hour)); err != nil || n != 2 {
			t.Fatalf("pruned %d, want the done and the failed push: %v", n, err)
		}
		left := listJobs(t, st, "")
		if len(left) != 2 || left[0].Target != "c" || left[1].Target != "d" {
			t.Fatalf("left %+v: want the other kind's failed job and the queued push", left)
		}
	})
}
