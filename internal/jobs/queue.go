package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/store"
)

// QueueOptions configures a Queue. Zero values take the defaults.
type QueueOptions struct {
	// Deadline bounds each job's handler (default 20s).
	Deadline time.Duration
	// MaxAttempts is how many times a job runs before it is failed for
	// the operator (default 10).
	MaxAttempts int
	// Backoff is the delay before attempt+1 after attempt failed
	// (default 1s doubling to 1m).
	Backoff func(attempt int) time.Duration
	Logger  *slog.Logger
	// Now is the wall clock for due times (default time.Now).
	Now func() time.Time
	// Concurrency is how many targets are worked on at once (default 16).
	Concurrency int
	// Poll is how often Run looks for jobs enqueued by other processes
	// (default 250ms).
	Poll time.Duration
	// Retain is how long Run keeps done and superseded jobs (default 7
	// days); failed jobs stay until an operator deals with them.
	Retain time.Duration
	// Heartbeat is how often a running job's claim is renewed (default
	// 2s). A job whose claim is five heartbeats old is looked at by the
	// other workers: if one of them can take the job's target from its
	// owner, the worker that claimed it is gone and the job runs again.
	Heartbeat time.Duration
	// OnFinish, when set, is told of each run of a job: its outcome
	// ("done", "retry" or "failed") and how long since it was enqueued
	// (metrics).
	OnFinish func(j store.Job, outcome string, sinceEnqueued time.Duration)
}

// Queue runs durable jobs (store.Job rows) per target, each under
// Owner.Do with a deadline.
type Queue struct {
	st         *store.Store
	owner      *Owner
	opts       QueueOptions
	log        *slog.Logger
	worker     string // LockedBy of our claims
	maxBackoff time.Duration
	notify     chan struct{}

	mu       sync.Mutex
	handlers map[string]handler
	active   map[string]bool // targets with a worker in Run
}

// KindOptions overrides a queue's defaults for one kind of job.
type KindOptions struct {
	// Deadline bounds each run of the kind's handler (0: the queue's):
	// an apply's push may take minutes where a quarantine's takes a
	// second, and either must end.
	Deadline time.Duration
	// MaxAttempts is how many times a job of the kind runs before it is
	// failed (0: the queue's).
	MaxAttempts int
	// OnGiveUp, when set, is called when a job of the kind is failed for
	// good — after its last attempt, or found left running by a worker
	// that stopped with its attempts used up (the handler never learns of
	// that one) — under the target's owner, with why: for a job whose
	// purpose must be settled whatever happens (an apply's target). The
	// job is failed only after OnGiveUp returned nil: after an error, or
	// a crash before the job was failed, it is called again (so it must
	// be idempotent).
	OnGiveUp func(ctx context.Context, j store.Job, why string) error
	// Retain, when set, is how long the kind's finished jobs are kept —
	// failed ones too: for work redone on a schedule (a reconcile every
	// interval), whose next job supersedes a failure. 0: the queue's
	// Retain, failed jobs kept for the operator.
	Retain time.Duration
}

type handler struct {
	fn          func(ctx context.Context, j store.Job) error
	deadline    time.Duration
	maxAttempts int
	retain      time.Duration
	onGiveUp    func(ctx context.Context, j store.Job, why string) error
}

// NewQueue returns a queue of the jobs in st, run under owner.
func NewQueue(st *store.Store, owner *Owner, o QueueOptions) *Queue {
	if o.Deadline <= 0 {
		o.Deadline = 20 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Retain <= 0 {
		o.Retain = 7 * 24 * time.Hour
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 2 * time.Second
	}
	var maxBackoff time.Duration
	for a := 1; a <= o.MaxAttempts; a++ {
		maxBackoff = max(maxBackoff, o.Backoff(a))
	}
	return &Queue{
		st: st, owner: owner, opts: o, log: o.Logger,
		worker:     owner.Holder() + " queue " + newToken()[:8],
		maxBackoff: maxBackoff + time.Minute,
		notify:     make(chan struct{}, 1),
		handlers:   map[string]handler{},
		active:     map[string]bool{},
	}
}

// DefaultBackoff waits 1s after the first failure, doubling up to 1m.
func DefaultBackoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 7 {
		return time.Minute
	}
	return min(time.Second<<(attempt-1), time.Minute)
}

// Handle registers h for jobs of kind, with the queue's deadline and
// attempts. Jobs of kinds without a handler are left queued for a process
// that has one.
func (q *Queue) Handle(kind string, h func(ctx context.Context, j store.Job) error) {
	q.HandleWith(kind, KindOptions{}, h)
}

