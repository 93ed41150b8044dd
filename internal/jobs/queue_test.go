package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/store"
)

func enqueue(t *testing.T, st *store.Store, jobs ...store.Job) {
	t.Helper()
	if err := st.EnqueueJobs(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
}

func jobsByStatus(t *testing.T, st *store.Store, status string) []store.Job {
	t.Helper()
	js, err := st.ListJobs(context.Background(), status)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Jobs of a blackholed target (its handler blocks until the deadline) do
// not delay jobs of the other targets.
func TestQueueDeadTargetDelaysOnlyItself(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		owner := NewOwner(st, OwnerOptions{Holder: "serve"})
		q := NewQueue(st, owner, QueueOptions{Deadline: 3 * time.Second, Poll: 50 * time.Millisecond, Concurrency: 4})
		var mu sync.Mutex
		done := map[string]time.Time{}
		q.Handle("push", func(ctx context.Context, j store.Job) error {
			if j.Target == "dead-fw" {
				<-ctx.Done() // packets dropped: the dial hangs until the deadline
				return fmt.Errorf("dial %s: %w", j.Target, ctx.Err())
			}
			mu.Lock()
			done[j.Target+"/"+j.Payload] = time.Now()
			mu.Unlock()
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ran := make(chan error, 1)
		go func() { ran <- q.Run(ctx) }()

		// The dead target first, with more jobs than Concurrency.
		for i := range 6 {
			enqueue(t, st, store.Job{Kind: "push", Target: "dead-fw", Payload: strconv.Itoa(i)})
		}
		q.Notify()
		time.Sleep(200 * time.Millisecond) // the dead target's worker is stuck now
		start := time.Now()
		var want []string
		for i := range 8 {
			tg := fmt.Sprintf("fw-%d", i)
			enqueue(t, st, store.Job{Kind: "push", Target: tg, Payload: "a"}, store.Job{Kind: "push", Target: tg, Payload: "b"})
			want = append(want, tg+"/a", tg+"/b")
		}
		q.Notify()
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := len(done)
			mu.Unlock()
			if n == len(want) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		for _, k := range want {
			at, ok := done[k]
			if !ok {
				t.Errorf("job %s not done within 1s while dead-fw hangs", k)
			} else if at.Sub(start) > time.Second {
				t.Errorf("job %s done %s after enqueue", k, at.Sub(start))
			}
		}
		mu.Unlock()
		cancel()
		if err := <-ran; err != nil {
			t.Fatal(err)
		}
		// The dead target's first job timed out and waits for a retry,
		// holding back the ones behind it; none was lost.
		var dead []store.Job
		for _, j := range jobsByStatus(t, st, "") {
			if j.Target == "dead-fw" {
				dead = append(dead, j)
			}
		}
		if len(dead) != 6 || dead[0].Status != store.JobQueued || dead[0].Attempts != 1 || !strings.Contains(dead[0].LastError, "deadline") {
			t.Fatalf("dead target's jobs: %+v", dead)
		}
	})
}

// A failing job is retried after its backoff and gives up after
// MaxAttempts, kept as failed with its last error.
func TestQueueRetriesWithBackoff(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		owner := NewOwner(st, OwnerOptions{})
		const backoff = 300 * time.Millisecond
		var mu sync.Mutex
		outcomes := map[string][]string{}
		onFinish := func(j store.Job, outcome string, since time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if since <= 0 {
				t.Errorf("job %d finished %v after it was enqueued", j.ID, since)
			}
			outcomes[j.Kind] = append(outcomes[j.Kind], outcome)
		}
		q := NewQueue(st, owner, QueueOptions{MaxAttempts: 3, Backoff: func(int) time.Duration { return backoff }, Poll: 20 * time.Millisecond, OnFinish: onFinish})
		var attempts []time.Time
		q.Handle("flaky", func(ctx context.Context, j store.Job) error {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, time.Now())
			if len(attempts) < 3 {
				return fmt.Errorf("connection refused (attempt %d)", len(attempts))
			}
			return nil
		})
		q.Handle("broken", func(ctx context.Context, j store.Job) error { return errors.New("config rejected") })
		enqueue(t, st, store.Job{Kind: "flaky", Target: "core-fw"}, store.Job{Kind: "broken", Target: "access-3w"})

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go func() { _ = q.Run(ctx) }()
		for ctx.Err() == nil {
			if len(jobsByStatus(t, st, store.JobQueued))+len(jobsByStatus(t, st, store.JobRunning)) == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) != 3 {
			t.Fatalf("flaky job ran %d times, want 3", len(attempts))
		}
		if got := fmt.Sprint(outcomes["flaky"], outcomes["broken"]); got != "[retry retry done] [retry retry failed]" {
			t.Errorf("OnFinish outcomes (flaky, broken) = %s", got)
		}
		for i := 1; i < len(attempts); i++ {
			if gap := attempts[i].Sub(attempts[i-1]); gap < backoff {
				t.Errorf("attempt %d ran %s after the previous, before its backoff %s", i+1, gap, backoff)
			}
		}
		done := jobsByStatus(t, st, store.JobDone)
		failed := jobsByStatus(t, st, store.JobFailed)
		if len(done) != 1 || done[0].Kind != "flaky" || done[0].Attempts != 3 {
			t.Fatalf("done: %+v", done)
		}
		if len(failed) != 1 || failed[0].Kind != "broken" || failed[0].Attempts != 3 || !strings.Contains(failed[0].LastError, "attempt 3 of 3: config rejected") || failed[0].FinishedAt == nil {
			t.Fatalf("failed: %+v", failed)
		}
	})
}

