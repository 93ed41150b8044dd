package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// An apply is durable: StartApply records the run, each changed target's
// part of the plan and one job per target to push (ApplyJobKind) in one
// transaction; any Ward process whose queue has HandleApplyJobs pushes
// them, each under its target's owner; the push that settles a run's last
// target finishes the run. So an apply that a replica took goes on if that
// replica dies, and Await — in whichever process asked — reports each
// target as it is settled, wherever it was pushed.

// ApplyJobKind is the job that pushes one target of an apply run.
const ApplyJobKind = "plan.apply"

// TargetDeadline bounds one target's push in an apply, its read-back
// included: a device that hangs mid-command fails after it, and its
// target is free for the next job.
const TargetDeadline = 5 * time.Minute

// applyAttempts is how many times a target's push job runs. A push the
// device refused is a result, reported and not tried again; the further
// attempts are for a worker that died mid-push, a push fenced by a newer
// owner, or a store that could not record the outcome.
const applyAttempts = 3

// applyPayload is an apply job's payload.
type applyPayload struct {
	Run uint64 `json:"run"`
}

// runDetail is what an apply run's apply.finish audit event says besides
// the results; written at the start of the run (store.ApplyRun.Detail).
type runDetail struct {
	PolicyHash    string    `json:"policy_hash"`
	InventoryHash string    `json:"inventory_hash"`
	PlanID        uint64    `json:"plan_id"`
	Approval      *Approval `json:"essential_change_approval,omitempty"`
	// StateDigest is the recorded state the plan was judged against.
	StateDigest string `json:"state_digest,omitempty"`
}

// Pusher pushes the targets of apply runs: the handler of ApplyJobKind.
type Pusher struct {
	Drivers *drivers.Registry
	Store   *store.Store
	Dial    DialFunc
}

// HandleApplyJobs makes q push apply runs' targets with p. A push job
// that fails for good — its attempts used up, or its workers dead on each
// — settles its target as failed, so the run always finishes.
func HandleApplyJobs(q *jobs.Queue, p Pusher) {
	q.HandleWith(ApplyJobKind, jobs.KindOptions{Deadline: TargetDeadline, MaxAttempts: applyAttempts, OnGiveUp: p.gaveUp}, p.run)
}

// StartApply records an apply run of plan planID (p, as checked) and the
// jobs that push its changed targets, in one transaction, and wakes
// o.Queue. Targets that are not pushed (push = false, driver unavailable)
// are settled at once. It returns the run's ID; Await follows it.
//
// It is refused, nothing recorded, while another apply run has targets
// pending (store.ErrApplyInProgress), and when any target's recorded state
// changed since p was made (store.ErrPlanStale): p, its essential-flow
// check above all, was judged against the state it read, every target's.
func StartApply(ctx context.Context, planID uint64, p *Plan, o ApplyOptions) (uint64, error) {
	if err := CheckDrivers(p, o.Drivers); err != nil {
		return 0, err
	}
	if p.StateDigest == "" {
		return 0, fmt.Errorf("the plan records no state of the targets (made by an older Ward, or without a store), so what it was judged against is unknown: make a new plan and review it; nothing was applied: %w", store.ErrPlanStale)
	}
	detail, err := json.Marshal(runDetail{PolicyHash: p.Policy.Hash, InventoryHash: p.Inventory.Hash, PlanID: planID, Approval: p.Approval, StateDigest: p.StateDigest})
	if err != nil {
		return 0, err
	}
	var targets []store.ApplyTarget
	for _, tp := range p.Changed() {
		t := store.ApplyTarget{Target: tp.Name}
		switch {
		case tp.RenderOnly:
			t.Status, t.Error = "not_pushed", fmt.Sprintf("push = false: Ward never connects to %s; push its configuration (ward render -target %s) with the site's own change tooling", tp.Name, tp.Name)
		case tp.Unavailable != "":
			t.Status, t.Error = "skipped", tp.Unavailable
		default:
			b, err := json.Marshal(tp)
			if err != nil {
				return 0, fmt.Errorf("target %s: %w", tp.Name, err)
			}
			t.Plan = string(b)
		}
		targets = append(targets, t)
	}
	st := o.Store
	run := store.ApplyRun{PlanID: planID, Status: "running", Actor: o.Actor, Detail: string(detail), StartedAt: st.Now()}
	job := func(runID uint64, t store.ApplyTarget) store.Job {
		return store.Job{Kind: ApplyJobKind, Target: t.Target, Payload: fmt.Sprintf(`{"run":%d}`, runID), Key: applyJobKey(runID, t.Target)}
	}
	base := store.ApplyBase{Digest: p.StateDigest, Hashes: p.baseHashes}
	if a := p.Approval; a != nil {
		// With the run, so that a refused start leaves no approval of an
		// apply that never ran.
		base.Audit = append(base.Audit, store.AuditEntry{Actor: a.Actor, Action: "apply.allow_essential_change",
			Object: fmt.Sprintf("plan %d", planID), Detail: ApprovalDetail(p)})
	}
	if err := st.StartApplyFrom(ctx, base, &run, targets, job, finishRun); err != nil {
		return 0, err
	}
	if o.Queue != nil {
		o.Queue.Notify()
	}
	return run.ID, nil
}

