package quarantine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// reconcileJobs returns the reconcile jobs in st, by target (the newest
// of each).
func reconcileJobs(t *testing.T, st *store.Store) map[string]store.Job {
	t.Helper()
	all, err := st.ListJobs(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Job{}
	for _, j := range all {
		if j.Kind == ReconcileJobKind {
			out[j.Target] = j
		}
	}
	return out
}

// TestReconcileJobRepairsTargets: a reconcile job, run by the queue,
// adds what an active quarantine needs and a target lost, removes what no
// active quarantine explains, records the push with the fencing token of
// the hold it ran under, and audits the target it changed.
func TestReconcileJobRepairsTargets(t *testing.T) {
	const stray = "10.61.199.241"
	for _, tc := range []struct {
		name   string
		tamper func(f *fakeTargets)
		target string // the target the reconcile must change
		check  func(f *fakeTargets) error
	}{
		{
			name: "firewall lost the quarantine and holds a stray address",
			tamper: func(f *fakeTargets) {
				delete(f.sets["core-fw"][intent.IsolateSet], tvIP)
				f.sets["core-fw"][intent.IsolateSet][stray] = true
			},
			target: "core-fw",
			check: func(f *fakeTargets) error {
				if !f.in(intent.IsolateSet, tvIP) || f.in(intent.IsolateSet, stray) {
					return fmt.Errorf("isolate set holds %s: %v, %s: %v; want true, false", tvIP, f.in(intent.IsolateSet, tvIP), stray, f.in(intent.IsolateSet, stray))
				}
				return nil
			},
		},
		{
			name:   "switch port moved back to its own VLAN",
			tamper: func(f *fakeTargets) { f.ports["access-ovs"]["p-guest1"] = 190 },
			target: "access-ovs",
			check: func(f *fakeTargets) error {
				if p := f.port("p-guest1"); p != 999 {
					return fmt.Errorf("p-guest1 in VLAN %d, want the quarantine VLAN 999", p)
				}
				return nil
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			out, err := e.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelIsolate, Actor: "x"})
			if err != nil {
				t.Fatal(err)
			}
			e.f.mu.Lock()
			tc.tamper(e.f)
			e.f.mu.Unlock()
			if tc.check(e.f) == nil {
				t.Fatal("the tampering changed nothing: the test proves nothing")
			}
			targets, err := e.m.EnqueueReconcile(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(targets, []string{"access-ovs", "core-fw"}) {
				t.Fatalf("reconcile enqueued for %v, want access-ovs and core-fw", targets)
			}
			if err := e.m.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tc.check(e.f); err != nil {
				t.Fatalf("after the reconcile job: %v", err)
			}
			for target, j := range reconcileJobs(t, e.st) {
				if j.Status != store.JobDone || j.Key != "qreconcile:"+target {
					t.Errorf("reconcile job of %s: %s, key %q; want done, qreconcile:%s", target, j.Status, j.Key, target)
				}
			}

			var evs []store.AuditEvent
			e.st.DB.Where("action = ?", "quarantine.reconcile").Order("seq").Find(&evs)
			if len(evs) != 1 || evs[0].Object != tc.target {
				t.Fatalf("quarantine.reconcile audit events %+v, want one for %s", evs, tc.target)
			}
			var rep ReconcileReport
			if err := json.Unmarshal([]byte(evs[0].Detail), &rep); err != nil || len(rep.Added) != 1 || rep.Active != 1 {
				t.Errorf("audit detail %s (%v), want one addition among 1 active", evs[0].Detail, err)
			}

			h, err := e.st.QuarantineHistory(ctx, out.Quarantine.ID)
			if err != nil {
				t.Fatal(err)
			}
			last := h.Pushes[len(h.Pushes)-1]
			fence, err := e.st.FenceOf(ctx, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if last.Target != tc.target || !last.OK || last.Fence == 0 || last.Fence != fence {
				t.Errorf("last push %+v, want an OK push to %s with the target's last fencing token %d", last, tc.target, fence)
			}
			tl := TimelineOf(h)
			if ev := tl.Events[len(tl.Events)-1]; ev.Event != "Push to "+tc.target || ev.Fence != fence {
				t.Errorf("timeline's last event %+v, want the push to %s with fence %d", ev, tc.target, fence)
			}
		})
	}
}

// TestReconcileJobFailureIsRetried: a reconcile job whose target does not
// answer is an attempt recorded with its error and queued for a retry with
// backoff; after its last attempt it fails, and the target's audit event
// names the failure — once, not at every attempt; the next reconcile
// reconciles the target once it answers.
func TestReconcileJobFailureIsRetried(t *testing.T) {
	e := isolatedThenLost(t)
	ctx := context.Background()
	e.f.mu.Lock()
	e.f.fail["core-fw"] = errors.New("connection refused")
	e.f.mu.Unlock()
	if _, err := e.m.EnqueueReconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Drain(ctx); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Drain: %v, want core-fw's connection refused", err)
	}
	js := reconcileJobs(t, e.st)
	if j := js["core-fw"]; j.Status != store.JobQueued || j.Attempts != 1 || !strings.Contains(j.LastError, "connection refused") || !j.RunAt.After(j.CreatedAt) {
		t.Fatalf("core-fw's reconcile job %+v, want queued for a later retry after 1 attempt, with the error", j)
	}
	if j := js["access-ovs"]; j.Status != store.JobDone {
		t.Errorf("access-ovs's reconcile job %s, want done: a dead firewall holds up only its own", j.Status)
	}
	audits := func() []store.AuditEvent {
		var evs []store.AuditEvent
		e.st.DB.Where("action = ? AND object = ?", "quarantine.reconcile", "core-fw").Find(&evs)
		return evs
	}
	if evs := audits(); len(evs) != 0 {
		t.Errorf("core-fw's reconcile audited at its first attempt: %+v", evs)
	}
	deadline := time.Now().Add(15 * time.Second)
	for reconcileJobs(t, e.st)["core-fw"].Status != store.JobFailed {
		if time.Now().After(deadline) {
			t.Fatalf("core-fw's reconcile job never failed for good: %+v", reconcileJobs(t, e.st)["core-fw"])
		}
		time.Sleep(100 * time.Millisecond)
		_ = e.m.Drain(ctx)
	}
	if j := reconcileJobs(t, e.st)["core-fw"]; j.Attempts != reconcileAttempts {
		t.Errorf("core-fw's reconcile job failed after %d attempts, want %d", j.Attempts, reconcileAttempts)
	}
	if evs := audits(); len(evs) != 1 || !strings.Contains(evs[0].Detail, "connection refused") {
		t.Errorf("core-fw's reconcile audit events %+v, want one naming the failure", evs)
	}

	e.f.mu.Lock()
	delete(e.f.fail, "core-fw")
	e.f.mu.Unlock()
	if _, err := e.m.EnqueueReconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.f.in(intent.IsolateSet, tvIP) {
		t.Fatal("the next reconcile did not put the quarantine back on core-fw")
	}
	if j := reconcileJobs(t, e.st)["core-fw"]; j.Status != store.JobDone || j.Attempts != 1 {
		t.Errorf("core-fw's next reconcile job: %s after %d attempts, want done after 1", j.Status, j.Attempts)
	}
}

