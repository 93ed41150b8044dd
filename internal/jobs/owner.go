package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/store"
)

// OwnerOptions configures an Owner. Zero values take the defaults.
type OwnerOptions struct {
	// Holder is who we are, shown to waiters; default "HOST pid PID (COMMAND)".
	Holder string
	// Wait is how long Do waits for a busy target before *BusyError;
	// default 60s.
	Wait time.Duration
	// TTL is how long a SQLite lease lives without renewal (default 15s);
	// it is renewed every TTL/3. On PostgreSQL the pinned connection is
	// checked every TTL/3 or every second, whichever is sooner.
	TTL    time.Duration
	Logger *slog.Logger
	// Now is the wall clock written into leases (since, expires); default
	// time.Now. Elapsed times are always measured on the monotonic clock.
	Now func() time.Time
}

// Defaults for OwnerOptions.
const (
	DefaultWait = 60 * time.Second
	DefaultTTL  = 15 * time.Second
)

// Owner serialises all device I/O to a target across every Ward process
// sharing the store.
type Owner struct {
	st      *store.Store
	opts    OwnerOptions
	log     *slog.Logger
	machine string // where our pid means something
	pid     int
	poll    time.Duration // how often a waiter asks the database again

	mu    sync.Mutex
	local map[string]*localSlot
	dbID  string // the store's Store.DatabaseID once read; it never changes
}

// localSlot queues the goroutines of this process that want one target,
// in front of the database lock, so they do not all poll the database.
type localSlot struct {
	sem     chan struct{}
	users   int    // goroutines holding or waiting; the slot is dropped at 0
	purpose string // the current holder's, for a BusyError
	since   time.Time
}

// NewOwner returns an Owner of targets in st.
func NewOwner(st *store.Store, o OwnerOptions) *Owner {
	if o.Holder == "" {
		o.Holder = defaultHolder()
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Owner{
		st: st, opts: o, log: o.Logger,
		machine: MachineID(), pid: os.Getpid(),
		poll:  50 * time.Millisecond,
		local: map[string]*localSlot{},
	}
}

// Holder is the name this Owner shows to waiters.
func (o *Owner) Holder() string { return o.opts.Holder }

// defaultHolder is "HOST pid PID (COMMAND)", COMMAND being the program and
// its subcommand, such as "ward serve".
func defaultHolder() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	cmd := "unknown"
	if len(os.Args) > 0 {
		cmd = filepath.Base(os.Args[0])
		if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
			cmd += " " + os.Args[1]
		}
	}
	return fmt.Sprintf("%s pid %d (%s)", host, os.Getpid(), cmd)
}

// BusyError is returned by Do when the target stayed held by someone else
// for the whole wait.
type BusyError struct {
	Target, Holder, Purpose string
	Since                   time.Time
	Waited                  time.Duration
}

func (e *BusyError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another process (it recorded no name)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "target %q is busy: held by %s", e.Target, holder)
	if e.Purpose != "" {
		fmt.Fprintf(&b, " for %s", e.Purpose)
	}
	if !e.Since.IsZero() {
		fmt.Fprintf(&b, " since %s", e.Since.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, ", waited %s; try again later or check that process", e.Waited.Round(time.Second))
	return b.String()
}

// ErrOwnershipLost is the cause of fn's context being cancelled when the
// target could no longer be held (a lease not renewed in time, taken over,
// or the PostgreSQL connection lost); Do then returns an error wrapping it.
var ErrOwnershipLost = errors.New("ownership of the target was lost")

// heldKey marks, in fn's context, a target the call chain holds, so that a
// nested Do fails at once instead of waiting on itself — also through
// another Owner of the same store, as when two subsystems of one process
// each made their own.
type heldKey struct {
	st     *store.Store
	target string
}

// hold is one acquisition of the database lock on a target.
type hold interface {
	// keep renews or checks the hold until ctx ends; it calls lost once
	// if the hold cannot be kept.
	keep(ctx context.Context, lost func(error))
	release()
	// fence is the fencing token this acquisition took (drivers.WithFence).
	fence() int64
}

// Do runs fn while this process owns target, with the acquisition's
// fencing token in fn's ctx (drivers.FenceOf): strictly greater than every
// token handed out before for target, by any process, so that a driver can
// make the device refuse a holder that lost the target (drivers/fence.go).
// fn's ctx is cancelled, with
// cause wrapping ErrOwnershipLost, if ownership is lost (lease could not be
// renewed / PostgreSQL connection lost). Not reentrant for the same target:
// a nested Do for a target the call chain holds returns an error at once.
func (o *Owner) Do(ctx context.Context, target, purpose string, fn func(ctx context.Context) error) error {
	if target == "" {
		return errors.New("jobs: Do needs a target name")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("target %q: %w", target, context.Cause(ctx))
	}
	if ctx.Value(heldKey{o.st, target}) != nil {
		return fmt.Errorf("target %q is already held by this call chain (%s): Owner.Do is not reentrant; do the inner work in the outer call", target, o.opts.Holder)
	}
	start := time.Now()
	deadline := start.Add(o.opts.Wait)

	slot, err := o.lockLocal(ctx, target, purpose, deadline, start)
	if err != nil {
		return err
	}
	defer o.unlockLocal(target, slot)

	dbID, err := o.databaseID(ctx)
	if err != nil {
		return fmt.Errorf("target %q: %w", target, err)
	}
	h, err := o.acquire(ctx, target, purpose, deadline, start)
	if err != nil {
		return err
	}

	fctx := drivers.OnFenceReset(context.WithValue(ctx, heldKey{o.st, target}, true), o.fenceReset)
	fctx, cancel := context.WithCancelCause(drivers.WithFenceDomain(fctx, target, dbID, h.fence()))
	var lostErr error
	var lostOnce sync.Once
	lost := func(err error) {
		lostOnce.Do(func() {
			lostErr = fmt.Errorf("target %q: %w: %v", target, ErrOwnershipLost, err)
			o.log.Error("lost ownership of a target while using it", "target", target, "purpose", purpose, "err", err)
			cancel(lostErr)
		})
	}
	kctx, stopKeep := context.WithCancel(context.WithoutCancel(ctx))
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		h.keep(kctx, lost)
	}()

	var ferr error
	func() {
		// Deferred, so that a panic in fn (recovered by a caller such as
		// an HTTP server) still gives the target back.
		defer func() {
			stopKeep()
			<-kept
			cancel(nil)
			h.release()
		}()
		ferr = fn(fctx)
	}()
	if lostErr != nil {
		return errors.Join(ferr, lostErr)
	}
	return ferr
}