// A job claimed by a process killed while running it is run again.
func TestQueueRerunsJobOfKilledProcess(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, url string) {
		dir := t.TempDir()
		enqueue(t, st, store.Job{Kind: "push", Target: "core-fw", Payload: "x", Key: "push:core-fw"})
		cmd := child{mode: "queue-hold", url: url, dir: dir, target: "core-fw", ttl: 15 * time.Second, holder: "serve (doomed)"}.start(t)
		waitFile(t, filepath.Join(dir, "started"), 20*time.Second)
		running := jobsByStatus(t, st, store.JobRunning)
		if len(running) != 1 || !strings.Contains(running[0].LockedBy, "serve (doomed)") {
			t.Fatalf("running: %+v", running)
		}
		// A job enqueued behind it runs after it.
		enqueue(t, st, store.Job{Kind: "push", Target: "core-fw", Payload: "y"})
		kill9(t, cmd)

		owner := NewOwner(st, OwnerOptions{Holder: "cli", Wait: 5 * time.Second})
		q := NewQueue(st, owner, QueueOptions{})
		var ran []string
		q.Handle("push", func(ctx context.Context, j store.Job) error {
			ran = append(ran, j.Payload)
			return nil
		})
		if err := q.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		if strings.Join(ran, ",") != "x,y" {
			t.Fatalf("ran %v, want the killed process's job x again, then y", ran)
		}
		all := jobsByStatus(t, st, "")
		if len(all) != 2 || all[0].Status != store.JobDone || all[0].Attempts != 2 || all[1].Status != store.JobDone {
			t.Fatalf("jobs: %+v", all)
		}
	})
}

