package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// giveUps is an OnGiveUp that fails its first failN calls (the store
// unreachable while it settles an apply's target, say), then succeeds.
type giveUps struct {
	mu    sync.Mutex
	failN int
	calls []string
	ok    string // why of the call that succeeded
}

func (g *giveUps) hook(_ context.Context, j store.Job, why string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, why)
	if len(g.calls) <= g.failN {
		return errors.New("could not record it: connection refused")
	}
	if g.ok == "" {
		g.ok = why
	}
	return nil
}

func (g *giveUps) settled() (string, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ok, len(g.calls)
}

// runUntilSettled runs q until g has settled a give-up and one job is
// failed for good, then stops it; after 10 seconds it fails the test.
func runUntilSettled(t *testing.T, ctx context.Context, q *Queue, st *store.Store, g *giveUps) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Run(ctx) }()
	failures := fmt.Sprintf("%d failures", g.failN)
	if g.failN == 1 {
		failures = "failure"
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		why, _ := g.settled()
		if why != "" && len(jobsByStatus(t, st, store.JobFailed)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			_, n := g.settled()
			t.Fatalf("after 10s: the give-up hook was called %d times, never successfully after its first %s; jobs: %+v", n, failures, jobsByStatus(t, st, ""))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}

// A give-up hook that fails is tried again until it succeeds, with the
// job's own reason: the job is failed for good only once what it was for
// is settled (an apply whose last target's give-up was lost would never
// finish). The handler does not run again meanwhile.
func TestQueueGiveUpRetriedUntilSettled(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		q := NewQueue(st, NewOwner(st, OwnerOptions{Holder: "serve"}), QueueOptions{Poll: 20 * time.Millisecond, Heartbeat: 20 * time.Millisecond})
		g := &giveUps{failN: 2}
		var mu sync.Mutex
		runs := 0
		q.HandleWith("push", KindOptions{MaxAttempts: 1, OnGiveUp: g.hook}, func(context.Context, store.Job) error {
			mu.Lock()
			runs++
			mu.Unlock()
			return errors.New("config rejected")
		})
		enqueue(t, st, store.Job{Kind: "push", Target: "core-fw"})
		runUntilSettled(t, context.Background(), q, st, g)
		why, _ := g.settled()
		if want := "attempt 1 of 1: config rejected"; why != want {
			t.Errorf("the settled give-up said %q, want the job's own failure %q", why, want)
		}
		if f := jobsByStatus(t, st, store.JobFailed); f[0].LastError != why {
			t.Errorf("failed job's last error %q, want %q", f[0].LastError, why)
		}
		mu.Lock()
		defer mu.Unlock()
		if runs != 1 {
			t.Errorf("the handler ran %d times, want 1 (its one attempt)", runs)
		}
	})
}

// A job left running by a worker that stopped, its attempts used up, is
// given up by the next claim of its target; if that give-up's hook fails,
// it is given up again later, not forgotten as failed.
func TestQueueStaleGiveUpRetriedUntilSettled(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		ctx := context.Background()
		enqueue(t, st, store.Job{Kind: "push", Target: "core-fw"})
		// A worker that claimed the job's last attempt and died.
		dead, err := st.ClaimJob(ctx, store.ClaimOptions{Target: "core-fw", Worker: "dead worker", Kinds: []string{"push"}, Now: time.Now()})
		if err != nil || dead == nil {
			t.Fatalf("claim: %v, %v", dead, err)
		}
		q := NewQueue(st, NewOwner(st, OwnerOptions{Holder: "serve"}), QueueOptions{Poll: 20 * time.Millisecond, Heartbeat: 20 * time.Millisecond})
		g := &giveUps{failN: 1}
		q.HandleWith("push", KindOptions{MaxAttempts: 1, OnGiveUp: g.hook}, func(context.Context, store.Job) error {
			t.Error("the handler ran a job whose attempts were used up")
			return nil
		})
		runUntilSettled(t, ctx, q, st, g)
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.calls) < 2 || g.calls[0] != g.calls[1] {
			t.Errorf("give-up reasons %q: want the same reason each time", g.calls)
		}
	})
}

// A job left running by a worker that stopped is judged — queued again,
// or given up — only by a queue that handles its kind, with that kind's
// attempts and OnGiveUp. A process with other handlers (a CLI draining
// quarantine pushes) that takes the target requeued it under its own
// default attempts, and the job's handler then ran once more than its kind
// allows.
func TestStaleJobJudgedByItsOwnKind(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		ctx := context.Background()
		enqueue(t, st, store.Job{Kind: "apply", Target: "core-fw"})
		if j, err := st.ClaimJob(ctx, store.ClaimOptions{Target: "core-fw", Worker: "dead worker", Kinds: []string{"apply"}, Now: time.Now()}); err != nil || j == nil {
			t.Fatalf("claim: %v, %v", j, err)
		}
		// Another process's queue, with other handlers, visits the target.
		other := NewQueue(st, NewOwner(st, OwnerOptions{Holder: "cli"}), QueueOptions{Heartbeat: 20 * time.Millisecond})
		other.Handle("sync", func(context.Context, store.Job) error { return nil })
		enqueue(t, st, store.Job{Kind: "sync", Target: "core-fw"})
		if err := other.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond) // the dead worker's claim is stale now
		serve := NewQueue(st, NewOwner(st, OwnerOptions{Holder: "serve"}), QueueOptions{Heartbeat: 20 * time.Millisecond})
		g := &giveUps{}
		runs := 0
		serve.HandleWith("apply", KindOptions{MaxAttempts: 1, OnGiveUp: g.hook}, func(context.Context, store.Job) error {
			runs++
			return nil
		})
		if err := serve.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		why, calls := g.settled()
		if runs != 0 || calls != 1 || !strings.Contains(why, "gave up after 1 attempts") {
			t.Fatalf("the apply job's handler ran %d more time(s) after its one attempt; its give-up was called %d time(s) (%q); jobs: %+v",
				runs, calls, why, jobsByStatus(t, st, ""))
		}
	})
}
