package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// Scheduler is the leadership of scheduled work.
const Scheduler = "scheduler"

// Options configure an Elector.
type Options struct {
	// Replica describes this process; ID defaults to host-pid-random.
	Replica store.Replica
	// Leadership is the leadership's name (default Scheduler).
	Leadership string
	// TTL is the lease: a leader not renewed for this long, as a claimant
	// sees it, is replaced (default 3s). The leader renews every TTL/4.
	TTL time.Duration
	// OnChange is told each time this replica gains or loses leadership.
	OnChange func(leader bool, epoch int64)
	Logger   *slog.Logger
	// PidAlive judges a replica of this machine by its pid (default
	// jobs.PidAlive); Replica.Machine defaults to jobs.MachineID.
	PidAlive func(pid int) bool
}

// Status is what an Elector knows now.
type Status struct {
	Replica string `json:"replica"`
	Leader  bool   `json:"leader"`
	// Epoch is this replica's epoch while it leads, else the last epoch it
	// saw.
	Epoch int64 `json:"epoch"`
	// LeaderID is the replica that leads, as last seen ("" if none).
	LeaderID string `json:"leader_id"`
}

// Elector takes part in one leadership for one replica.
type Elector struct {
	st  *store.Store
	o   Options
	log *slog.Logger

	mu     sync.Mutex
	status Status
	// first is closed once Run's first claim attempt is over.
	first     chan struct{}
	firstOnce sync.Once
	// renewed is when the last successful claim or renewal began, on the
	// monotonic clock; the leadership is trusted until renewed+TTL*2/3.
	renewed time.Time
}

// ErrNotLeader is returned by Fence when this replica does not lead.
var ErrNotLeader = errors.New("this replica is not the leader")

// New returns an Elector for the replica o describes.
func New(st *store.Store, o Options) *Elector {
	if o.TTL <= 0 {
		o.TTL = 3 * time.Second
	}
	if o.Leadership == "" {
		o.Leadership = Scheduler
	}
	if o.Replica.ID == "" {
		o.Replica.ID = replicaID()
	}
	if o.Replica.Pid == 0 {
		o.Replica.Pid = os.Getpid()
	}
	if o.Replica.Host == "" {
		o.Replica.Host, _ = os.Hostname()
	}
	if o.Replica.Machine == "" {
		o.Replica.Machine = jobs.MachineID()
	}
	if o.PidAlive == nil {
		o.PidAlive = jobs.PidAlive
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Elector{st: st, o: o, log: log.With("replica", o.Replica.ID), status: Status{Replica: o.Replica.ID}, first: make(chan struct{})}
}

func replicaID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "ward"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// ID is this replica's id.
func (e *Elector) ID() string { return e.o.Replica.ID }

// TTL is the lease.
func (e *Elector) TTL() time.Duration { return e.o.TTL }

// Status reports whether this replica leads, and its epoch.
func (e *Elector) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.status
	if s.Leader && time.Since(e.renewed) >= e.trust() {
		s.Leader = false
	}
	return s
}

// trust is how long after a renewal began the leader still trusts it.
func (e *Elector) trust() time.Duration { return e.o.TTL * 2 / 3 }

// Fence returns this replica's epoch if it leads now — its last renewal
// began less than 2/3 of the TTL ago, so no claimant can have taken
// over — and ErrNotLeader otherwise. Call it right before acting as the
// leader.
func (e *Elector) Fence() (int64, error) {
	s := e.Status()
	if !s.Leader {
		return 0, fmt.Errorf("%w (replica %s; leader %q, epoch %d)", ErrNotLeader, s.Replica, s.LeaderID, s.Epoch)
	}
	return s.Epoch, nil
}

// FirstAttempt is closed once Run has made its first claim: Status then
// says whether this replica leads from the start (ward serve waits for it,
// and for the start of the term, before it takes requests).
func (e *Elector) FirstAttempt() <-chan struct{} { return e.first }