// Drain runs every due job of the named targets in ID order per target,
// leaves jobs not yet due and kinds it has no handler for, and reports
// failures.
func TestQueueDrain(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		owner := NewOwner(st, OwnerOptions{})
		q := NewQueue(st, owner, QueueOptions{Backoff: func(int) time.Duration { return time.Hour }})
		var mu sync.Mutex
		ran := map[string][]string{}
		q.Handle("push", func(ctx context.Context, j store.Job) error {
			mu.Lock()
			defer mu.Unlock()
			ran[j.Target] = append(ran[j.Target], j.Payload)
			if j.Payload == "fail" {
				return errors.New("device said no")
			}
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("handler ran without a deadline")
			}
			return nil
		})
		later := time.Now().Add(time.Hour)
		for i := range 5 {
			enqueue(t, st, store.Job{Kind: "push", Target: "core-fw", Payload: strconv.Itoa(i)})
			enqueue(t, st, store.Job{Kind: "push", Target: "access-3w", Payload: strconv.Itoa(i)})
		}
		enqueue(t, st,
			store.Job{Kind: "push", Target: "core-fw", Payload: "later", RunAt: later},
			store.Job{Kind: "expire", Target: "core-fw", Payload: "unhandled"},
			store.Job{Kind: "push", Target: "other", Payload: "not drained"},
			store.Job{Kind: "push", Target: "bad-fw", Payload: "fail"},
			store.Job{Kind: "push", Target: "bad-fw", Payload: "behind the failure"},
		)
		err := q.Drain(context.Background(), "core-fw", "access-3w", "bad-fw")
		if err == nil || !strings.Contains(err.Error(), `target "bad-fw", attempt 1 of 10: device said no; retrying in 1h0m0s`) {
			t.Fatalf("Drain: %v, want the bad-fw failure", err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, tg := range []string{"core-fw", "access-3w"} {
			if got := strings.Join(ran[tg], ","); got != "0,1,2,3,4" {
				t.Errorf("%s ran %s, want 0,1,2,3,4 in order", tg, got)
			}
		}
		if got := strings.Join(ran["bad-fw"], ","); got != "fail" {
			t.Errorf("bad-fw ran %s: the job behind a failed one must wait for it", got)
		}
		if len(ran["other"]) != 0 {
			t.Error("Drain ran a target it was not asked for")
		}
		backlog, err := st.JobBacklog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if backlog["core-fw"] != 2 || backlog["other"] != 1 || backlog["bad-fw"] != 2 || backlog["access-3w"] != 0 {
			t.Fatalf("backlog %v", backlog)
		}
	})
}