// HandleWith registers h for jobs of kind, with o's deadline and attempts.
func (q *Queue) HandleWith(kind string, o KindOptions, h func(ctx context.Context, j store.Job) error) {
	if o.Deadline <= 0 {
		o.Deadline = q.opts.Deadline
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = q.opts.MaxAttempts
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = handler{fn: h, deadline: o.Deadline, maxAttempts: o.MaxAttempts, retain: o.Retain, onGiveUp: o.OnGiveUp}
}

func (q *Queue) kinds() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Sorted(maps.Keys(q.handlers))
}

func (q *Queue) handler(kind string) (handler, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h, ok := q.handlers[kind]
	return h, ok
}

// maxAttempts is how many attempts a job of kind has.
func (q *Queue) maxAttempts(kind string) int {
	if h, ok := q.handler(kind); ok {
		return h.maxAttempts
	}
	return q.opts.MaxAttempts
}

// kindAttempts is each handled kind's attempts.
func (q *Queue) kindAttempts() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]int{}
	for k, h := range q.handlers {
		out[k] = h.maxAttempts
	}
	return out
}

// staleAfter is how old a running job's claim may be before the job may
// be an orphan: five heartbeats. Only a look: the job runs again only
// under its target's owner, which its first worker holds while alive.
func (q *Queue) staleAfter() time.Duration {
	return 5 * q.opts.Heartbeat
}

// Enqueue adds jobs (store.EnqueueJobs) and wakes Run. Work caused by a
// decision in the store is better enqueued in the decision's own
// transaction, followed by Notify.
func (q *Queue) Enqueue(ctx context.Context, jobs ...store.Job) error {
	if err := q.st.EnqueueJobs(ctx, jobs...); err != nil {
		return err
	}
	q.Notify()
	return nil
}

// Notify wakes Run after an enqueue, so the job starts now rather than at
// the next poll.
func (q *Queue) Notify() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// Run is ward serve's worker loop: until ctx ends it starts one worker per
// target with due jobs, at most Concurrency at once, so a slow or dead
// target delays only its own jobs. It returns after its workers stopped.
func (q *Queue) Run(ctx context.Context) error {
	sem := make(chan struct{}, q.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(q.opts.Poll)
	defer tick.Stop()
	// At start every running job may be an orphan of our own previous
	// life: visit their targets at once.
	staleAfter := time.Duration(0)
	var pruned time.Time
	for {
		if time.Since(pruned) > q.pruneEvery() {
			pruned = time.Now()
			q.prune(ctx)
		}
		targets, err := q.st.DueTargets(ctx, q.kinds(), q.opts.Now(), staleAfter, q.maxBackoff)
		staleAfter = q.staleAfter()
		if err != nil && ctx.Err() == nil {
			q.log.Error("could not look for due jobs; will retry", "err", err)
		}
		for _, t := range targets {
			q.mu.Lock()
			busy := q.active[t]
			q.active[t] = true
			q.mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				q.work(ctx, t, sem)
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.notify:
		case <-tick.C:
		}
	}
}

// pruneEvery is how often Run prunes finished jobs: hourly, or at the
// shortest retention of a kind if that is shorter.
func (q *Queue) pruneEvery() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	every := time.Hour
	for _, h := range q.handlers {
		if h.retain > 0 {
			every = min(every, h.retain)
		}
	}
	return every
}

// prune deletes the finished jobs older than their retention.
func (q *Queue) prune(ctx context.Context) {
	now := q.opts.Now()
	if n, err := q.st.PruneJobs(ctx, now.Add(-q.opts.Retain)); err != nil && ctx.Err() == nil {
		q.log.Warn("could not prune finished jobs", "err", err)
	} else if n > 0 {
		q.log.Info("pruned finished jobs", "count", n, "older_than", q.opts.Retain)
	}
	q.mu.Lock()
	kinds := map[string]time.Duration{}
	for k, h := range q.handlers {
		if h.retain > 0 {
			kinds[k] = h.retain
		}
	}
	q.mu.Unlock()
	for kind, keep := range kinds {
		if n, err := q.st.PruneJobsOfKind(ctx, kind, now.Add(-keep)); err != nil && ctx.Err() == nil {
			q.log.Warn("could not prune finished jobs", "kind", kind, "err", err)
		} else if n > 0 {
			q.log.Debug("pruned finished jobs", "kind", kind, "count", n, "older_than", keep)
		}
	}
}

