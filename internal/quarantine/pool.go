package quarantine

import (
	"context"
	"errors"
	"sync"

	"github.com/wardnet/ward/drivers"
)

// DialFunc opens a session to a target by name.
type DialFunc func(ctx context.Context, target string) (drivers.Session, error)

// Pool keeps one open session per target, so a quarantine costs a few
// commands on a session already logged in rather than a new SSH handshake
// (about 0.2–0.8 s). A session is used by one goroutine at a time; a
// command that fails on a session drops it, and the next use dials again.
type Pool struct {
	dial DialFunc

	mu      sync.Mutex
	targets map[string]*pooled
	closed  bool
	// dials and dialErrors count every dial, for metrics.
	dials, dialErrors int64
}

// PoolStats describes a Pool.
type PoolStats struct {
	Open       int   // sessions open now
	Dials      int64 // sessions dialled since start
	DialErrors int64 // dials that failed
}

type pooled struct {
	mu sync.Mutex // held while the session is in use
	s  drivers.Session
}

// NewPool returns a pool that opens sessions with dial.
func NewPool(dial DialFunc) *Pool {
	return &Pool{dial: dial, targets: map[string]*pooled{}}
}

// Do runs fn on the target's session, dialling it if needed. If fn fails
// with a session that may be broken, the session is closed and fn is tried
// once more on a new one: every quarantine operation is idempotent.
func (p *Pool) Do(ctx context.Context, target string, fn func(drivers.Session) error) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("the session pool is closed")
	}
	t := p.targets[target]
	if t == nil {
		t = &pooled{}
		p.targets[target] = t
	}
	p.mu.Unlock()

	t.mu.Lock()
	defer t.mu.Unlock()
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if t.s == nil {
			t.s, err = p.dial(ctx, target)
			p.mu.Lock()
			p.dials++
			if err != nil {
				p.dialErrors++
			}
			p.mu.Unlock()
			if err != nil {
				t.s = nil
				return err
			}
		}
		if err = fn(t.s); err == nil {
			return nil
		}
		var exit *drivers.ExitError
		if errors.As(err, &exit) || ctx.Err() != nil {
			return err // the command ran and failed: the session is fine
		}
		t.s.Close()
		t.s = nil
	}
	return err
}

// Stats counts the open sessions and the dials so far.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	targets := make([]*pooled, 0, len(p.targets))
	for _, t := range p.targets {
		targets = append(targets, t)
	}
	st := PoolStats{Dials: p.dials, DialErrors: p.dialErrors}
	p.mu.Unlock()
	for _, t := range targets {
		// A session in use is open; TryLock keeps a scrape from waiting on
		// a push.
		if !t.mu.TryLock() {
			st.Open++
			continue
		}
		if t.s != nil {
			st.Open++
		}
		t.mu.Unlock()
	}
	return st
}

// Reset closes every session; the pool stays usable and dials again.
func (p *Pool) Reset() { p.close(false) }

// Close closes every session, for good.
func (p *Pool) Close() { p.close(true) }

func (p *Pool) close(final bool) {
	p.mu.Lock()
	p.closed = p.closed || final
	targets := p.targets
	p.targets = map[string]*pooled{}
	p.mu.Unlock()
	for _, t := range targets {
		t.mu.Lock()
		if t.s != nil {
			t.s.Close()
			t.s = nil
		}
		t.mu.Unlock()
	}
}