// TestEnqueueReconcileOncePerTarget: enqueueing the reconcile again while
// one waits leaves one queued job per target (its key), and ReconcileJobs
// runs them and reports what they found.
func TestEnqueueReconcileOncePerTarget(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelIsolate, Actor: "x"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.m.EnqueueReconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	queued, err := e.st.ListJobs(ctx, store.JobQueued)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, j := range queued {
		if j.Kind == ReconcileJobKind {
			per[j.Target]++
		}
	}
	if len(per) != 2 || per["core-fw"] != 1 || per["access-ovs"] != 1 {
		t.Fatalf("queued reconcile jobs per target %v, want one each for core-fw and access-ovs", per)
	}

	e.f.mu.Lock()
	delete(e.f.sets["core-fw"][intent.IsolateSet], tvIP)
	e.f.mu.Unlock()
	rep, err := e.m.ReconcileJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Active != 1 || len(rep.Added) != 1 || !strings.HasPrefix(rep.Added[0], "core-fw: ") || len(rep.Errors) != 0 {
		t.Errorf("ReconcileJobs report %+v, want core-fw's one addition among 1 active", rep)
	}
	if !e.f.in(intent.IsolateSet, tvIP) {
		t.Error("ReconcileJobs returned before core-fw was reconciled")
	}
	if n := len(reconcileJobs(t, e.st)); n != 2 {
		t.Errorf("%d targets with reconcile jobs, want 2", n)
	}
}

