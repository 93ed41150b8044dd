package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
	gossh "golang.org/x/crypto/ssh"
)

// workerEnv makes the test binary a worker process (applyWorkerMain).
const workerEnv = "WARD_PLAN_TEST_WORKER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(workerEnv); spec != "" {
		os.Exit(applyWorkerMain(spec))
	}
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// workerSpec is what a worker process needs: the database, and where the
// fleet's targets listen with their host keys.
type workerSpec struct {
	URL     string            `json:"url"`
	Addr    map[string]string `json:"addr"`
	HostKey map[string]string `json:"host_key"` // authorized_keys format
	Ready   string            `json:"ready"`    // a file written once the queue runs
}

// applyWorkerMain is a Ward process that pushes apply jobs (a replica's
// queue, and nothing else) until it is killed.
func applyWorkerMain(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var spec workerSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fleet := &fanFleet{addr: spec.Addr, hostKey: map[string]gossh.PublicKey{}}
	for name, k := range spec.HostKey {
		pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(k))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fleet.hostKey[name] = pk
	}
	ctx := context.Background()
	st, err := store.Open(ctx, spec.URL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	q := jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{Holder: "doomed worker"}), jobs.QueueOptions{Concurrency: 2, Heartbeat: 100 * time.Millisecond, Poll: 20 * time.Millisecond})
	HandleApplyJobs(q, Pusher{Drivers: fakeRegistry(), Store: st, Dial: fleet.dial})
	if err := os.WriteFile(spec.Ready, nil, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = q.Run(ctx)
	return 0
}

// fanRun is a fleet of n fake firewalls whose pushes take delay, the plan
// of its policy against st, and an apply of that plan started (recorded,
// its jobs queued) and not run.
type fanRun struct {
	st    *store.Store
	dir   string
	reg   *drivers.Registry
	names []string
	fleet *fanFleet
	plan  *Plan
	run   uint64
}

func startFanRun(t *testing.T, st *store.Store, n int, delay time.Duration) *fanRun {
	t.Helper()
	r := &fanRun{st: st, dir: t.TempDir(), reg: fakeRegistry()}
	r.names = fanPolicy(t, r.dir, n, 104)
	r.fleet = newFanFleet(t, r.names, delay)
	r.plan = fanPlan(t, r.dir, st, r.reg)
	r.run = r.start(t, r.plan)
	return r
}