// Run takes part in the leadership until ctx is done: it records the
// replica, renews it, claims the leadership when its holder is gone, and
// while it leads runs lead with a context cancelled when the leadership
// is lost (lead should return then). On return it has stopped leading,
// resigned — so another replica takes over at once — and removed its
// replica row.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context, epoch int64)) error {
	if err := e.st.PutReplica(ctx, e.o.Replica); err != nil {
		return err
	}
	tick := time.NewTicker(e.o.TTL / 4)
	defer tick.Stop()
	var (
		leading  *leaderRun
		seen     *store.Leader
		seenAt   time.Time
		replicas = map[string]observed{}
	)
	defer e.firstOnce.Do(func() { close(e.first) })
	defer func() {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if leading != nil {
			e.stepDown(leading, "stopping")
			if err := e.st.ResignLeadership(bg, e.o.Leadership, e.o.Replica.ID, leading.epoch); err != nil {
				e.log.Warn("could not resign the leadership; another replica takes it after the lease", "error", err)
			}
		}
		if err := e.st.DeleteReplica(bg, e.o.Replica.ID); err != nil {
			e.log.Warn("could not remove this replica's row", "error", err)
		}
	}()
	for {
		if leading != nil {
			if !e.renew(ctx, leading) {
				e.stepDown(leading, "lease lost")
				leading = nil
			}
		}
		if leading == nil {
			if l := e.tryClaim(ctx, &seen, &seenAt); l != nil {
				leading = e.startLeading(ctx, *l, lead)
			}
		}
		e.firstOnce.Do(func() { close(e.first) })
		e.keepReplica(ctx, leading != nil, replicas)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// leaderRun is one term of leadership in this process.
type leaderRun struct {
	epoch  int64
	cancel context.CancelFunc
	done   chan struct{}
}

func (e *Elector) startLeading(ctx context.Context, l store.Leader, lead func(context.Context, int64)) *leaderRun {
	lctx, cancel := context.WithCancel(ctx)
	run := &leaderRun{epoch: l.Epoch, cancel: cancel, done: make(chan struct{})}
	e.log.Info("leading", "leadership", e.o.Leadership, "epoch", l.Epoch)
	if e.o.OnChange != nil {
		e.o.OnChange(true, l.Epoch)
	}
	go func() {
		defer close(run.done)
		lead(lctx, l.Epoch)
	}()
	return run
}

// stepDown ends a term: the work's context is cancelled and waited for,
// so that no two terms of this process overlap.
func (e *Elector) stepDown(run *leaderRun, why string) {
	e.mu.Lock()
	e.status.Leader = false
	e.mu.Unlock()
	run.cancel()
	<-run.done
	e.log.Warn("no longer leading", "leadership", e.o.Leadership, "epoch", run.epoch, "why", why)
	if e.o.OnChange != nil {
		e.o.OnChange(false, run.epoch)
	}
}

// renew renews the lease of a term; false means the term is over: the
// row names another holder or epoch, or no renewal succeeded for 2/3 of
// the TTL (the database unreachable, or this process paused).
func (e *Elector) renew(ctx context.Context, run *leaderRun) bool {
	e.mu.Lock()
	last := e.renewed
	e.mu.Unlock()
	if time.Since(last) >= e.trust() {
		// Paused, or renewals failing: a claimant may take over soon, so
		// stop before trying again.
		return false
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, e.trust()-time.Since(last))
	defer cancel()
	ok, err := e.st.RenewLeadership(rctx, e.o.Leadership, e.o.Replica.ID, run.epoch)
	switch {
	case err != nil:
		e.log.Warn("could not renew the leadership", "error", err)
		return time.Since(last) < e.trust()
	case !ok:
		return false
	}
	e.mu.Lock()
	e.renewed = start
	e.mu.Unlock()
	return true
}

// tryClaim reads the leadership and claims it when nobody holds it or its
// holder has not renewed for a whole TTL as this replica saw it.
func (e *Elector) tryClaim(ctx context.Context, seen **store.Leader, seenAt *time.Time) *store.Leader {
	cur, err := e.st.Leadership(ctx, e.o.Leadership)
	var claim *store.Leader
	switch {
	case errors.Is(err, store.ErrNotFound):
		claim = nil
	case err != nil:
		e.log.Warn("could not read the leadership", "error", err)
		return nil
	default:
		e.mu.Lock()
		e.status.LeaderID, e.status.Epoch = cur.Holder, cur.Epoch
		e.mu.Unlock()
		if *seen == nil || (*seen).Holder != cur.Holder || (*seen).Epoch != cur.Epoch || (*seen).Renewals != cur.Renewals {
			c := cur
			*seen, *seenAt = &c, time.Now()
		}
		if cur.Holder != "" && time.Since(*seenAt) < e.o.TTL && !e.deadOnThisMachine(ctx, cur.Holder) {
			return nil
		}
		claim = &cur
	}
	start := time.Now()
	got, ok, err := e.st.ClaimLeadership(ctx, e.o.Leadership, e.o.Replica.ID, claim)
	if err != nil {
		e.log.Warn("could not claim the leadership", "error", err)
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status.LeaderID, e.status.Epoch = got.Holder, got.Epoch
	if !ok {
		return nil
	}
	if claim != nil {
		e.log.Info("took over the leadership", "from", claim.Holder, "epoch", got.Epoch)
	}
	e.status.Leader, e.renewed = true, start
	return &got
}

// deadOnThisMachine reports whether replica id ran on this machine and its
// process is gone (a crash, kill -9): a restart need not wait a lease for
// its own dead predecessor. Only this machine's pids can be judged.
func (e *Elector) deadOnThisMachine(ctx context.Context, id string) bool {
	if e.o.Replica.Machine == "" || id == "" {
		return false
	}
	r, err := e.st.ReplicaByID(ctx, id)
	if err != nil || r.Machine != e.o.Replica.Machine || r.Pid <= 0 || r.Pid == e.o.Replica.Pid {
		return false
	}
	return !e.o.PidAlive(r.Pid)
}

// observed is another replica's renewal counter as this one last saw it.
type observed struct {
	renewals int64
	at       time.Time
}

// deadAfter is how long a replica's row may stand still before the
// leader removes it as dead.
const deadAfter = 20

// keepReplica renews this replica's row (recording it again if another
// replica removed it), and, on the leader, removes the rows of replicas
// whose renewals have not moved for deadAfter TTLs.
func (e *Elector) keepReplica(ctx context.Context, leader bool, seen map[string]observed) {
	ok, err := e.st.RenewReplica(ctx, e.o.Replica.ID)
	if err == nil && !ok {
		err = e.st.PutReplica(ctx, e.o.Replica)
	}
	if err != nil {
		e.log.Warn("could not renew this replica's row", "error", err)
		return
	}
	if !leader {
		return
	}
	all, err := e.st.ListReplicas(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	live := map[string]bool{}
	for _, r := range all {
		live[r.ID] = true
		o, ok := seen[r.ID]
		if !ok || o.renewals != r.Renewals {
			seen[r.ID] = observed{renewals: r.Renewals, at: now}
			continue
		}
		if r.ID != e.o.Replica.ID && now.Sub(o.at) >= deadAfter*e.o.TTL {
			e.log.Info("removing a replica that stopped renewing", "dead", r.ID, "host", r.Host, "pid", r.Pid)
			if err := e.st.DeleteReplica(ctx, r.ID); err == nil {
				delete(seen, r.ID)
			}
		}
	}
	for id := range seen {
		if !live[id] {
			delete(seen, id)
		}
	}
}