// work runs target's due jobs, a budget at a time, pausing between
// budgets so that another process waiting for the target gets a turn.
func (q *Queue) work(ctx context.Context, target string, sem chan struct{}) {
	defer func() {
		q.mu.Lock()
		delete(q.active, target)
		q.mu.Unlock()
	}()
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		// One Do runs jobs for up to a deadline, so that with the job in
		// flight it holds the target for at most two: well within another
		// process's Wait.
		more, errs := q.runTarget(ctx, target, q.opts.Deadline)
		<-sem
		for _, err := range errs {
			var busy *BusyError
			switch {
			case ctx.Err() != nil:
			case errors.As(err, &busy):
				q.log.Warn("target busy; its jobs wait", "target", target, "err", err)
			default:
				q.log.Warn("job failed", "target", target, "err", err)
			}
		}
		if !more {
			return
		}
		t := time.NewTimer(q.opts.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// runTarget runs target's due jobs in ID order under its owner, for up to
// budget; more says jobs may still be due. When ctx ends, a job already
// running finishes (within its deadline) and no further job starts: a
// push cut off half-way helps nobody.
func (q *Queue) runTarget(ctx context.Context, target string, budget time.Duration) (more bool, errs []error) {
	kinds, attempts := q.kinds(), q.kindAttempts()
	var mu sync.Mutex
	inside := false
	dctx, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	// Until the owner is ours, ctx's end stops the wait.
	unhook := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !inside {
			stop(context.Cause(ctx))
		}
	})
	defer unhook()
	err := q.owner.Do(dctx, target, "queued jobs", func(octx context.Context) error {
		mu.Lock()
		inside = octx.Err() == nil
		mu.Unlock()
		if !inside {
			return nil
		}
		start := time.Now()
		for octx.Err() == nil && ctx.Err() == nil {
			j, err := q.st.ClaimJob(octx, store.ClaimOptions{
				Target: target, Worker: q.worker, Kinds: kinds, Now: q.opts.Now(),
				MaxAttempts: q.opts.MaxAttempts, KindMaxAttempts: attempts, MaxBackoff: q.maxBackoff,
				GaveUp:           func(j store.Job, why string) error { return q.gaveUp(octx, j, why) },
				GiveUpAgainAfter: q.staleAfter(),
			})
			if err != nil {
				return err
			}
			if j == nil {
				return nil
			}
			if err := q.runJob(octx, *j); err != nil {
				errs = append(errs, err)
				if errors.Is(err, drivers.ErrFenced) {
					// The device saw a newer token than this hold's: let
					// the target go, so the retry takes it with a new one.
					more = true
					return nil
				}
			}
			if time.Since(start) >= budget {
				more = true
				return nil
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		errs = append(errs, err)
	}
	return more, errs
}

// runJob runs one claimed job under a deadline and records its outcome.
// The returned error describes a failed attempt.
func (q *Queue) runJob(octx context.Context, j store.Job) error {
	h, ok := q.handler(j.Kind)
	var herr error
	if !ok {
		herr = fmt.Errorf("no handler for job kind %q in this process", j.Kind)
	} else {
		herr = q.call(octx, h, j)
	}
	maxAttempts := q.maxAttempts(j.Kind)
	// Settle even if ownership was lost meanwhile: the conditional
	// update refuses if another worker took the job over.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(octx), 15*time.Second)
	defer cancel()
	var serr error
	var failure error
	switch {
	case herr == nil:
		serr = q.st.CompleteJob(sctx, j)
	case j.Attempts >= maxAttempts:
		// The job's purpose is settled first, while the job is held: a
		// job failed before a give-up that failed or never ran (a crash)
		// would leave it unsettled for good. Held, it is given up again.
		msg := fmt.Sprintf("attempt %d of %d: %v", j.Attempts, maxAttempts, herr)
		if gerr := q.gaveUp(sctx, j, msg); gerr != nil {
			serr = q.st.HoldJobForGiveUp(sctx, j, msg)
		} else {
			serr = q.st.FailJob(sctx, j, msg)
		}
		failure = fmt.Errorf("job %d (%s) for target %q failed for good after %d attempts (kept as failed for the operator; list with ward status): %w",
			j.ID, j.Kind, j.Target, j.Attempts, herr)
	default:
		wait := q.opts.Backoff(j.Attempts)
		if errors.Is(herr, drivers.ErrFenced) {
			// The device saw a newer owner's token: the next run takes
			// the target again, with a greater one, so it need not wait.
			// Still an attempt: a device whose token is ahead of the
			// database (restored from a backup) fails for the operator.
			wait = 0
		}
		at := q.opts.Now().Add(wait)
		serr = q.st.RetryJob(sctx, j, fmt.Sprintf("attempt %d of %d: %v", j.Attempts, maxAttempts, herr), at)
		failure = fmt.Errorf("job %d (%s) for target %q, attempt %d of %d: %w; retrying in %s",
			j.ID, j.Kind, j.Target, j.Attempts, maxAttempts, herr, wait)
	}
	if errors.Is(serr, store.ErrJobLost) {
		q.log.Warn("another worker took a job over while it ran here", "job", j.ID, "kind", j.Kind, "target", j.Target)
		serr = nil
	}
	if q.opts.OnFinish != nil && serr == nil {
		outcome := "done"
		switch {
		case herr != nil && j.Attempts >= maxAttempts:
			outcome = "failed"
		case herr != nil:
			outcome = "retry"
		}
		q.opts.OnFinish(j, outcome, q.opts.Now().Sub(j.CreatedAt))
	}
	return errors.Join(failure, serr)
}

// gaveUp tells the job's kind that the job failed for good (OnGiveUp),
// logging and returning what that could not settle: the job is then kept
// running, to be given up again.
func (q *Queue) gaveUp(ctx context.Context, j store.Job, why string) error {
	h, ok := q.handler(j.Kind)
	if !ok || h.onGiveUp == nil {
		return nil
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := h.onGiveUp(gctx, j, why); err != nil {
		q.log.Error("a job failed for good, and settling what it was for failed; it is kept running and given up again later",
			"job", j.ID, "kind", j.Kind, "target", j.Target, "why", why, "err", err)
		return err
	}
	return nil
}

// call runs h with the job's deadline, turning a panic into an error. A
// handler that ignores its context keeps the target (its device I/O must
// not overlap the next holder's), but is reported.
func (q *Queue) call(octx context.Context, h handler, j store.Job) error {
	ctx, cancel := context.WithTimeout(octx, h.deadline)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
			}
		}()
		done <- h.fn(ctx, j)
	}()
	grace := time.NewTimer(h.deadline + 5*time.Second)
	defer grace.Stop()
	beat := time.NewTicker(q.opts.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-beat.C:
			// Tell the other workers this job's worker is alive, so they
			// do not come asking for its target.
			if err := q.st.TouchJob(octx, j, q.opts.Now()); err != nil && octx.Err() == nil {
				q.log.Warn("could not renew a running job's claim", "job", j.ID, "kind", j.Kind, "target", j.Target, "err", err)
			}
		case err := <-done:
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%w (deadline %s; %v)", err, h.deadline, context.Cause(ctx))
			}
			return err
		case <-grace.C:
			q.log.Error("a job handler did not return after its deadline; its target stays held until it does",
				"job", j.ID, "kind", j.Kind, "target", j.Target, "deadline", h.deadline)
		}
	}
}

