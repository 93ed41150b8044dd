package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// Scheduled drift checks: ward serve's leader enqueues one DriftJobKind
// job per target Ward has applied to, every interval; any replica's queue
// runs them under the target's owner, and each records its check in
// drift_checks by ScheduledDriftActor, as `ward drift` does — audited
// (target.drift_check) only when its result differs from the target's
// previous check (store.RecordScheduledDriftCheck).

// DriftJobKind is the job that checks one target's running configuration
// against what Ward last applied to it.
const DriftJobKind = "plan.drift"

// ScheduledDriftActor is who records scheduled drift checks.
const ScheduledDriftActor = "ward (scheduled drift check)"

// driftDeadline bounds one target's check: a dial and one read.
const driftDeadline = time.Minute

// DriftChecker checks targets on a schedule: the handler of DriftJobKind.
type DriftChecker struct {
	Drivers *drivers.Registry
	Store   *store.Store
	Dial    DialFunc
	// DriverOf names the driver of target in the policy in force; false
	// when the policy has no such target (any more).
	DriverOf func(target string) (driver string, ok bool)
	// OnResult, when set, is told each check's result (metrics, logs).
	OnResult func(Drift)
}

// HandleDriftJobs makes q check targets' drift with c. A check that could
// not read its target records that as its result ("error") and is not
// retried: the next interval checks again. Finished checks' jobs are kept
// an hour (the checks themselves are in drift_checks).
func HandleDriftJobs(q *jobs.Queue, c DriftChecker) {
	q.HandleWith(DriftJobKind, jobs.KindOptions{Deadline: driftDeadline, MaxAttempts: 1, Retain: time.Hour}, c.run)
}

// EnqueueDriftChecks enqueues, in one transaction, a drift check of every
// target of targets Ward has applied to (at most one waits per target),
// and wakes q. It returns the targets.
func EnqueueDriftChecks(ctx context.Context, st *store.Store, q *jobs.Queue, targets []string) ([]string, error) {
	applied, err := st.AppliedTargets(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	var js []store.Job
	for _, t := range applied {
		if !slices.Contains(targets, t) {
			continue
		}
		out = append(out, t)
		js = append(js, store.Job{Kind: DriftJobKind, Target: t, Key: "drift:" + t})
	}
	if len(js) == 0 {
		return nil, nil
	}
	if err := q.Enqueue(ctx, js...); err != nil {
		return nil, fmt.Errorf("queueing drift checks of %v: %w", out, err)
	}
	return out, nil
}

// run checks the job's target under its owner (the queue holds it) and
// records the check.
func (c DriftChecker) run(ctx context.Context, j store.Job) error {
	driver, ok := c.DriverOf(j.Target)
	if !ok {
		return nil // no longer in the policy: nothing to check
	}
	row, err := c.Store.TargetStateOf(ctx, j.Target)
	if err != nil {
		return err
	}
	if row == nil {
		return nil // never applied: nothing to compare with
	}
	var s AppliedState
	if err := json.Unmarshal([]byte(row.Content), &s); err != nil {
		return fmt.Errorf("target %s: stored state is unreadable: %w", j.Target, err)
	}
	d := checkTarget(ctx, c.Drivers, j.Target, driver, s, row.Hash, c.Dial, direct{})
	if _, err := c.Store.RecordScheduledDriftCheck(context.WithoutCancel(ctx), d.check(), ScheduledDriftActor); err != nil {
		return fmt.Errorf("target %s: drift checked (%s), but recording the check failed: %w", j.Target, d.Status, err)
	}
	if c.OnResult != nil {
		c.OnResult(d)
	}
	return nil
}
