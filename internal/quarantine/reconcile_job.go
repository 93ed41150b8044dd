package quarantine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// ReconcileJobKind is the kind of the jobs that reconcile one target's
// quarantine state with the store (reconcileTarget): durable, so that the
// reconcile a leader started is finished by another replica's queue if
// that leader dies.
const ReconcileJobKind = "quarantine.reconcile"

// reconcileKey keeps at most one reconcile of a target waiting: a second
// enqueue while one is queued would do the same work.
func reconcileKey(target string) string { return "qreconcile:" + target }

// reconciled is what one reconcile job found.
type reconciled struct {
	job uint64
	tr  targetReport
}

// EnqueueReconcile enqueues, in one transaction, a reconcile job for
// every target Ward enforces quarantine on, and wakes the queue; it
// returns those targets. A target whose reconcile is already queued keeps
// that one. Any replica's queue runs the jobs (ward serve), or Drain.
func (m *Manager) EnqueueReconcile(ctx context.Context) ([]string, error) {
	if m.noEnforce {
		return nil, nil
	}
	_, targets, err := m.reconcileTargets(ctx)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, nil
	}
	js := make([]store.Job, len(targets))
	for i, t := range targets {
		js[i] = store.Job{Kind: ReconcileJobKind, Target: t, Key: reconcileKey(t)}
	}
	q, _, _ := m.jobQueue()
	if err := q.Enqueue(ctx, js...); err != nil {
		return nil, fmt.Errorf("queueing the reconcile of targets %v: %w", targets, err)
	}
	return targets, nil
}

// reconcilePoll is how often ReconcileJobs looks at the jobs it waits for.
const reconcilePoll = 100 * time.Millisecond

// ReconcileJobs enqueues the reconcile of every target (EnqueueReconcile)
// and returns once each target's job has run: done, failed, superseded,
// or failed once and queued for its retry (as Reconcile, a dead target
// costs one ReconcileDeadline). It runs the jobs that are due itself
// (Drain), and waits for those another process's queue is running. When
// ctx ends first, the targets still waiting are named in Errors; their
// jobs stay queued for the queue.
//
// The report holds what the jobs run by this process found; a job run by
// another replica is logged and audited there, and only its failure is in
// this report. For the start of a leader's term: the replica serves once
// the targets are reconciled, and a leader killed half-way leaves the
// rest queued.
func (m *Manager) ReconcileJobs(ctx context.Context) (*ReconcileReport, error) {
	rep := &ReconcileReport{}
	if m.noEnforce {
		return rep, nil
	}
	targets, err := m.EnqueueReconcile(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(targets))
	for i, t := range targets {
		keys[i] = reconcileKey(t)
	}
	// The jobs to wait for — just enqueued, or queued before and kept —
	// found by key once, then followed by id.
	latest, err := m.st.LatestJobsByKey(ctx, keys...)
	if err != nil {
		return nil, err
	}
	ids := map[string]uint64{}
	var waiting []string
	for _, t := range targets {
		if j, ok := latest[reconcileKey(t)]; ok {
			ids[t] = j.ID
			waiting = append(waiting, t)
		}
	}
	q, _, _ := m.jobQueue()
	for len(waiting) > 0 {
		if err := q.Drain(ctx, waiting...); err != nil {
			// A failed attempt is read from its job below; a busy target
			// is run by its holder's queue and waited for.
			m.log.Debug("reconcile jobs not run here yet", "targets", waiting, "error", err)
		}
		var want []uint64
		for _, t := range waiting {
			want = append(want, ids[t])
		}
		js, err := m.st.JobsByID(ctx, want...)
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		if err == nil {
			waiting = slices.DeleteFunc(waiting, func(t string) bool {
				j, ok := js[ids[t]]
				if !ok {
					// Pruned: long done.
					return true
				}
				if !reconcileRan(j) {
					return false
				}
				rep.add(m.reconcileFound(j))
				return true
			})
		}
		if len(waiting) == 0 {
			break
		}
		t := time.NewTimer(reconcilePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			for _, name := range waiting {
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s: its reconcile job has not run yet (%v); the job queue runs it", name, context.Cause(ctx)))
			}
			waiting = nil
		case <-t.C:
		}
	}
	rep.finish(context.WithoutCancel(ctx), m.st)
	return rep, nil
}

// reconcileRan reports whether reconcile job j has run to an end: done,
// failed or superseded, or failed once and waiting for its retry.
func reconcileRan(j store.Job) bool {
	switch j.Status {
	case store.JobDone, store.JobFailed, store.JobSuperseded:
		return true
	case store.JobQueued:
		return j.Attempts > 0 && j.LastError != ""
	}
	return false
}

// reconcileFound is what reconcile job j found: from its run in this
// process if it ran here, else its failure as the job records it.
func (m *Manager) reconcileFound(j store.Job) targetReport {
	m.enf.mu.Lock()
	r, ok := m.enf.reconciled[j.Target]
	m.enf.mu.Unlock()
	if ok && r.job == j.ID {
		return r.tr
	}
	if j.LastError != "" {
		return targetReport{errs: []string{fmt.Sprintf("%s: %s", j.Target, j.LastError)}}
	}
	return targetReport{}
}

// runReconcileJob is the handler of ReconcileJobKind: it reconciles the
// job's target (reconcileTarget) under the target's owner, which the
// queue holds, with the job's deadline. A target it could not reconcile
// is an error, so the queue retries it with backoff.
func (m *Manager) runReconcileJob(ctx context.Context, j store.Job) error {
	v, targets, err := m.reconcileTargets(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(targets, j.Target) {
		// Not a target Ward enforces quarantine on (any more): the
		// policy changed since the job was queued.
		m.log.Debug("reconcile job for a target that holds no quarantine; nothing to do", "target", j.Target)
		return nil
	}
	tr := m.reconcileTarget(ctx, v, j.Target, j.Attempts >= reconcileAttempts)
	m.enf.mu.Lock()
	if m.enf.reconciled == nil {
		m.enf.reconciled = map[string]reconciled{}
	}
	m.enf.reconciled[j.Target] = reconciled{job: j.ID, tr: tr}
	m.enf.mu.Unlock()
	if len(tr.added)+len(tr.removed) > 0 {
		m.log.Warn("reconciled a target's quarantine state", "target", j.Target, "added", tr.added, "removed", tr.removed, "errors", tr.errs)
	}
	var errs []error
	if tr.err != nil {
		errs = append(errs, fmt.Errorf("reconcile of the quarantines on target %q: %w", j.Target, tr.err))
	}
	return errors.Join(append(errs, tr.audit)...)
}