// Drain runs every due job now — of targets, or of all targets when none
// are named — and returns when none is due: for CLI commands that enqueue
// work and must see it done before they exit. Targets are worked on
// concurrently; the error joins every failed attempt and every target that
// stayed busy. Jobs retried with backoff are not waited for.
func (q *Queue) Drain(ctx context.Context, targets ...string) error {
	var errs []error
	skip := map[string]bool{} // busy targets: reported once, not retried
	for ctx.Err() == nil {
		due, err := q.st.DueTargets(ctx, q.kinds(), q.opts.Now(), q.staleAfter(), q.maxBackoff)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		due = slices.DeleteFunc(due, func(t string) bool {
			return skip[t] || (len(targets) > 0 && !slices.Contains(targets, t))
		})
		if len(due) == 0 {
			break
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, q.opts.Concurrency)
		for _, t := range due {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				_, terrs := q.runTarget(ctx, t, 1<<62)
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, terrs...)
				if len(terrs) > 0 {
					// Whatever is still due after a failure waits for its
					// backoff or for ward serve; do not spin on it.
					skip[t] = true
				}
			}()
		}
		wg.Wait()
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("draining the job queue: %w", context.Cause(ctx)))
	}
	return errors.Join(errs...)
}

// HeldBack describes the work of targets (or of all targets) that waits
// behind a job which failed and waits for its retry: Drain does not run
// it, so a CLI command that must know its change reached the devices
// calls HeldBack after Drain. nil means nothing is held back.
func (q *Queue) HeldBack(ctx context.Context, targets ...string) error {
	queued, err := q.st.ListJobs(ctx, store.JobQueued)
	if err != nil {
		return err
	}
	kinds := q.kinds()
	head := map[string]store.Job{} // the oldest queued job: the one the others wait for
	count := map[string]int{}
	for _, j := range queued {
		if (len(targets) > 0 && !slices.Contains(targets, j.Target)) || !slices.Contains(kinds, j.Kind) {
			continue
		}
		if _, ok := head[j.Target]; !ok {
			head[j.Target] = j
		}
		count[j.Target]++
	}
	first := map[string]store.Job{}
	for t, j := range head {
		if j.Attempts > 0 { // a head that never failed is scheduled for later
			first[t] = j
		}
	}
	var out []error
	for _, t := range slices.Sorted(maps.Keys(first)) {
		j := first[t]
		out = append(out, fmt.Errorf("target %q: %d job(s) wait for job %d (%s) to be retried at %s after %d failed attempt(s) (%s); ward serve retries it, or run this again then",
			t, count[t], j.ID, j.Kind, j.RunAt.Local().Format(time.DateTime), j.Attempts, j.LastError))
	}
	return errors.Join(out...)
}
