package quarantine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wardnet/ward/drivers"
)

// DialFunc opens a session to a target by name.
type DialFunc func(ctx context.Context, target string) (drivers.Session, error)

// DefaultDialTimeout bounds one dial of a Pool, login and prompt included:
// a target that drops packets (no refusal) would otherwise hold its job
// for the SSH client's own timeouts. Half a job's default deadline, so a
// job whose dial failed still has time to say so.
const DefaultDialTimeout = 10 * time.Second

// Pool keeps one open session per target, so a quarantine costs a few
// commands on a session already logged in rather than a new SSH handshake
// (about 0.2–0.8 s). A session is used by one goroutine at a time.
//
// A session is kept only while it is known to be in step with the device:
// a command that failed for any reason but a non-zero exit status (a
// timeout, a cut connection, output that could not be parsed, a session
// the driver marked broken) closes and discards it, and so does a context
// that ended while the session was in use — the device may still be
// answering the abandoned command, and its output would be read as the
// next command's.
type Pool struct {
	dial        DialFunc
	dialTimeout time.Duration

	mu      sync.Mutex
	targets map[string]*pooled
	closed  bool
	// dials, dialErrors and discarded count sessions, for metrics.
	dials, dialErrors, discarded int64
}

// PoolStats describes a Pool.
type PoolStats struct {
	Open       int   // sessions open now
	Dials      int64 // sessions dialled since start
	DialErrors int64 // dials that failed
	Discarded  int64 // sessions closed because a command on them failed or timed out
}

type pooled struct {
	// sem is held while the session is in use; a channel, so a caller
	// waiting for it gives up when its context ends.
	sem chan struct{}
	s   drivers.Session
	// retired is set (under Pool.mu) by Reset or Close while the session
	// is in use: its user closes it when done.
	retired bool
}

// NewPool returns a pool that opens sessions with dial, each dial bounded
// by DefaultDialTimeout.
func NewPool(dial DialFunc) *Pool {
	return &Pool{dial: dial, dialTimeout: DefaultDialTimeout, targets: map[string]*pooled{}}
}

// SetDialTimeout changes how long one dial may take (0: DefaultDialTimeout).
func (p *Pool) SetDialTimeout(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dialTimeout = d
	if d <= 0 {
		p.dialTimeout = DefaultDialTimeout
	}
}

// brokenSession is implemented by sessions that know they are out of step
// with the device (a command timed out, its status could not be read).
type brokenSession interface{ Broken() bool }

// Do runs fn on the target's session, dialling it if needed. If fn fails
// on a session that may be broken, the session is discarded and, unless
// ctx has ended, fn is tried once more on a new one: every quarantine
// operation is idempotent. Do returns when ctx ends even if the session
// does not answer: the session is closed under fn, which unblocks it.
func (p *Pool) Do(ctx context.Context, target string, fn func(drivers.Session) error) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("the session pool is closed")
	}
	t := p.targets[target]
	if t == nil {
		t = &pooled{sem: make(chan struct{}, 1)}
		p.targets[target] = t
	}
	p.mu.Unlock()

	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("target %q: waiting for its session: %w", target, ctx.Err())
	}
	defer func() {
		// Released under p.mu, so a Reset either sees the session idle or
		// leaves it retired for this to close.
		p.mu.Lock()
		var old drivers.Session
		if t.retired {
			old, t.s = t.s, nil
		}
		<-t.sem
		p.mu.Unlock()
		if old != nil {
			old.Close()
		}
	}()
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if t.s == nil {
			if t.s, err = p.dialBounded(ctx, target); err != nil {
				return err
			}
		}
		var discarded bool
		discarded, err = p.run(ctx, t.s, fn)
		if !discarded {
			return err
		}
		t.s = nil
		p.mu.Lock()
		p.discarded++
		p.mu.Unlock()
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// run runs fn on s and reports whether s was discarded (and closed). If
// ctx ends while fn runs, s is closed to unblock fn.
func (p *Pool) run(ctx context.Context, s drivers.Session, fn func(drivers.Session) error) (discarded bool, err error) {
	var once sync.Once
	closeS := func() { once.Do(func() { s.Close() }) }
	stop := context.AfterFunc(ctx, closeS)
	err = fn(s)
	if !stop() {
		// The watchdog ran or is about to: the session is gone either way.
		closeS()
		return true, err
	}
	if !keep(ctx, s, err) {
		closeS()
		return true, err
	}
	return false, err
}

// keep says whether a session may be used again after a command returned
// err on it.
func keep(ctx context.Context, s drivers.Session, err error) bool {
	if b, ok := s.(brokenSession); ok && b.Broken() {
		return false
	}
	if err == nil {
		return true
	}
	if errors.Is(err, drivers.ErrSessionBroken) {
		return false
	}
	// The command ran and failed: the session is in step, unless the
	// context ended meanwhile (the failure may be the cut-off command).
	var exit *drivers.ExitError
	return errors.As(err, &exit) && ctx.Err() == nil
}

// dialBounded dials target within the pool's dial timeout (or ctx's
// deadline, if sooner). A dial that has not answered by then is left to
// finish on its own, and its session is closed if it ever opens.
func (p *Pool) dialBounded(ctx context.Context, target string) (drivers.Session, error) {
	p.mu.Lock()
	limit := p.dialTimeout
	p.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	type result struct {
		s   drivers.Session
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := p.dial(dctx, target)
		done <- result{s, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-dctx.Done():
		go func() {
			// On error a dial may return a typed nil session: only a
			// dial that succeeded has a session to close.
			if late := <-done; late.err == nil && late.s != nil {
				late.s.Close()
			}
		}()
		r.err = fmt.Errorf("target %q: no session within %s (the target does not answer; check that it is up and reachable on its SSH port): %w",
			target, limit, dctx.Err())
	}
	p.mu.Lock()
	p.dials++
	if r.err != nil {
		p.dialErrors++
	}
	p.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	return r.s, nil
}

// Stats counts the open sessions and the dials so far.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	targets := make([]*pooled, 0, len(p.targets))
	for _, t := range p.targets {
		targets = append(targets, t)
	}
	st := PoolStats{Dials: p.dials, DialErrors: p.dialErrors, Discarded: p.discarded}
	p.mu.Unlock()
	for _, t := range targets {
		// A session in use is open; not waiting keeps a scrape from
		// waiting on a push.
		select {
		case t.sem <- struct{}{}:
		default:
			st.Open++
			continue
		}
		if t.s != nil {
			st.Open++
		}
		<-t.sem
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
	var idle []drivers.Session
	for _, t := range p.targets {
		// An idle session is closed now; one in use by its user's Do when
		// it finishes, so a Reset never waits on a slow target.
		t.retired = true
		select {
		case t.sem <- struct{}{}:
			if t.s != nil {
				idle = append(idle, t.s)
				t.s = nil
			}
			<-t.sem
		default:
		}
	}
	p.targets = map[string]*pooled{}
	p.mu.Unlock()
	for _, s := range idle {
		s.Close()
	}
}
