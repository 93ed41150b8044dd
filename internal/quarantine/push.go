package quarantine

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// enforcement is how a Manager's pushes run: on a job queue whose device
// I/O to each target is serialised with every other Ward process's by an
// Owner. The zero value makes a queue of its own on first use (a CLI
// command, tests) and runs jobs when asked (Drain).
type enforcement struct {
	mu    sync.Mutex
	queue *jobs.Queue
	owner *jobs.Owner
	// worked: a Run loop works the queue, so a decision only wakes it.
	worked bool
	// reconciled is what the last reconcile job run here found on each
	// target, for ReconcileJobs' report; one entry per target.
	reconciled map[string]reconciled
}

// Jobs makes q — worked by q.Run, as ward serve does — the queue this
// Manager's pushes and reconcile jobs run on, and o (the Owner q runs
// under) the one its Reconcile takes targets with. From then on a
// decision returns once it is committed, and a target that does not
// answer delays only its own jobs. A Manager that does not enforce registers no handler: its jobs
// are left for a process that does.
func (m *Manager) Jobs(q *jobs.Queue, o *jobs.Owner) {
	m.handle(q)
	m.enf.mu.Lock()
	defer m.enf.mu.Unlock()
	m.enf.queue, m.enf.owner, m.enf.worked = q, o, true
}

// jobQueue returns the queue and owner, making this process's own on first
// use, and whether a Run loop works the queue.
func (m *Manager) jobQueue() (*jobs.Queue, *jobs.Owner, bool) {
	m.enf.mu.Lock()
	defer m.enf.mu.Unlock()
	if m.enf.queue == nil {
		m.enf.owner = jobs.NewOwner(m.st, jobs.OwnerOptions{Logger: m.log})
		m.enf.queue = jobs.NewQueue(m.st, m.enf.owner, jobs.QueueOptions{Logger: m.log})
		m.handle(m.enf.queue)
	}
	return m.enf.queue, m.enf.owner, m.enf.worked
}

// handle registers this Manager's job handlers on q, if it enforces.
// reconcileAttempts is how many times a reconcile job runs: with the
// queue's backoff (1 s, 2 s) it holds back the target's later jobs for a
// few seconds at most.
const reconcileAttempts = 3

func (m *Manager) handle(q *jobs.Queue) {
	if m.noEnforce {
		return
	}
	q.Handle(SyncJobKind, m.runSyncJob)
	// A reconcile is redone every interval: a few quick attempts, then
	// the next interval's job; its rows are kept an hour, not a week.
	q.HandleWith(ReconcileJobKind, jobs.KindOptions{Deadline: ReconcileDeadline, MaxAttempts: reconcileAttempts, Retain: time.Hour}, m.runReconcileJob)
}

// Drain runs the push jobs due on targets (every target when none is
// named) now, under the owner of each target, and returns when none is
// due: for a CLI command that must see its quarantine enforced before it
// exits. The error names each job that failed; those are retried by ward
// serve (or the next Drain) with backoff.
func (m *Manager) Drain(ctx context.Context, targets ...string) error {
	if m.noEnforce {
		return nil
	}
	q, _, _ := m.jobQueue()
	return q.Drain(ctx, targets...)
}