// Enqueue commits with the decision: an idempotent key, and jobs that
// arrive while Run sleeps start at Notify, not at the next poll.
func TestQueueNotifyStartsAtOnce(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	owner := NewOwner(st, OwnerOptions{})
	q := NewQueue(st, owner, QueueOptions{Poll: time.Hour})
	got := make(chan time.Time, 1)
	q.Handle("push", func(context.Context, store.Job) error { got <- time.Now(); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = q.Run(ctx) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := q.Enqueue(context.Background(), store.Job{Kind: "push", Target: "core-fw"}); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-got:
		if at.Sub(start) > 500*time.Millisecond {
			t.Fatalf("job started %s after Notify", at.Sub(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("job did not start after Notify")
	}
}

// A handler that panics fails its attempt instead of the process.
func TestQueueHandlerPanic(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	q := NewQueue(st, NewOwner(st, OwnerOptions{}), QueueOptions{MaxAttempts: 1})
	q.Handle("push", func(context.Context, store.Job) error { panic("nil map") })
	enqueue(t, st, store.Job{Kind: "push", Target: "core-fw"})
	if err := q.Drain(context.Background()); err == nil || !strings.Contains(err.Error(), "handler panicked: nil map") {
		t.Fatalf("Drain: %v", err)
	}
	if f := jobsByStatus(t, st, store.JobFailed); len(f) != 1 {
		t.Fatalf("failed jobs %+v", f)
	}
}

// When Run's context ends (ward serve stopping), the job in flight
// finishes and is recorded done; nothing further starts.
func TestQueueStopFinishesJobInFlight(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	q := NewQueue(st, NewOwner(st, OwnerOptions{}), QueueOptions{Poll: 20 * time.Millisecond})
	started := make(chan struct{}, 2)
	q.Handle("push", func(ctx context.Context, j store.Job) error {
		started <- struct{}{}
		select {
		case <-time.After(500 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return fmt.Errorf("push cut off: %w", ctx.Err())
		}
	})
	enqueue(t, st, store.Job{Kind: "push", Target: "core-fw", Payload: "1"}, store.Job{Kind: "push", Target: "core-fw", Payload: "2"})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- q.Run(ctx) }()
	<-started
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	all := jobsByStatus(t, st, "")
	if all[0].Status != store.JobDone || all[1].Status != store.JobQueued || all[1].Attempts != 0 {
		t.Fatalf("after stop: %+v, want the first done and the second untouched", all)
	}
}

// Two ward serve processes run one queue: every job runs exactly once,
// jobs of a target in order and never two at a time, and both processes
// take part.
func TestQueueTwoProcesses(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, url string) {
		dir := t.TempDir()
		var cmds []*exec.Cmd
		for i := range 2 {
			cmds = append(cmds, child{mode: "queue-run", url: url, dir: dir, ttl: 15 * time.Second, holder: "serve " + strconv.Itoa(i)}.start(t))
		}
		targets := []string{"core-fw", "access-3w", "access-4e"}
		const perTarget = 30
		for i := range perTarget {
			for _, tg := range targets {
				enqueue(t, st, store.Job{Kind: "push", Target: tg, Payload: strconv.Itoa(i)})
			}
			if i%5 == 0 {
				time.Sleep(20 * time.Millisecond) // arrive while workers run
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := st.JobBacklog(context.Background()); err == nil && len(b) == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := os.WriteFile(filepath.Join(dir, "stop"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("serve %d: %v", i, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "overlap")); err == nil {
			t.Fatal("two jobs of one target ran at the same time")
		}
		pids := map[string]bool{}
		for _, tg := range targets {
			data, err := os.ReadFile(filepath.Join(dir, tg+".log"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) != perTarget {
				t.Fatalf("%s ran %d jobs, want %d:\n%s", tg, len(lines), perTarget, data)
			}
			for i, l := range lines {
				payload, pid, _ := strings.Cut(l, " ")
				if payload != strconv.Itoa(i) {
					t.Fatalf("%s: job %d ran as %s: out of order\n%s", tg, i, payload, data)
				}
				pids[pid] = true
			}
		}
		if len(pids) != 2 {
			t.Logf("only one process ran jobs (%v): allowed, but the test then shows less", pids)
		}
		if d := jobsByStatus(t, st, store.JobDone); len(d) != perTarget*len(targets) {
			t.Fatalf("%d jobs done, want %d", len(d), perTarget*len(targets))
		}
	})
}

// HeldBack says when a target's work waits behind an earlier failure
// for its retry, which Drain does not run.
func TestHeldBack(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	q := NewQueue(st, NewOwner(st, OwnerOptions{}), QueueOptions{Backoff: func(int) time.Duration { return time.Hour }})
	fail := true
	q.Handle("push", func(context.Context, store.Job) error {
		if fail {
			return errors.New("connection refused")
		}
		return nil
	})
	enqueue(t, st, store.Job{Kind: "push", Target: "core-fw", Payload: "1"})
	if err := q.Drain(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("first Drain: %v", err)
	}
	// Another command enqueues and drains: its job is behind the failed one.
	fail = false
	enqueue(t, st, store.Job{Kind: "push", Target: "core-fw", Payload: "2"},
		store.Job{Kind: "push", Target: "access-3w", Payload: "scheduled", RunAt: time.Now().Add(time.Hour)})
	if err := q.Drain(context.Background()); err != nil {
		t.Fatalf("second Drain: %v (nothing was due)", err)
	}
	err := q.HeldBack(context.Background())
	if err == nil || !strings.Contains(err.Error(), `target "core-fw": 2 job(s) wait for job 1 (push) to be retried at `) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("HeldBack: %v, want the held-back work named", err)
	}
	if strings.Contains(err.Error(), "access-3w") {
		t.Fatalf("a job scheduled for later is reported as held back: %v", err)
	}
	if err := q.HeldBack(context.Background(), "access-3w"); err != nil {
		t.Fatalf("HeldBack of another target: %v", err)
	}
}

// TestQueueRetriesFencedAtOnce: a push the device refused for an older
// fencing token runs again without the backoff (the next run takes the
// target with a greater token), but still counts as an attempt.
func TestQueueRetriesFencedAtOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		owner := NewOwner(st, OwnerOptions{})
		const backoff = time.Hour
		q := NewQueue(st, owner, QueueOptions{MaxAttempts: 3, Backoff: func(int) time.Duration { return backoff }, Poll: 20 * time.Millisecond})
		var mu sync.Mutex
		var tokens []int64
		q.Handle("push", func(ctx context.Context, j store.Job) error {
			tok, _ := drivers.FenceOf(ctx)
			mu.Lock()
			defer mu.Unlock()
			tokens = append(tokens, tok)
			if len(tokens) == 1 {
				return &drivers.FencedError{Target: j.Target, Mine: tok, Seen: tok + 1, DeviceState: "test"}
			}
			return nil
		})
		enqueue(t, st, store.Job{Kind: "push", Target: "core-fw"})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go func() { _ = q.Run(ctx) }()
		for ctx.Err() == nil && len(jobsByStatus(t, st, store.JobDone)) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		done := jobsByStatus(t, st, store.JobDone)
		if len(done) != 1 || done[0].Attempts != 2 {
			t.Fatalf("done jobs %+v; want the push done at its second attempt, well before the %v backoff", done, backoff)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(tokens) != 2 || tokens[1] <= tokens[0] {
			t.Errorf("tokens of the two runs %v; want the second greater", tokens)
		}
	})
}

// A kind registered with its own options keeps them: its deadline, not
// the queue's, ends its handler, and its attempts, not the queue's, fail
// it — while another kind keeps the queue's.
func TestQueueKindOptions(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	q := NewQueue(st, NewOwner(st, OwnerOptions{}), QueueOptions{MaxAttempts: 5, Deadline: 5 * time.Second, Backoff: func(int) time.Duration { return 0 }})
	// The handler's context is given its deadline before the handler is
	// called, so the time the handler itself waits is a little under it:
	// the test reads the deadline it was given and checks the wait ends
	// there (a 5 s deadline would show as ~5 s, none as no deadline).
	var slowGiven, slowRan time.Duration
	q.HandleWith("slow", KindOptions{Deadline: 200 * time.Millisecond, MaxAttempts: 1}, func(ctx context.Context, j store.Job) error {
		start := time.Now()
		if dl, ok := ctx.Deadline(); ok {
			slowGiven = dl.Sub(start)
		}
		<-ctx.Done()
		slowRan = time.Since(start)
		return ctx.Err()
	})
	runs := 0
	q.Handle("flaky", func(context.Context, store.Job) error {
		runs++
		return errors.New("connection refused")
	})
	enqueue(t, st, store.Job{Kind: "slow", Target: "core-fw"}, store.Job{Kind: "flaky", Target: "access-3w"})
	for range 5 {
		_ = q.Drain(context.Background())
	}
	if slowGiven <= 0 || slowGiven > 200*time.Millisecond || slowRan < slowGiven || slowRan > 2*time.Second {
		t.Errorf("the slow kind's handler was given %s and ran %s: want its own 200ms deadline, not the queue's 5s", slowGiven, slowRan)
	}
	failed := jobsByStatus(t, st, store.JobFailed)
	if len(failed) != 2 {
		t.Fatalf("failed jobs: %+v", failed)
	}
	for _, j := range failed {
		switch j.Kind {
		case "slow":
			if j.Attempts != 1 || !strings.Contains(j.LastError, "attempt 1 of 1") || !strings.Contains(j.LastError, "deadline 200ms") {
				t.Errorf("slow job: %+v", j)
			}
		case "flaky":
			if j.Attempts != 5 || runs != 5 {
				t.Errorf("flaky job ran %d times, recorded %d attempts: want the queue's 5", runs, j.Attempts)
			}
		}
	}
}

// A job that runs for longer than five heartbeats is renewed by its
// worker, so another worker does not come asking for its target (which
// would wait for the owner, then report the target busy).
func TestQueueHeartbeatKeepsLongJobOwn(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		const beat = 50 * time.Millisecond
		a := NewQueue(st, NewOwner(st, OwnerOptions{Holder: "worker A"}), QueueOptions{Heartbeat: beat, Poll: 20 * time.Millisecond})
		b := NewQueue(st, NewOwner(st, OwnerOptions{Holder: "worker B", Wait: 3 * time.Second}), QueueOptions{Heartbeat: beat})
		started := make(chan struct{})
		slow := func(ctx context.Context, j store.Job) error {
			close(started)
			time.Sleep(1500 * time.Millisecond)
			return nil
		}
		a.Handle("push", slow)
		b.Handle("push", func(context.Context, store.Job) error { t.Error("worker B ran a job worker A was running"); return nil })
		enqueue(t, st, store.Job{Kind: "push", Target: "core-fw"})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Run(ctx) }()
		<-started
		time.Sleep(10 * beat) // twice as old as a claim may be without renewal
		start := time.Now()
		if err := b.Drain(context.Background()); err != nil {
			t.Errorf("worker B's Drain: %v", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("worker B's Drain took %s: it waited for the target of a job whose worker is alive", took)
		}
		cancel()
		<-done
		if d := jobsByStatus(t, st, store.JobDone); len(d) != 1 || d[0].Attempts != 1 {
			t.Fatalf("done jobs: %+v", d)
		}
	})
}

// A kind with its own Retain has its finished jobs — failed ones too —
// pruned by Run after that long; other kinds keep theirs.
func TestQueueKindRetain(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	q := NewQueue(st, NewOwner(st, OwnerOptions{}), QueueOptions{Poll: 20 * time.Millisecond, MaxAttempts: 1})
	q.HandleWith("reconcile", KindOptions{Retain: 200 * time.Millisecond}, func(_ context.Context, j store.Job) error {
		if j.Target == "dead-fw" {
			return errors.New("connection refused")
		}
		return nil
	})
	q.Handle("push", func(context.Context, store.Job) error { return nil })
	enqueue(t, st, store.Job{Kind: "reconcile", Target: "core-fw"}, store.Job{Kind: "reconcile", Target: "dead-fw"}, store.Job{Kind: "push", Target: "core-fw"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		all := jobsByStatus(t, st, "")
		if len(all) == 1 && all[0].Kind == "push" && all[0].Status == store.JobDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs after 5s: %+v; want only the push, done", all)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
}

// OnGiveUp is called once for a job failed for good after its last
// attempt, with why, and not after an attempt that is retried.
func TestQueueOnGiveUp(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	q := NewQueue(st, NewOwner(st, OwnerOptions{}), QueueOptions{Backoff: func(int) time.Duration { return 0 }})
	var events []string
	q.HandleWith("push", KindOptions{MaxAttempts: 2, OnGiveUp: func(_ context.Context, j store.Job, why string) error {
		events = append(events, fmt.Sprintf("gave up on %s: %s", j.Target, why))
		return nil
	}}, func(_ context.Context, j store.Job) error {
		events = append(events, fmt.Sprintf("attempt %d", j.Attempts))
		return errors.New("config rejected")
	})
	enqueue(t, st, store.Job{Kind: "push", Target: "core-fw"})
	_ = q.Drain(context.Background())
	if got := strings.Join(events, "; "); got != "attempt 1; attempt 2; gave up on core-fw: attempt 2 of 2: config rejected" {
		t.Fatalf("events: %s", got)
	}
}
