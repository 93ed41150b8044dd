package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// The SQLite lease. A holder renews its row every TTL/3, bumping a counter.
// A waiter never trusts expires_at, which the holder's wall clock wrote:
// it takes the lease over only when the counter has not moved for a whole
// TTL on the waiter's own monotonic clock, or when the holder's process is
// gone (same machine, pid not running). The holder, for its part, cancels
// its work when a renewal has not succeeded within 2/3 TTL of the last one
// starting, so it stops before any waiter can decide it is dead.

// observation is what a waiter last saw of a lease, and when (monotonic).
type observation struct {
	token    string
	renewals int64
	seen     time.Time
}

// staleLease reports whether cur's holder is gone, updating what the
// waiter has seen of it.
func (o *Owner) staleLease(cur store.TargetOwner, obs *observation) bool {
	if cur.Token != obs.token || cur.Renewals != obs.renewals {
		*obs = observation{token: cur.Token, renewals: cur.Renewals, seen: time.Now()}
		return o.holderDead(cur)
	}
	return time.Since(obs.seen) >= o.opts.TTL || o.holderDead(cur)
}

// holderDead reports whether cur's process is known not to run: only a
// holder on this machine (same host, boot and pid namespace) can be judged.
func (o *Owner) holderDead(cur store.TargetOwner) bool {
	if cur.Machine == "" || cur.Machine != o.machine || cur.Pid <= 0 {
		return false
	}
	return !PidAlive(cur.Pid)
}

func (o *Owner) acquireLease(ctx context.Context, rec store.TargetOwner, deadline, start time.Time) (hold, error) {
	var obs observation
	for {
		now := o.opts.Now()
		rec.Since, rec.ExpiresAt = now, now.Add(o.opts.TTL)
		// Read first, outside a write transaction: waiting must not
		// queue on SQLite's one writer.
		cur, err := o.st.TargetOwnerOf(ctx, rec.Target)
		try := errors.Is(err, store.ErrNotFound)
		if err == nil {
			try = o.staleLease(cur, &obs)
		} else if !try {
			return nil, err
		}
		if try {
			began := time.Now()
			got, token, ok, err := o.st.AcquireFencedTargetLease(ctx, rec, func(cur store.TargetOwner) bool { return o.staleLease(cur, &obs) })
			if err != nil {
				return nil, err
			}
			if ok {
				if cur.Token != "" && cur.Token != rec.Token {
					o.log.Warn("took over a stale lease on a target", "target", rec.Target,
						"previous_holder", cur.Holder, "previous_purpose", cur.Purpose, "previous_since", cur.Since)
				}
				return &leaseHold{o: o, rec: got, token: token, lastStart: began}, nil
			}
		}
		if err := o.pollAgain(ctx, rec.Target, deadline, start); err != nil {
			return nil, err
		}
	}
}

var errTakenOver = errors.New("another process took the lease over")

// leaseHold is a lease we hold.
type leaseHold struct {
	o         *Owner
	rec       store.TargetOwner
	token     int64     // fencing token, taken in the lease's transaction
	lastStart time.Time // monotonic start of the last successful write
}

func (h *leaseHold) fence() int64 { return h.token }

func (h *leaseHold) keep(ctx context.Context, lost func(error)) {
	ttl := h.o.opts.TTL
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		valid := h.lastStart.Add(ttl * 2 / 3)
		began := time.Now()
		done := make(chan error, 1)
		rctx, cancel := context.WithDeadline(ctx, valid)
		go func() {
			ok, err := h.o.st.RenewTargetLease(rctx, h.rec.Target, h.rec.Token, h.o.opts.Now().Add(ttl))
			if err == nil && !ok {
				err = errTakenOver
			}
			done <- err
		}()
		// The timer stands in for a renewal that hangs (SQLite busy,
		// a stalled disk): past valid, a waiter may soon take over.
		timer := time.NewTimer(time.Until(valid))
		select {
		case err := <-done:
			timer.Stop()
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				if time.Now().Before(valid) && !errors.Is(err, errTakenOver) {
					h.o.log.Warn("could not renew a target lease; will retry", "target", h.rec.Target, "err", err)
					continue
				}
				lost(err)
				return
			}
			h.lastStart = began
		case <-timer.C:
			cancel()
			if ctx.Err() != nil {
				return
			}
			lost(fmt.Errorf("the lease could not be renewed within %s", ttl*2/3))
			return
		case <-ctx.Done():
			timer.Stop()
			cancel()
			return
		}
	}
}

func (h *leaseHold) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.o.st.ReleaseTargetLease(ctx, h.rec.Target, h.rec.Token); err != nil {
		h.o.log.Error("could not release a target lease; waiters take it over after its TTL", "target", h.rec.Target, "err", err)
	}
}

// MachineID names where a pid means something: the host, its boot, and
// the pid namespace. Two containers sharing a name and a database file
// still differ in their pid namespace, so neither judges the other's pids.
func MachineID() string {
	host, _ := os.Hostname()
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, _ := os.Readlink("/proc/self/ns/pid")
	if host == "" || len(boot) == 0 || ns == "" {
		return "" // cannot tell: never judge another process by its pid
	}
	return host + "/" + strings.TrimSpace(string(boot)) + "/" + ns
}

// PidAlive reports whether pid runs on this machine (a zombie does not
// count); internal/cluster judges a replica of this machine by it.
func PidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: trust kill
	}
	// The state follows the command name in parentheses, which may
	// itself hold spaces and parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}