// afterCommit has the targets carry out the jobs that the committed
// change of q enqueued. With a Run loop working the queue (Jobs) it wakes
// the loop and returns at once: the caller never waits on a device.
// Without one it runs them now and returns what the targets reported
// (q's EnforceError), or why the jobs could not run.
func (m *Manager) afterCommit(ctx context.Context, q *store.Quarantine) string {
	if m.noEnforce {
		return ""
	}
	queue, _, worked := m.jobQueue()
	if worked {
		queue.Notify()
		return ""
	}
	var targets []string
	for _, j := range m.syncJobs(*q) {
		targets = append(targets, j.Target)
	}
	if len(targets) == 0 {
		return ""
	}
	err := m.Drain(ctx, targets...)
	if row, rerr := m.st.FindQuarantine(context.WithoutCancel(ctx), q.ID); rerr == nil && row.EnforceError != "" {
		return row.EnforceError
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// runSyncJob is the handler of SyncJobKind: it makes the job's target
// hold what the store says now about the job's device, and records the
// outcome on the device's quarantine. It runs under the target's owner,
// with the job's deadline.
func (m *Manager) runSyncJob(ctx context.Context, j store.Job) error {
	var p syncPayload
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil || p.DeviceID == 0 {
		return fmt.Errorf("quarantine job %d for target %q: its payload %q names no device (want {\"device_id\": N}); it cannot run: delete it", j.ID, j.Target, j.Payload)
	}
	v, err := m.view(ctx)
	if err != nil {
		return err
	}
	applied, err := m.applied(ctx)
	if err != nil {
		return err
	}
	su, isFirewall := m.firewall(v.cfg, j.Target)
	vs, isSwitch := m.accessSwitch(v.cfg, j.Target)
	if !applied[j.Target] || (!isFirewall && !isSwitch) {
		// Not a target Ward enforces quarantine on (any more): the
		// policy changed since the job was queued, or Ward has not
		// applied it yet. Reconcile covers it once it is.
		m.log.Debug("quarantine job for a target that holds no quarantine; nothing to do", "target", j.Target, "device_id", p.DeviceID)
		return nil
	}
	ids := []uint64{p.DeviceID}
	if isFirewall {
		// A storm queues one job per device on each firewall: the first
		// to run pushes every device queued so far, in one batch, so a
		// device waits for at most the job in flight, not for the queue.
		// The later jobs find their device already in place.
		ids = append(ids, m.queuedDevices(ctx, j)...)
	}
	truths, err := m.readTruths(ctx, v, ids)
	if err != nil {
		return err
	}
	if isFirewall {
		err = m.syncFirewall(ctx, j.Target, su, truths)
	} else {
		err = m.syncSwitch(ctx, v, j.Target, vs, truths[0])
	}
	var subjects []uint64
	for _, t := range truths {
		if q := t.subject(); q != nil {
			subjects = append(subjects, q.ID)
		}
	}
	rerr := m.record(ctx, subjects, j.Target, err)
	if err != nil {
		return fmt.Errorf("quarantine of %s on target %q: %w", v.deviceName(p.DeviceID), j.Target, err)
	}
	// A push the store does not record leaves the quarantine saying it
	// was never enforced: the retry pushes again (no change) and records.
	return rerr
}

// maxBatch bounds the devices one firewall push carries.
const maxBatch = 500

// queuedDevices returns the devices of the other sync jobs queued for j's
// target, up to maxBatch. Failing to read them only forgoes the batch. It
// reads only that target's sync jobs: in a storm every job of every
// firewall asks, and the whole queue is what the storm made long.
func (m *Manager) queuedDevices(ctx context.Context, j store.Job) []uint64 {
	queued, err := m.st.QueuedJobs(ctx, j.Target, SyncJobKind, maxBatch)
	if err != nil {
		m.log.Warn("could not read the queued quarantine jobs to push them in one batch; pushing one device", "target", j.Target, "error", err)
		return nil
	}
	var out []uint64
	seen := map[uint64]bool{}
	for _, o := range queued {
		if o.ID == j.ID || len(out) >= maxBatch-1 {
			continue
		}
		var p syncPayload
		if json.Unmarshal([]byte(o.Payload), &p) == nil && p.DeviceID != 0 && !seen[p.DeviceID] {
			seen[p.DeviceID] = true
			out = append(out, p.DeviceID)
		}
	}
	return out
}

// record writes the outcome of a push to target on quarantines ids, and
// counts a failure. It returns why the outcome could not be written.
func (m *Manager) record(ctx context.Context, ids []uint64, target string, err error) error {
	return m.recordOutcome(ctx, ids, target, err, m.st.RecordTargetEnforcement)
}

// recordCheck is record for a reconcile that changed nothing on target:
// the push history keeps only what changed (store.RecordTargetCheck).
func (m *Manager) recordCheck(ctx context.Context, ids []uint64, target string, err error) error {
	return m.recordOutcome(ctx, ids, target, err, m.st.RecordTargetCheck)
}

func (m *Manager) recordOutcome(ctx context.Context, ids []uint64, target string, err error,
	write func(context.Context, []uint64, store.PushOutcome) error) error {
	msg := ""
	if err != nil {
		msg = err.Error()
		if m.onPushErr != nil {
			m.onPushErr(target, err)
		}
		m.log.Error("quarantine not enforced on a target; it will be retried", "target", target, "quarantines", ids, "error", msg)
	}
	// The history says which hold of the target made the push.
	fence, _ := drivers.FenceOf(ctx)
	if rerr := write(context.WithoutCancel(ctx), ids, store.PushOutcome{Target: target, Error: msg, At: m.st.Now(), Fence: fence}); rerr != nil {
		m.log.Error("recording the enforcement of quarantines", "target", target, "quarantines", ids, "error", rerr)
		return fmt.Errorf("recording the push to target %q of quarantines %v: %w", target, ids, rerr)
	}
	return nil
}
