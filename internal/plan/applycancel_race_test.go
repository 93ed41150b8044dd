package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// raceTargets and racePush make an apply that three replicas of three
// workers each take about half a second to push here (taking the targets'
// locks and the SSH sessions cost more than the push itself): long enough
// for cancels at 0–300 ms to land before, among and after the claims.
const (
	raceTargets  = 30
	racePush     = 5 * time.Millisecond
	raceReplicas = 3
	raceWorkers  = 3
)

// A cancel racing the workers that push an apply keeps its promise under
// every interleaving: three replicas' queues (each its own owner of the
// targets, on one PostgreSQL) push a 30-target apply while alice cancels
// it after 0 to 300 ms, or while every claimed push is held before it
// connects, or after the run finished (refused, not audited). Each target is then either pushed — its device received the
// configuration once and runs it, its row applied, its job done — or
// skipped — its device received nothing, its row skipped "cancelled by
// alice", its job superseded — and never both; what CancelApply returned
// says which (cancelled: skipped; still pushing: pushed and settled; a
// target already claimed when the cancel began is never cancelled); the
// run finishes once, with one apply.finish event whose results are the
// targets' final ones, and the cancel is audited once, as returned.
func TestCancelRacesWorkers(t *testing.T) {
	cases := []struct {
		name  string
		after time.Duration // from the queues' start to the cancel
		at    raceMoment
	}{
		{name: "at once"},
		{name: "after 5ms", after: 5 * time.Millisecond},
		{name: "after 20ms", after: 20 * time.Millisecond},
		{name: "after 60ms", after: 60 * time.Millisecond},
		{name: "after 150ms", after: 150 * time.Millisecond},
		{name: "after 300ms", after: 300 * time.Millisecond},
		{name: "pushes held", at: pushesHeld},
		{name: "after the run finished", at: runFinished},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCancelRace(t, c.after, c.at)
			r.check(t)
			switch {
			case c.at == pushesHeld && (len(r.cancelled) == 0 || len(r.running) == 0):
				// At most raceReplicas*raceWorkers pushes can be claimed
				// and held, so both lists must have targets.
				t.Errorf("with pushes held: cancelled %v, still pushing %v; want both non-empty", r.cancelled, r.running)
			case c.at == runFinished && !errors.Is(r.cancelErr, store.ErrApplyFinished):
				t.Errorf("cancelling the finished run: %v, want store.ErrApplyFinished", r.cancelErr)
			}
		})
	}
}

// raceMoment is when a case cancels: after a delay, once a push is held
// before it connects (all pushes held until the cancel returned), or once
// the run has finished.
type raceMoment int

const (
	afterDelay raceMoment = iota
	pushesHeld
	runFinished
)

// cancelRace is one run of the race and what was seen of it.
type cancelRace struct {
	fr                 *fanRun
	cancelled, running []string
	cancelErr          error
	start              time.Time // the replicas'
	claimedBefore      []string  // targets that had dialled (their jobs claimed) when the cancel began
	dialled            []string  // every target whose push began, at the end
}

// runCancelRace starts the replicas on a fresh apply, cancels it at the
// moment at says (after after, for afterDelay), waits for the run to
// finish and stops the replicas.
func runCancelRace(t *testing.T, after time.Duration, at raceMoment) *cancelRace {
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &cancelRace{fr: startFanRun(t, st, raceTargets, racePush)}
	gate := &dialGate{dial: r.fr.fleet.dial, open: make(chan struct{}), dialled: map[string]bool{}}
	if at != pushesHeld {
		gate.release()
	}
	r.start = time.Now()
	qctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range raceReplicas {
		owner := jobs.NewOwner(st, jobs.OwnerOptions{Holder: fmt.Sprintf("replica %c", 'A'+i)})
		q := jobs.NewQueue(st, owner, jobs.QueueOptions{Concurrency: raceWorkers, Poll: 20 * time.Millisecond, Heartbeat: 100 * time.Millisecond})
		HandleApplyJobs(q, Pusher{Drivers: r.fr.reg, Store: st, Dial: gate.Dial})
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = q.Run(qctx)
		}()
	}
	// However the test ends, the replicas stop before the store closes.
	defer func() {
		gate.release()
		stop()
		wg.Wait()
	}()
	finished := func() bool {
		run, err := st.GetApplyRun(ctx, r.fr.run)
		if err != nil {
			t.Fatal(err)
		}
		return run.FinishedAt != nil
	}
	switch at {
	case afterDelay:
		time.Sleep(after)
	case pushesHeld:
		waitFor(t, 5*time.Second, "a push to be claimed", func() bool { return len(gate.claimed()) > 0 })
	case runFinished:
		waitFor(t, 10*time.Second, "the run to finish", finished)
	}
	r.claimedBefore = gate.claimed()
	r.cancelled, r.running, r.cancelErr = CancelApply(ctx, st, r.fr.run, "alice")
	gate.release()
	if r.cancelErr != nil && !errors.Is(r.cancelErr, store.ErrApplyFinished) {
		t.Fatalf("CancelApply: %v", r.cancelErr)
	}
	waitFor(t, 10*time.Second, "the run to finish", finished)
	// Stopped, so every claimed job has been marked done before the check.
	stop()
	wg.Wait()
	r.dialled = gate.claimed()
	if run, err := st.GetApplyRun(ctx, r.fr.run); err == nil && run.FinishedAt != nil {
		t.Logf("claimed when the cancel began: %d; cancelled %d, still pushing %d (cancel error: %v); the run finished %s after the replicas started",
			len(r.claimedBefore), len(r.cancelled), len(r.running), r.cancelErr, run.FinishedAt.Sub(r.start).Round(time.Millisecond))
	}
	return r
}