// databaseID returns the store's database id, read once: fencing tokens
// are counted per database, and the device keeps the id beside the token
// (drivers.WithFenceDomain).
func (o *Owner) databaseID(ctx context.Context) (string, error) {
	o.mu.Lock()
	id := o.dbID
	o.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := o.st.DatabaseID(ctx)
	if err != nil {
		return "", err
	}
	o.mu.Lock()
	o.dbID = id
	o.mu.Unlock()
	return id, nil
}

// fenceReset logs and audits a push that replaces a device's fence set by
// another database (drivers.ReportFenceReset): expected once after a
// reinstall, but the operator should see it.
func (o *Owner) fenceReset(r drivers.FenceReset) {
	o.log.Warn("a push from this database has reset the device's fencing token, which another database had set (a reinstall, or a database restored under a new id)",
		"target", r.Target, "token", r.Token, "database", r.Database,
		"seen_token", r.Seen, "seen_database", r.SeenDatabase, "device_state", r.DeviceState)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := o.st.AppendAudit(ctx, store.AuditEntry{
		Actor: o.opts.Holder, Action: "target.fence_reset", Object: r.Target, Detail: r,
	}); err != nil {
		o.log.Error("could not audit a fencing token reset on a device", "target", r.Target, "err", err)
	}
}

// lockLocal waits for this process's turn on target.
func (o *Owner) lockLocal(ctx context.Context, target, purpose string, deadline, start time.Time) (*localSlot, error) {
	o.mu.Lock()
	slot := o.local[target]
	if slot == nil {
		slot = &localSlot{sem: make(chan struct{}, 1)}
		o.local[target] = slot
	}
	slot.users++
	o.mu.Unlock()

	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case slot.sem <- struct{}{}:
		o.mu.Lock()
		slot.purpose, slot.since = purpose, o.opts.Now()
		o.mu.Unlock()
		return slot, nil
	case <-ctx.Done():
		o.dropLocal(target, slot)
		return nil, fmt.Errorf("waiting for target %q: %w", target, context.Cause(ctx))
	case <-timer.C:
		o.mu.Lock()
		e := &BusyError{Target: target, Holder: o.opts.Holder, Purpose: slot.purpose, Since: slot.since, Waited: time.Since(start)}
		o.mu.Unlock()
		o.dropLocal(target, slot)
		return nil, e
	}
}

func (o *Owner) unlockLocal(target string, slot *localSlot) {
	<-slot.sem
	o.dropLocal(target, slot)
}

func (o *Owner) dropLocal(target string, slot *localSlot) {
	o.mu.Lock()
	defer o.mu.Unlock()
	slot.users--
	if slot.users == 0 {
		delete(o.local, target)
	}
}

// acquire takes the database's lock on target, waiting until deadline.
func (o *Owner) acquire(ctx context.Context, target, purpose string, deadline, start time.Time) (hold, error) {
	rec := store.TargetOwner{
		Target: target, Holder: o.opts.Holder, Purpose: purpose,
		Machine: o.machine, Pid: o.pid, Token: newToken(),
	}
	if o.st.Dialect() == store.Postgres {
		return o.acquirePG(ctx, rec, deadline, start)
	}
	return o.acquireLease(ctx, rec, deadline, start)
}

// busy builds the BusyError for target from its recorded holder.
func (o *Owner) busy(target string, start time.Time) error {
	e := &BusyError{Target: target, Waited: time.Since(start)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rec, err := o.st.TargetOwnerOf(ctx, target); err == nil {
		e.Holder, e.Purpose, e.Since = rec.Holder, rec.Purpose, rec.Since
	}
	return e
}

// pollAgain waits one polling interval for target (with a little jitter,
// so that waiters do not ask in step) and returns nil to ask again, or,
// when ctx ends or deadline passes first, why the wait stopped: ctx's
// cause, or the target's *BusyError.
func (o *Owner) pollAgain(ctx context.Context, target string, deadline, start time.Time) error {
	d := o.poll + mathrand.N(o.poll/2+1)
	if left := time.Until(deadline); left < d {
		d = left
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
			return nil
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("waiting for target %q: %w", target, context.Cause(ctx))
	}
	return o.busy(target, start)
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// Holders lists the targets held now and by whom, for ward status. Notes
// left by holders known to be gone are left out: on PostgreSQL a note
// whose advisory lock nobody holds, on SQLite a lease whose process on
// this machine has ended. (A lease of a process elsewhere that stopped
// renewing stays listed until a waiter takes it over.)
func (o *Owner) Holders(ctx context.Context) ([]store.TargetOwner, error) {
	all, err := o.st.ListTargetOwners(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, h := range all {
		alive := !o.holderDead(h)
		if alive && o.st.Dialect() == store.Postgres {
			if alive, err = o.lockHeld(ctx, h.Target); err != nil {
				return nil, err
			}
		}
		if alive {
			out = append(out, h)
		}
	}
	return out, nil
}
