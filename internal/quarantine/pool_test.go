package quarantine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/sshsession"
	"github.com/wardnet/ward/drivers/sshsession/sshtest"
)

// TestPoolDiscardsTimedOutSession runs a command that outlives its
// deadline on a real OpenSSH session, then another command: the second
// must run on a new session and read its own output, not the first
// command's late answer.
func TestPoolDiscardsTimedOutSession(t *testing.T) {
	srv := sshtest.Start(t)
	var mu sync.Mutex
	var opened []*sshsession.Session
	p := NewPool(func(ctx context.Context, target string) (drivers.Session, error) {
		s, err := sshsession.Dial(ctx, sshsession.Target{Name: target, Address: srv.Host, Port: srv.Port, Username: srv.User,
			KnownHosts: srv.KnownHosts, Timeout: 5 * time.Second}, sshsession.Credential{PrivateKey: srv.ClientKey})
		if err == nil {
			mu.Lock()
			opened = append(opened, s)
			mu.Unlock()
		}
		return s, err
	})
	defer p.Close()
	ctx := t.Context()
	if err := p.Do(ctx, "fw", func(s drivers.Session) error { _, err := s.Run(ctx, "true"); return err }); err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Do(short, "fw", func(s drivers.Session) error {
		_, err := s.Run(short, "sleep 1; echo LATE-ANSWER")
		return err
	})
	if err == nil {
		t.Fatal("a command that outlived its deadline succeeded")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Do returned %s after a 300ms deadline", took)
	}
	if st := p.Stats(); st.Discarded != 1 || st.Open != 0 {
		t.Fatalf("after the timeout: %+v, want the session discarded and none open", st)
	}
	time.Sleep(time.Second) // the late answer would now be waiting on the old session
	var out string
	if err := p.Do(ctx, "fw", func(s drivers.Session) error {
		var err error
		out, err = s.Run(ctx, "echo fresh")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "fresh" {
		t.Errorf("the next command read %q, want its own output (fresh)", out)
	}
	mu.Lock()
	n := len(opened)
	mu.Unlock()
	if n != 2 {
		t.Errorf("%d sessions opened, want 2: the timed-out one must not be reused", n)
	}
}

// stuckSession answers nothing until it is closed, whatever the context
// says: a device that stopped answering mid-command.
type stuckSession struct {
	closed chan struct{}
	once   sync.Once
	broken bool
}

func newStuck() *stuckSession { return &stuckSession{closed: make(chan struct{})} }

func (s *stuckSession) Run(ctx context.Context, cmd string) (string, error) {
	if cmd == "ok" {
		return "", nil
	}
	if cmd == "exit1" {
		return "", &drivers.ExitError{Command: cmd, Status: 1}
	}
	if cmd == "brokenerr" {
		// An exit status the driver says cannot be trusted.
		return "", fmt.Errorf("%w: %w", drivers.ErrSessionBroken, &drivers.ExitError{Command: cmd, Status: 1})
	}
	if cmd == "broken" {
		s.broken = true
		return "", &drivers.ExitError{Command: cmd, Status: 1}
	}
	<-s.closed
	return "", errors.New("session closed")
}

func (s *stuckSession) Close() error { s.once.Do(func() { close(s.closed) }); return nil }
func (s *stuckSession) Broken() bool { return s.broken }

func (s *stuckSession) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// TestPoolKeepsOnlySessionsInStep: an exit status keeps the session; a
// session that says it is broken, or that hung past the deadline, is
// closed and never handed out again; a dial that never answers gives up
// on the pool's dial timeout.
func TestPoolKeepsOnlySessionsInStep(t *testing.T) {
	var mu sync.Mutex
	var sessions []*stuckSession
	p := NewPool(func(context.Context, string) (drivers.Session, error) {
		mu.Lock()
		defer mu.Unlock()
		s := newStuck()
		sessions = append(sessions, s)
		return s, nil
	})
	defer p.Close()
	ctx := t.Context()
	run := func(ctx context.Context, cmd string) error {
		return p.Do(ctx, "fw", func(s drivers.Session) error { _, err := s.Run(ctx, cmd); return err })
	}
	last := func() *stuckSession {
		mu.Lock()
		defer mu.Unlock()
		return sessions[len(sessions)-1]
	}

	if err := run(ctx, "exit1"); err == nil {
		t.Fatal("exit 1 reported no error")
	}
	first := last()
	if err := run(ctx, "ok"); err != nil || last() != first || first.isClosed() {
		t.Fatalf("after a failed exit status the session was not kept: err %v, closed %v", err, first.isClosed())
	}

	// Broken after its command: discarded, the retry runs on a new one.
	if err := run(ctx, "broken"); err == nil {
		t.Fatal("want the error of the command on the broken session")
	}
	if !first.isClosed() {
		t.Error("a session that said it was broken was not closed")
	}

	// An error wrapping drivers.ErrSessionBroken: discarded too.
	if err := run(ctx, "ok"); err != nil {
		t.Fatal(err)
	}
	second := last()
	if err := run(ctx, "brokenerr"); !errors.Is(err, drivers.ErrSessionBroken) {
		t.Fatalf("want ErrSessionBroken, got %v", err)
	}
	if !second.isClosed() {
		t.Error("a session whose command failed with ErrSessionBroken was not closed")
	}

	// A command that hangs and ignores its context: Do returns on the
	// deadline and the session is closed under it.
	if err := run(ctx, "ok"); err != nil {
		t.Fatal(err)
	}
	hung := last()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := run(short, "hang"); err == nil {
		t.Fatal("a hung command reported success")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Do returned %s after a 200 ms deadline", took)
	}
	if !hung.isClosed() {
		t.Error("the hung session was not closed")
	}
	if err := run(ctx, "ok"); err != nil || last() == hung {
		t.Errorf("after the hang: err %v; the hung session was handed out again: %v", err, last() == hung)
	}

	// A dial that never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	unblock := make(chan struct{})
	defer close(unblock)
	blackhole := NewPool(func(ctx context.Context, target string) (drivers.Session, error) {
		c, err := ln.Accept() // accepted, never answered
		if err != nil {
			return nil, err
		}
		<-unblock // a dial that ignores its context
		return nil, c.Close()
	})
	blackhole.SetDialTimeout(300 * time.Millisecond)
	go net.Dial("tcp", ln.Addr().String())
	start = time.Now()
	err = blackhole.Do(ctx, "dead-fw", func(drivers.Session) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `"dead-fw"`) {
		t.Fatalf("dial of a target that never answers: %v, want an error naming it", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the dial gave up after %s, want about its 300 ms timeout", took)
	}
	if st := blackhole.Stats(); st.DialErrors != 1 {
		t.Errorf("stats %+v, want one dial error", st)
	}
}

// TestPoolResetDoesNotWaitForSessionInUse: a policy reload resets the
// pool while a push is stuck on a target; the reset returns at once and
// the stuck session is closed when its user is done.
func TestPoolResetDoesNotWaitForSessionInUse(t *testing.T) {
	s := newStuck()
	p := NewPool(func(context.Context, string) (drivers.Session, error) { return s, nil })
	defer p.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		done <- p.Do(ctx, "fw", func(s drivers.Session) error {
			close(started)
			_, err := s.Run(ctx, "hang")
			return err
		})
	}()
	<-started
	start := time.Now()
	p.Reset()
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("Reset waited %s for a session in use", took)
	}
	<-done
	if !s.isClosed() {
		t.Error("the session in use during Reset was not closed after")
	}
}