// dialGate is the replicas' DialFunc: it notes each target dialled — its
// push has begun, its job is claimed, nothing is sent yet — and, until
// open is closed, holds the push there.
type dialGate struct {
	dial DialFunc
	open chan struct{}
	once sync.Once

	mu      sync.Mutex
	dialled map[string]bool
}

func (g *dialGate) Dial(ctx context.Context, target string) (drivers.Session, error) {
	g.mu.Lock()
	g.dialled[target] = true
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	return g.dial(ctx, target)
}

func (g *dialGate) release() { g.once.Do(func() { close(g.open) }) }

// claimed returns the targets dialled so far, sorted.
func (g *dialGate) claimed() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for target := range g.dialled {
		out = append(out, target)
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond every 5 ms for up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// check checks every clause of the cancel's promise on the finished run.
func (r *cancelRace) check(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	st := r.fr.st
	rows, err := st.ApplyTargets(ctx, r.fr.run)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != raceTargets {
		t.Fatalf("%d targets in the run, want %d", len(rows), raceTargets)
	}
	jobsOf := map[string][]store.Job{}
	for _, j := range mustJobs(t, st) {
		jobsOf[j.Target] = append(jobsOf[j.Target], j)
	}
	if r.cancelErr != nil && (r.cancelled != nil || r.running != nil) {
		t.Errorf("a refused cancel returned cancelled %v, still pushing %v", r.cancelled, r.running)
	}
	for _, n := range r.claimedBefore {
		if slices.Contains(r.cancelled, n) {
			t.Errorf("%s: its job was claimed (its push dialling) before the cancel began, yet the cancel says it cancelled it", n)
		}
	}
	var seqs []int
	skipped := 0
	for _, row := range rows {
		seqs = append(seqs, row.Seq)
		if row.Status == "skipped" {
			skipped++
		}
		r.checkTarget(t, row, jobsOf[row.Target])
	}
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != i+1 {
			t.Errorf("the targets' settle order (seq) is %v; want each of 1..%d once", seqs, raceTargets)
			break
		}
	}
	if skipped != len(r.cancelled) {
		t.Errorf("%d targets skipped, but the cancel cancelled %d", skipped, len(r.cancelled))
	}
	r.checkRun(t, rows, skipped > 0)
}