// applyJobKey is the key of the job pushing target in apply run runID.
func applyJobKey(runID uint64, target string) string {
	return fmt.Sprintf("apply:%d:%s", runID, target)
}

// CancelApply cancels what is left of apply run runID: every target whose
// push has never started is skipped ("cancelled by ACTOR"), nothing sent
// to it; a push already running ends as it would (it is never cut
// half-way), and so does one waiting to retry a failed attempt, which may
// have reached the device.
// It returns the targets cancelled and those still pushing; an error
// wrapping store.ErrNotFound or store.ErrApplyFinished when there is no
// such run or it is over.
func CancelApply(ctx context.Context, st *store.Store, runID uint64, actor string) (cancelled, running []string, err error) {
	why := fmt.Sprintf("cancelled by %s before its push started: nothing was sent", actor)
	return st.CancelApply(ctx, runID, actor, why, applyJobKey, finishRun)
}

// finishRun is the store.ApplyFinisher of apply runs: "succeeded" when
// every target was applied (or is not pushed by Ward), the results as the
// summary, and the apply.finish audit event.
func finishRun(run store.ApplyRun, targets []store.ApplyTarget) (string, string, store.AuditEntry, error) {
	results := resultsOf(targets)
	status := RunStatus(results)
	summary, err := json.Marshal(results)
	if err != nil {
		return "", "", store.AuditEntry{}, err
	}
	detail := map[string]any{}
	if run.Detail != "" {
		if err := json.Unmarshal([]byte(run.Detail), &detail); err != nil {
			return "", "", store.AuditEntry{}, fmt.Errorf("apply run %d: its detail %q: %w", run.ID, run.Detail, err)
		}
	}
	detail["status"], detail["results"] = status, results
	return status, string(summary), store.AuditEntry{Actor: run.Actor, Action: "apply.finish", Object: fmt.Sprintf("apply run %d", run.ID), Detail: detail}, nil
}

// RunStatus is an apply run's status from its targets' results: "running"
// while a target is pending, "failed" when one was not applied (a target
// with push = false, which Ward never pushes, is no failure), else
// "succeeded".
func RunStatus(results []PushResult) string {
	status := "succeeded"
	for _, r := range results {
		switch r.Status {
		case store.ApplyPending:
			return "running"
		case "applied", "not_pushed":
		default:
			status = "failed"
		}
	}
	return status
}