// start records p and starts its apply.
func (r *fanRun) start(t *testing.T, p *Plan) uint64 {
	t.Helper()
	ctx := context.Background()
	row, err := Record(ctx, r.st, nil, p, "test")
	if err != nil {
		t.Fatal(err)
	}
	id, err := StartApply(ctx, row.ID, p, ApplyOptions{Drivers: r.reg, Store: r.st, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// An apply goes on when the process pushing it dies: a worker process
// takes the apply's jobs, two targets at a time, and is killed (-9) with
// pushes in flight; another process's queue finds the jobs the dead worker
// held and pushes them again, under the targets' owners. Every target ends
// up applied and recorded, the run is finished exactly once with every
// target in its results, and the next plan changes nothing.
func TestApplySurvivesKilledWorker(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fr := startFanRun(t, st, 8, time.Second)
	dir, reg, names, fleet, p, runID := fr.dir, fr.reg, fr.names, fr.fleet, fr.plan, fr.run

	spec := workerSpec{URL: url, Addr: fleet.addr, HostKey: map[string]string{}, Ready: filepath.Join(dir, "ready")}
	for name, k := range fleet.hostKey {
		spec.HostKey[name] = string(gossh.MarshalAuthorizedKey(k))
	}
	b, _ := json.Marshal(spec)
	specPath := filepath.Join(dir, "worker.json")
	if err := os.WriteFile(specPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+specPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	// Kill it once it has applied some targets and pushes others.
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := st.ApplyTargets(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(rows) - countPending(rows); n >= 2 && fleet.inflight.Load() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not apply two targets in 30s: %+v", rows)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	before, _ := st.ApplyTargets(ctx, runID)
	if countPending(before) == 0 {
		t.Fatal("the worker finished every target before it was killed: the test proves nothing")
	}

	q := jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{Holder: "surviving replica"}), jobs.QueueOptions{Concurrency: 4, Heartbeat: 100 * time.Millisecond})
	HandleApplyJobs(q, Pusher{Drivers: reg, Store: st, Dial: fleet.dial})
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var reported []string
	results, err := Await(actx, runID, ApplyOptions{Drivers: reg, Store: st, Dial: fleet.dial, Queue: q,
		OnResult: func(r PushResult) { reported = append(reported, r.Target) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(names) || len(reported) != len(names) {
		t.Fatalf("%d results, %d reported; want %d each", len(results), len(reported), len(names))
	}
	for _, r := range results {
		if r.Status != "applied" {
			t.Errorf("%s: %s %s", r.Target, r.Status, r.Error)
		}
		running, received := fleet.devices[r.Target].state()
		if want := targetNamed(p, r.Target).Config; running != want {
			t.Errorf("%s runs %q, want its planned configuration", r.Target, running)
		}
		if len(received) > 2 {
			t.Errorf("%s received the configuration %d times: once, or twice when its push was cut by the kill", r.Target, len(received))
		}
	}
	run, err := st.GetApplyRun(ctx, runID)
	if err != nil || run.Status != "succeeded" || run.FinishedAt == nil {
		t.Fatalf("apply run: %+v, %v", run, err)
	}
	events, err := st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	finishes := 0
	for _, e := range events {
		if e.Action == "apply.finish" && e.Object == fmt.Sprintf("apply run %d", runID) {
			finishes++
			if !strings.Contains(e.Detail, `"status":"succeeded"`) || !strings.Contains(e.Detail, p.Policy.Hash) {
				t.Errorf("apply.finish detail: %s", e.Detail)
			}
		}
	}
	if finishes != 1 {
		t.Errorf("%d apply.finish events for run %d, want 1", finishes, runID)
	}
	if again := fanPlan(t, dir, st, reg); len(again.Changed()) != 0 {
		t.Errorf("after the apply the next plan still changes %d target(s)", len(again.Changed()))
	}
}

// A push the device refuses is the target's result, not retried. A newer
// apply is refused while the run is pending (nothing recorded, nothing
// sent): the run's pushes would change the state the newer plan was
// judged against. Once the run is over, the plan made before it is
// refused as stale (the run applied a target); made again, it starts.
// (Before, the newer run was started and the older one's pushes skipped
// for it: store.NewerApply, now only a defence.)
func TestApplyJobRefusedAndNewerRefused(t *testing.T) {
	ctx := context.Background()
	fr := startFanRun(t, fanStore(t), 2, 10*time.Millisecond)
	st, reg, names, fleet, oldRun := fr.st, fr.reg, fr.names, fr.fleet, fr.run
	fleet.refuse(names[0])
	fanPolicy(t, fr.dir, 2, 105)
	newer := fanPlan(t, fr.dir, st, reg)
	row, err := Record(ctx, st, nil, newer, "test")
	if err != nil {
		t.Fatal(err)
	}
	o := ApplyOptions{Drivers: reg, Store: st, Dial: fleet.dial, Actor: "test"}
	if _, err := StartApply(ctx, row.ID, newer, o); !errors.Is(err, store.ErrApplyInProgress) || !strings.Contains(err.Error(), fmt.Sprintf("ward apply -cancel %d", oldRun)) {
		t.Fatalf("a newer apply while run %d is pending: %v; want store.ErrApplyInProgress naming the run and how to cancel it", oldRun, err)
	}
	if prog, err := st.RunningApplies(ctx); err != nil || len(prog) != 1 || prog[0].RunID != oldRun {
		t.Fatalf("applies in progress after the refusal: %+v, %v; want only run %d", prog, err, oldRun)
	}
	q := jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{}), jobs.QueueOptions{})
	HandleApplyJobs(q, Pusher{Drivers: reg, Store: st, Dial: fleet.dial})
	o.Queue = q
	oldRes, err := Await(ctx, oldRun, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range oldRes {
		want := "applied"
		if r.Target == names[0] {
			want = "failed"
		}
		if r.Status != want {
			t.Errorf("run %d, %s: %s %q; want %s", oldRun, r.Target, r.Status, r.Error, want)
		}
	}
	if _, err := StartApply(ctx, row.ID, newer, o); !errors.Is(err, store.ErrPlanStale) || !strings.Contains(err.Error(), names[1]+": applied by apply run") {
		t.Fatalf("the plan made before run %d applied %s: %v; want store.ErrPlanStale naming %s", oldRun, names[1], err, names[1])
	}
	again := fanPlan(t, fr.dir, st, reg)
	newRun := fr.start(t, again)
	newRes, err := Await(ctx, newRun, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range newRes {
		want := "applied"
		if r.Target == names[0] {
			want = "failed"
		}
		if r.Status != want {
			t.Errorf("newer run, %s: %s %q; want %s", r.Target, r.Status, r.Error, want)
		}
	}
	if _, received := fleet.devices[names[1]].state(); len(received) != 2 || received[1] != targetNamed(again, names[1]).Config {
		t.Errorf("%s received %d configurations: want the first run's, then the newer one's", names[1], len(received))
	}
	for _, j := range mustJobs(t, st) {
		if j.Status != store.JobDone || j.Attempts != 1 {
			t.Errorf("job %d (%s, %s): %s after %d attempt(s); want done after one (a refusal is a result)", j.ID, j.Kind, j.Target, j.Status, j.Attempts)
		}
	}
}

// A run whose pushes are waiting to be retried is still pending: a newer
// apply is refused meanwhile, and the retries settle as pushes do — one
// whose first attempt pushed and recorded settles applied, one whose
// first attempt failed pushes again — never "nothing was sent".
// (Before, the newer apply started and the retries were judged against
// it; that is now unreachable, and store.NewerApply only a defence.)
func TestApplyRetryWhileNewerRefused(t *testing.T) {
	ctx := context.Background()
	fr := startFanRun(t, fanStore(t), 2, time.Millisecond)
	st, reg, names, fleet, oldRun := fr.st, fr.reg, fr.names, fr.fleet, fr.run
	claim := func(target string) *store.Job {
		j, err := st.ClaimJob(ctx, store.ClaimOptions{Target: target, Worker: "w", Kinds: []string{ApplyJobKind}, Now: time.Now(), MaxAttempts: applyAttempts, MaxBackoff: time.Hour})
		if err != nil || j == nil {
			t.Fatalf("claim %s: %+v, %v", target, j, err)
		}
		return j
	}
	// names[0]: pushed and recorded, then settling failed.
	j0 := claim(names[0])
	if err := pushOne(ctx, targetNamed(fr.plan, names[0]), reg, st, fleet.dial, oldRun, "test"); err != nil {
		t.Fatal(err)
	}
	// names[1]: the attempt failed before anything was recorded.
	j1 := claim(names[1])
	for _, j := range []*store.Job{j0, j1} {
		if err := st.RetryJob(ctx, *j, "attempt 1 of 3: connection reset", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	fanPolicy(t, fr.dir, 2, 105)
	newer := fanPlan(t, fr.dir, st, reg)
	row, err := Record(ctx, st, nil, newer, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StartApply(ctx, row.ID, newer, ApplyOptions{Drivers: reg, Store: st, Actor: "test"}); !errors.Is(err, store.ErrApplyInProgress) {
		t.Fatalf("a newer apply while run %d waits to retry: %v; want store.ErrApplyInProgress", oldRun, err)
	}
	q := jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{}), jobs.QueueOptions{})
	HandleApplyJobs(q, Pusher{Drivers: reg, Store: st, Dial: fleet.dial})
	res, err := Await(ctx, oldRun, ApplyOptions{Drivers: reg, Store: st, Dial: fleet.dial, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != "applied" {
			t.Errorf("%s: %s %q; want applied (recorded by the first attempt, or pushed by the retry)", r.Target, r.Status, r.Error)
		}
		if strings.Contains(r.Error, "nothing was sent") {
			t.Errorf("%s: %q, but an attempt ran", r.Target, r.Error)
		}
	}
	if _, received := fleet.devices[names[0]].state(); len(received) != 1 {
		t.Errorf("%s received %d configurations: its first attempt pushed and recorded, so the retry sends nothing", names[0], len(received))
	}
}

func mustJobs(t *testing.T, st *store.Store) []store.Job {
	t.Helper()
	all, err := st.ListJobs(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// An apply that runs its own jobs waits for a target another process
// holds, says so (OnBusy) each time the owner's wait runs out, and pushes
// it once it is free.
func TestApplyWaitsForBusyTarget(t *testing.T) {
	ctx := context.Background()
	st := fanStore(t)
	dir := t.TempDir()
	reg := fakeRegistry()
	names := fanPolicy(t, dir, 2, 104)
	fleet := newFanFleet(t, names, 10*time.Millisecond)
	other := jobs.NewOwner(st, jobs.OwnerOptions{Holder: "another ward (test)"})
	held, release, gone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		gone <- other.Do(ctx, names[0], "quarantine", func(context.Context) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	q := jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{Wait: 200 * time.Millisecond}), jobs.QueueOptions{})
	HandleApplyJobs(q, Pusher{Drivers: reg, Store: st, Dial: fleet.dial})
	var busy []string
	var mu sync.Mutex
	done := make(chan []PushResult, 1)
	go func() {
		res, err := ApplyWith(ctx, fanPlan(t, dir, st, reg), ApplyOptions{Drivers: reg, Store: st, Dial: fleet.dial, Queue: q, Actor: "test",
			OnBusy: func(b *jobs.BusyError) {
				mu.Lock()
				defer mu.Unlock()
				busy = append(busy, b.Target+" held by "+b.Holder)
			}})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	time.Sleep(time.Second)
	if _, received := fleet.devices[names[0]].state(); len(received) != 0 {
		t.Fatalf("%s was pushed while another process held it", names[0])
	}
	close(release)
	if err := <-gone; err != nil {
		t.Fatal(err)
	}
	res := <-done
	for _, r := range res {
		if r.Status != "applied" {
			t.Errorf("%s: %s %s", r.Target, r.Status, r.Error)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(busy) == 0 || busy[0] != names[0]+" held by another ward (test)" {
		t.Errorf("OnBusy was told %q; want the held target and its holder", busy)
	}
}

// An apply job whose workers all died mid-push (its attempts used up
// while it was left running) is failed by the queue without a run of its
// handler: its target is settled failed, saying the outcome is unknown,
// and the run finishes — it never waits forever.
func TestApplyJobGivenUpSettlesItsTarget(t *testing.T) {
	fr := startFanRun(t, fanStore(t), 1, 10*time.Millisecond)
	st, names, fleet, runID := fr.st, fr.names, fr.fleet, fr.run
	// Three workers claim the job in turn and die with it running.
	spendApplyAttempts(t, st, names[0])
	res := awaitUnqueued(t, fr)
	if len(res) != 1 || res[0].Status != "failed" || !strings.Contains(res[0].Error, "gave up after 3 attempts") || !strings.Contains(res[0].Error, "run ward drift") {
		t.Fatalf("results %+v: want the target failed, its job given up, the outcome unknown", res)
	}
	if _, received := fleet.devices[names[0]].state(); len(received) != 0 {
		t.Errorf("the given-up job was pushed %d time(s)", len(received))
	}
	wantRunFinished(t, st, runID, "failed")
}

// spendApplyAttempts has a worker claim target's apply job for each of its
// attempts in turn and die with it running, so its attempts are used up.
func spendApplyAttempts(t *testing.T, st *store.Store, target string) {
	t.Helper()
	for i := range applyAttempts {
		j, err := st.ClaimJob(context.Background(), store.ClaimOptions{Target: target, Worker: fmt.Sprintf("dead worker %d", i), Kinds: []string{ApplyJobKind},
			Now: time.Now().Add(-time.Hour), MaxAttempts: applyAttempts, MaxBackoff: time.Hour})
		if err != nil || j == nil || j.Attempts != i+1 {
			t.Fatalf("claim %d: %+v, %v", i+1, j, err)
		}
	}
}

// awaitUnqueued awaits fr's run, which runs its jobs itself on a queue of
// its own, for 30 seconds at the most.
func awaitUnqueued(t *testing.T, fr *fanRun) []PushResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Await(ctx, fr.run, ApplyOptions{Drivers: fr.reg, Store: fr.st, Dial: fr.fleet.dial})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// wantRunFinished checks the apply run is finished with status.
func wantRunFinished(t *testing.T, st *store.Store, runID uint64, status string) {
	t.Helper()
	run, err := st.GetApplyRun(context.Background(), runID)
	if err != nil || run.Status != status || run.FinishedAt == nil {
		t.Fatalf("apply run %+v, %v: want finished, %s", run, err, status)
	}
}

// A push that reached the device, and whose job was queued again because
// recording its result failed, is not cancelled as "nothing was sent": the
// cancel leaves it to its retry, which finds the push recorded and settles
// the target applied without pushing again. A job never attempted is
// still cancelled.
func TestCancelApplyLeavesARetriedPush(t *testing.T) {
	ctx := context.Background()
	fr := startFanRun(t, fanStore(t), 2, time.Millisecond)
	st, names := fr.st, fr.names
	j, err := st.ClaimJob(ctx, store.ClaimOptions{Target: names[0], Worker: "w", Kinds: []string{ApplyJobKind}, Now: time.Now(), MaxAttempts: applyAttempts, MaxBackoff: time.Hour})
	if err != nil || j == nil {
		t.Fatalf("claim: %+v, %v", j, err)
	}
	// What Pusher.run does before it settles: the push, recorded.
	if err := pushOne(ctx, targetNamed(fr.plan, names[0]), fr.reg, st, fr.fleet.dial, fr.run, "test"); err != nil {
		t.Fatal(err)
	}
	// Settling failed (the store): the queue retries the job later.
	if err := st.RetryJob(ctx, *j, "attempt 1 of 3: recording the push: connection reset", time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	cancelled, running, err := CancelApply(ctx, st, fr.run, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cancelled, names[1:]) || !slices.Equal(running, names[:1]) {
		t.Fatalf("cancelled %v, still pushing %v; want %v cancelled and %v left to its retry", cancelled, running, names[1:], names[:1])
	}
	q := jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{}), jobs.QueueOptions{Backoff: func(int) time.Duration { return 0 }})
	HandleApplyJobs(q, Pusher{Drivers: fr.reg, Store: st, Dial: fr.fleet.dial})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := q.Drain(ctx, names...); err != nil {
			t.Fatal(err)
		}
		if run, _ := st.GetApplyRun(ctx, fr.run); run.FinishedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not finish: the retried push was never settled")
		}
		time.Sleep(100 * time.Millisecond)
	}
	res, err := RunResults(ctx, st, fr.run)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		running, received := fr.fleet.devices[r.Target].state()
		switch r.Target {
		case names[0]:
			if r.Status != "applied" || len(received) != 1 || running != targetNamed(fr.plan, r.Target).Config {
				t.Errorf("%s: %s %q, device received %d pushes; want applied, pushed once", r.Target, r.Status, r.Error, len(received))
			}
		default:
			if r.Status != "skipped" || len(received) != 0 {
				t.Errorf("%s: %s %q, device received %d pushes; want skipped, nothing sent", r.Target, r.Status, r.Error, len(received))
			}
		}
	}
}

// CancelApply skips every target whose push has not started — nothing is
// sent to it, its job never runs — and leaves a running push to end; the
// run finishes when that one settles; a finished run cannot be cancelled.
func TestCancelApply(t *testing.T) {
	ctx := context.Background()
	fr := startFanRun(t, fanStore(t), 3, 10*time.Millisecond)
	st, reg, names, fleet, runID := fr.st, fr.reg, fr.names, fr.fleet, fr.run
	// A live worker is pushing the first target.
	j, err := st.ClaimJob(ctx, store.ClaimOptions{Target: names[0], Worker: "live worker", Kinds: []string{ApplyJobKind}, Now: time.Now(), MaxAttempts: applyAttempts, MaxBackoff: time.Hour})
	if err != nil || j == nil {
		t.Fatalf("claim: %+v, %v", j, err)
	}
	cancelled, running, err := CancelApply(ctx, st, runID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cancelled, names[1:]) || !slices.Equal(running, names[:1]) {
		t.Fatalf("cancelled %v, still pushing %v; want %v and %v", cancelled, running, names[1:], names[:1])
	}
	q := jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{}), jobs.QueueOptions{})
	HandleApplyJobs(q, Pusher{Drivers: reg, Store: st, Dial: fleet.dial})
	if err := q.Drain(ctx, names[1:]...); err != nil {
		t.Fatal(err)
	}
	for _, n := range names[1:] {
		if _, received := fleet.devices[n].state(); len(received) != 0 {
			t.Errorf("%s, cancelled, was pushed", n)
		}
	}
	res, err := RunResults(ctx, st, runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		want := "skipped"
		if r.Target == names[0] {
			want = store.ApplyPending
		}
		if r.Status != want || (want == "skipped" && !strings.Contains(r.Error, "cancelled by alice")) {
			t.Errorf("%s: %s %q; want %s", r.Target, r.Status, r.Error, want)
		}
	}
	if run, _ := st.GetApplyRun(ctx, runID); run.FinishedAt != nil {
		t.Fatal("the run finished with a push still running")
	}
	// The running push ends and settles: the run is over.
	if err := st.CompleteJob(ctx, *j); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SettleApplyTarget(ctx, store.ApplyTarget{RunID: runID, Target: names[0], Status: "applied"}, finishRun); err != nil {
		t.Fatal(err)
	}
	if run, _ := st.GetApplyRun(ctx, runID); run.FinishedAt == nil || run.Status != "failed" {
		t.Fatalf("run after its last push: %+v; want finished, failed (targets skipped)", run)
	}
	if _, _, err := CancelApply(ctx, st, runID, "alice"); !errors.Is(err, store.ErrApplyFinished) {
		t.Errorf("cancelling a finished run: %v", err)
	}
	if _, _, err := CancelApply(ctx, st, runID+1, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancelling no run: %v", err)
	}
	events, err := st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	cancels := 0
	for _, e := range events {
		if e.Action == "apply.cancel" && e.Actor == "alice" {
			cancels++
		}
	}
	if cancels != 1 {
		t.Errorf("%d apply.cancel events by alice, want 1", cancels)
	}
}

// A push job whose last attempt pushed and recorded the new state, and
// whose worker then died before settling the target, is given up (no
// attempt left): the target is settled applied, as the target's recorded
// state and its target.apply event say — not failed with the outcome
// unknown.
func TestGivenUpAfterARecordedPushSettlesApplied(t *testing.T) {
	ctx := context.Background()
	fr := startFanRun(t, fanStore(t), 1, time.Millisecond)
	st, reg, names, fleet, runID := fr.st, fr.reg, fr.names, fr.fleet, fr.run
	spendApplyAttempts(t, st, names[0])
	// The last worker pushed and recorded, and died before settling.
	if err := pushOne(ctx, targetNamed(fr.plan, names[0]), reg, st, fleet.dial, runID, "test"); err != nil {
		t.Fatal(err)
	}
	res := awaitUnqueued(t, fr)
	if len(res) != 1 || res[0].Status != "applied" {
		t.Fatalf("results %+v: want the target applied, as its recorded state says", res)
	}
	if _, received := fleet.devices[names[0]].state(); len(received) != 1 {
		t.Errorf("the device received %d pushes, want 1", len(received))
	}
	wantRunFinished(t, st, runID, "succeeded")
}