// checkTarget checks that target row was either pushed or skipped, as
// the cancel said, by its device, its row and its job.
func (r *cancelRace) checkTarget(t *testing.T, row store.ApplyTarget, js []store.Job) {
	t.Helper()
	n := row.Target
	running, received := r.fr.fleet.devices[n].state()
	want := targetNamed(r.fr.plan, n).Config
	wasCancelled, wasRunning := slices.Contains(r.cancelled, n), slices.Contains(r.running, n)
	if wasCancelled && wasRunning {
		t.Errorf("%s: the cancel says it both cancelled it and left it pushing", n)
	}
	if len(js) != 1 {
		t.Errorf("%s: %d jobs, want the one the apply queued: %+v", n, len(js), js)
		return
	}
	j := js[0]
	switch row.Status {
	case "applied":
		if wasCancelled {
			t.Errorf("%s: applied, but the cancel says it cancelled it", n)
		}
		if row.Error != "" || len(received) != 1 || received[0] != want || running != want {
			t.Errorf("%s: applied (%q); its device received %d configuration(s), runs the planned one: %v; want it received once and in force", n, row.Error, len(received), running == want)
		}
		if j.Status != store.JobDone {
			t.Errorf("%s: applied, but its job is %s (%q); want done", n, j.Status, j.LastError)
		}
	case "skipped":
		if !wasCancelled {
			t.Errorf("%s: skipped (%q), but the cancel did not say it cancelled it (still pushing: %v)", n, row.Error, wasRunning)
		}
		if !strings.Contains(row.Error, "cancelled by alice") {
			t.Errorf("%s: skipped with %q; want it to say cancelled by alice", n, row.Error)
		}
		if slices.Contains(r.dialled, n) {
			t.Errorf("%s: skipped as cancelled before its push started, yet a push of it began (dialled)", n)
		}
		if len(received) != 0 || running != "" {
			t.Errorf("%s: skipped, yet its device received %d configuration(s) (runs the planned one: %v)", n, len(received), running == want)
		}
		if j.Status != store.JobSuperseded || !strings.Contains(j.LastError, "cancelled by alice") {
			t.Errorf("%s: skipped, but its job is %s (%q); want superseded by alice's cancel", n, j.Status, j.LastError)
		}
	default:
		t.Errorf("%s: %s (%q) after the run finished; want applied or skipped (cancelled %v, still pushing %v)", n, row.Status, row.Error, wasCancelled, wasRunning)
	}
}

// checkRun checks the run's end and its audit: one apply.finish with the
// targets' final results, one apply.cancel saying what the cancel
// returned (none if the cancel was refused, the run over).
func (r *cancelRace) checkRun(t *testing.T, rows []store.ApplyTarget, anySkipped bool) {
	t.Helper()
	ctx := context.Background()
	run, err := r.fr.st.GetApplyRun(ctx, r.fr.run)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := "succeeded"
	if anySkipped {
		wantStatus = "failed"
	}
	if run.FinishedAt == nil || run.Status != wantStatus {
		t.Errorf("apply run: %s, finished at %v; want %s, finished", run.Status, run.FinishedAt, wantStatus)
	}
	events, err := r.fr.st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	object := fmt.Sprintf("apply run %d", r.fr.run)
	var finishes, cancels []store.AuditEvent
	for _, e := range events {
		switch {
		case e.Object != object:
		case e.Action == "apply.finish":
			finishes = append(finishes, e)
		case e.Action == "apply.cancel":
			cancels = append(cancels, e)
		}
	}
	if len(finishes) != 1 {
		t.Fatalf("%d apply.finish events for %s, want 1", len(finishes), object)
	}
	var fin struct {
		Status  string       `json:"status"`
		Results []PushResult `json:"results"`
	}
	if err := json.Unmarshal([]byte(finishes[0].Detail), &fin); err != nil {
		t.Fatal(err)
	}
	final := resultsOf(rows)
	if fin.Status != wantStatus || len(fin.Results) != len(final) {
		t.Errorf("apply.finish says %s with %d results; want %s with %d", fin.Status, len(fin.Results), wantStatus, len(final))
	}
	for i := range min(len(fin.Results), len(final)) {
		if got, want := fin.Results[i], final[i]; got.Target != want.Target || got.Status != want.Status || got.Error != want.Error {
			t.Errorf("apply.finish reports %s %s %q; the target ended %s %s %q", got.Target, got.Status, got.Error, want.Target, want.Status, want.Error)
		}
	}
	r.checkCancelEvent(t, cancels, run.PlanID)
}

// checkCancelEvent checks the run's apply.cancel events against what
// CancelApply returned.
func (r *cancelRace) checkCancelEvent(t *testing.T, cancels []store.AuditEvent, planID uint64) {
	t.Helper()
	if r.cancelErr != nil {
		if len(cancels) != 0 {
			t.Errorf("the cancel was refused (%v), yet %d apply.cancel events were recorded", r.cancelErr, len(cancels))
		}
		return
	}
	if len(cancels) != 1 {
		t.Fatalf("%d apply.cancel events, want 1", len(cancels))
	}
	var got struct {
		Cancelled    []string `json:"cancelled"`
		StillPushing []string `json:"still_pushing"`
		PlanID       uint64   `json:"plan_id"`
	}
	if err := json.Unmarshal([]byte(cancels[0].Detail), &got); err != nil {
		t.Fatal(err)
	}
	if cancels[0].Actor != "alice" || !slices.Equal(got.Cancelled, r.cancelled) || !slices.Equal(got.StillPushing, r.running) || got.PlanID != planID {
		t.Errorf("apply.cancel by %s says %+v; want by alice, cancelled %v, still pushing %v, plan %d", cancels[0].Actor, got, r.cancelled, r.running, planID)
	}
}