// resultsOf turns an apply run's targets into results, sorted by target.
func resultsOf(targets []store.ApplyTarget) []PushResult {
	out := make([]PushResult, 0, len(targets))
	for _, t := range targets {
		out = append(out, resultOf(t))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

func resultOf(t store.ApplyTarget) PushResult {
	return PushResult{Target: t.Target, Status: t.Status, Error: t.Error, Duration: time.Duration(t.DurationNS)}
}

// run is the handler of ApplyJobKind: it pushes its target's part of the
// run, under the target's owner (the queue holds it), and settles the
// target. A settled target is never pushed again.
func (p Pusher) run(ctx context.Context, j store.Job) error {
	var pl applyPayload
	if err := json.Unmarshal([]byte(j.Payload), &pl); err != nil || pl.Run == 0 {
		return fmt.Errorf("apply job %d for target %q: its payload %q names no apply run (want {\"run\": N}); it cannot run: delete it", j.ID, j.Target, j.Payload)
	}
	row, err := p.Store.ApplyTargetOf(ctx, pl.Run, j.Target)
	if err != nil {
		return err
	}
	if row.Status != store.ApplyPending {
		return nil // settled by an earlier attempt
	}
	start := time.Now()
	status, msg, err := p.push(ctx, pl.Run, row, j.Attempts > 1)
	if err != nil {
		return err // retried; the last attempt's failure is settled by gaveUp
	}
	_, serr := p.Store.SettleApplyTarget(context.WithoutCancel(ctx), store.ApplyTarget{RunID: pl.Run, Target: j.Target, Status: status, Error: msg,
		DurationNS: int64(time.Since(start))}, finishRun)
	return serr
}

// gaveUp settles the target of an apply job that failed for good as
// failed, with why, unless an attempt settled it. The queue calls it under
// the target's owner, so no push of the job is running.
func (p Pusher) gaveUp(ctx context.Context, j store.Job, why string) error {
	var pl applyPayload
	if err := json.Unmarshal([]byte(j.Payload), &pl); err != nil || pl.Run == 0 {
		return fmt.Errorf("apply job %d for target %q: its payload %q names no apply run", j.ID, j.Target, j.Payload)
	}
	done, err := p.recordedBy(ctx, pl.Run, j.Target)
	if err != nil {
		return err
	}
	t := store.ApplyTarget{RunID: pl.Run, Target: j.Target, Status: "failed",
		Error: "the push gave up: " + why + "; the target may run the new configuration or the previous one: run ward drift"}
	if done {
		// The last attempt pushed and recorded, then died before settling.
		t.Status, t.Error = "applied", ""
	}
	_, err = p.Store.SettleApplyTarget(ctx, t, finishRun)
	return err
}

// recordedBy reports whether target's part of run is its recorded
// last-applied state (appliedBy); false when that part cannot be read.
func (p Pusher) recordedBy(ctx context.Context, runID uint64, target string) (bool, error) {
	row, err := p.Store.ApplyTargetOf(ctx, runID, target)
	if err != nil {
		return false, err
	}
	var tp TargetPlan
	if json.Unmarshal([]byte(row.Plan), &tp) != nil {
		return false, nil // settled failed: nothing else can be said of it
	}
	return appliedBy(ctx, p.Store, runID, &tp)
}

// push pushes row's target of run and says how it went (status, message).
// The error is for what another attempt may fix (a fenced push, the store);
// a device's refusal is a "failed" status. retry says an earlier attempt
// ran, which may have reached the device.
func (p Pusher) push(ctx context.Context, runID uint64, row *store.ApplyTarget, retry bool) (string, string, error) {
	var tp TargetPlan
	if err := json.Unmarshal([]byte(row.Plan), &tp); err != nil {
		return "", "", fmt.Errorf("target %s of apply run %d: its recorded plan cannot be read: %w", row.Target, runID, err)
	}
	run, err := p.Store.GetApplyRun(ctx, runID)
	if err != nil {
		return "", "", err
	}
	// Before the newer apply's check: what an earlier attempt pushed and
	// recorded was sent, whatever came after.
	done, err := appliedBy(ctx, p.Store, runID, &tp)
	if err != nil {
		return "", "", err
	}
	if done {
		return "applied", "", nil // pushed and recorded by an attempt that died before settling
	}
	// A defence only: a run is not started while another has targets
	// pending (store.StartApplyFrom), so no newer run of this target
	// should exist while this push is pending.
	newer, err := p.Store.NewerApply(ctx, runID, row.Target)
	if err != nil {
		return "", "", err
	}
	switch {
	case newer != 0 && retry:
		return "failed", fmt.Sprintf("an earlier attempt of this push failed and may have reached the device; apply run %d, made after this one, also changes this target and pushes its own configuration: run ward drift to see what the target runs", newer), nil
	case newer != 0:
		return "skipped", fmt.Sprintf("apply run %d, made after this one, also changes this target, and this push had not started: nothing was sent", newer), nil
	}
	err = pushOne(ctx, &tp, p.Drivers, p.Store, p.Dial, runID, run.Actor)
	var skip *skipError
	switch {
	case err == nil:
		return "applied", "", nil
	case errors.As(err, &skip):
		return "skipped", err.Error(), nil
	case errors.Is(err, drivers.ErrFenced):
		return "", "", err
	}
	return "failed", err.Error(), nil
}

// appliedBy reports whether tp's state is the target's last-applied state,
// recorded by apply run runID.
func appliedBy(ctx context.Context, st *store.Store, runID uint64, tp *TargetPlan) (bool, error) {
	s, err := st.TargetStateOf(ctx, tp.Name)
	if err != nil || s == nil {
		return false, err
	}
	_, hash, err := appliedState(tp)
	if err != nil {
		return false, err
	}
	return s.ApplyRunID != nil && *s.ApplyRunID == runID && s.Hash == hash, nil
}

// awaitPoll is how often Await reads how an apply run's targets went.
const awaitPoll = 50 * time.Millisecond

// Await follows apply run runID until every target is settled, telling
// o.OnResult of each as it is, and returns the results sorted by target.
// Unless o.QueueWorked, it runs the run's jobs itself meanwhile. If ctx
// ends first, the targets not yet settled are returned as "pending" with
// an error: their jobs stay queued for ward serve to finish, and no other
// apply starts until the run is finished or cancelled (CancelApply).
func Await(ctx context.Context, runID uint64, o ApplyOptions) ([]PushResult, error) {
	st := o.Store
	rows, err := st.ApplyTargets(ctx, runID)
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, r := range rows {
		if r.Status == store.ApplyPending {
			pending = append(pending, r.Target)
		}
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var drained chan struct{}
	if !o.QueueWorked && len(pending) > 0 {
		drained = make(chan struct{})
		q := o.Queue
		if q == nil {
			q = ownQueue(o)
		}
		go func() {
			defer close(drained)
			drainUntil(wctx, q, pending, o.OnBusy)
		}()
	}
	reported := map[string]bool{}
	var out []PushResult
	tick := time.NewTicker(awaitPoll)
	defer tick.Stop()
	for {
		left := 0
		for _, r := range rows {
			if r.Status == store.ApplyPending {
				left++
				continue
			}
			if !reported[r.Target] {
				reported[r.Target] = true
				if o.OnResult != nil {
					o.OnResult(resultOf(r))
				}
			}
		}
		if left == 0 {
			out = resultsOf(rows)
			break
		}
		select {
		case <-ctx.Done():
			stop()
			if drained != nil {
				<-drained // a push in flight finishes; no other starts
			}
			rows, _ = st.ApplyTargets(context.WithoutCancel(ctx), runID)
			return resultsOf(rows), fmt.Errorf("apply run %d is still running (%d target(s) pending: their pushes are queued jobs, which ward serve runs; no other apply starts until it is finished or cancelled: ward apply -cancel %d, or POST /api/v1/applies/%d/cancel, cancels the pushes not started): %w",
				runID, countPending(rows), runID, runID, context.Cause(ctx))
		case <-tick.C:
		}
		if rows, err = st.ApplyTargets(ctx, runID); err != nil && ctx.Err() == nil {
			return nil, err
		}
	}
	stop()
	if drained != nil {
		<-drained
	}
	return out, nil
}

// RunResults returns apply run id's targets as results, sorted by
// target: "pending" for a target whose push is not settled yet.
func RunResults(ctx context.Context, st *store.Store, id uint64) ([]PushResult, error) {
	rows, err := st.ApplyTargets(ctx, id)
	if err != nil {
		return nil, err
	}
	return resultsOf(rows), nil
}

// busyErrors finds the *jobs.BusyError in err, joined or wrapped.
func busyErrors(err error) []*jobs.BusyError {
	var b *jobs.BusyError
	if errors.As(err, &b) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			var out []*jobs.BusyError
			for _, e := range j.Unwrap() {
				out = append(out, busyErrors(e)...)
			}
			return out
		}
		return []*jobs.BusyError{b}
	}
	return nil
}

func countPending(rows []store.ApplyTarget) int {
	n := 0
	for _, r := range rows {
		if r.Status == store.ApplyPending {
			n++
		}
	}
	return n
}

// ownQueue is the queue of an apply made without one: this process's own
// owner of the targets, o.Parallel pushes at once.
func ownQueue(o ApplyOptions) *jobs.Queue {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	parallel := o.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	q := jobs.NewQueue(o.Store, jobs.NewOwner(o.Store, jobs.OwnerOptions{Logger: log}), jobs.QueueOptions{Concurrency: parallel, Logger: log})
	HandleApplyJobs(q, Pusher{Drivers: o.Drivers, Store: o.Store, Dial: o.Dial})
	return q
}

// drainUntil runs the jobs of targets on q until ctx ends: a target busy
// with another process's work (told to onBusy), or a push fenced and
// retried, is tried again.
func drainUntil(ctx context.Context, q *jobs.Queue, targets []string, onBusy func(*jobs.BusyError)) {
	targets = slices.Clone(targets)
	for ctx.Err() == nil {
		// Each failed attempt is in its target's result or its retry; a
		// busy target is waited for.
		if err := q.Drain(ctx, targets...); err != nil && onBusy != nil && ctx.Err() == nil {
			for _, b := range busyErrors(err) {
				onBusy(b)
			}
		}
		t := time.NewTimer(4 * awaitPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