const reconcileChildEnv = "WARD_TEST_RECONCILE_CHILD_DB"

// TestReconcileJobsOutliveTheirLeader: a leader enqueues the reconcile and
// is killed (SIGKILL) while its queue runs core-fw's job; another Ward
// process on the same database, running only its job queue (it enqueues
// nothing), finishes the reconcile: core-fw, which lost its quarantine,
// holds it again. SQLite and PostgreSQL.
func TestReconcileJobsOutliveTheirLeader(t *testing.T) {
	for name, url := range dbKinds(t) {
		t.Run(name, func(t *testing.T) { reconcileOutlivesLeader(t, url(t)) })
	}
}

func reconcileOutlivesLeader(t *testing.T, url string) {
	st := seededStore(t, url)
	ctx := t.Context()
	first := newEnvOn(t, st, nil)
	if _, err := first.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelIsolate, Actor: "x"}); err != nil {
		t.Fatal(err)
	}

	child, stdout, stderr := startChild(t, ctx, "TestReconcileKillChild", reconcileChildEnv, url)
	reading := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READING core-fw" {
				close(reading)
			}
		}
	}()
	select {
	case <-reading:
	case <-time.After(time.Minute):
		child.Process.Kill()
		child.Wait()
		t.Fatalf("the child's queue never started core-fw's reconcile:\n%s", stderr.String())
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	if j := reconcileJobs(t, st)["core-fw"]; j.Status != store.JobRunning {
		t.Fatalf("core-fw's reconcile job after the kill: %+v, want running (left by the killed leader)", j)
	}

	// The survivor: its own (fake) core-fw lost the quarantine; it runs
	// only its queue.
	next := newEnvOn(t, st, nil)
	owner := jobs.NewOwner(st, jobs.OwnerOptions{})
	q := jobs.NewQueue(st, owner, jobs.QueueOptions{Deadline: 5 * time.Second})
	next.m.Jobs(q, owner)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); q.Run(rctx) }()
	defer func() { cancel(); <-done }()
	start := time.Now()
	for !next.f.in(intent.IsolateSet, tvIP) || reconcileJobs(t, st)["core-fw"].Status != store.JobDone {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("30 s after the leader died core-fw is not reconciled: holds %s: %v; job %+v", tvIP, next.f.in(intent.IsolateSet, tvIP), reconcileJobs(t, st)["core-fw"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the survivor reconciled core-fw %s after the leader died", time.Since(start).Round(time.Millisecond))
	all, err := st.ListJobs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range all {
		if j.Kind == ReconcileJobKind && j.Target == "core-fw" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reconcile jobs for core-fw, want the leader's one only", n)
	}
}

// TestReconcileKillChild is the leader TestReconcileJobsOutliveTheirLeader
// kills; it does nothing on its own.
func TestReconcileKillChild(t *testing.T) {
	url := os.Getenv(reconcileChildEnv)
	if url == "" {
		t.Fatal("run only as the child process of TestReconcileJobsOutliveTheirLeader")
	}
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, st, nil)
	// core-fw's reconcile stops at its first read, holding the target.
	e.f.onRead = func(target string) {
		if target == "core-fw" {
			fmt.Printf("READING %s\n", target)
			select {} // until killed
		}
	}
	owner := jobs.NewOwner(st, jobs.OwnerOptions{})
	q := jobs.NewQueue(st, owner, jobs.QueueOptions{})
	e.m.Jobs(q, owner)
	go q.Run(context.Background())
	if _, err := e.m.EnqueueReconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {} // until killed
}
