package jobs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// Two processes, and goroutines in each, increment one counter file inside
// Do for the same target: no update is lost and no two increments overlap.
func TestDoSerialisesProcesses(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, url string) {
		dir := t.TempDir()
		const rounds = 60
		var cmds []*exec.Cmd
		for i := range 2 {
			cmds = append(cmds, child{mode: "counter", url: url, dir: dir, target: "core-fw", rounds: rounds, holder: "child " + strconv.Itoa(i)}.start(t))
		}
		// The parent's goroutines join in through the in-process queue.
		owner := NewOwner(st, OwnerOptions{Holder: "parent"})
		var wg sync.WaitGroup
		errs := make(chan error, 2*rounds)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					errs <- owner.Do(context.Background(), "core-fw", "counting", func(ctx context.Context) error { return bumpFenced(ctx, dir) })
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("child %d: %v (its log is in %s)", i, err, dir)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "overlap")); err == nil {
			t.Fatal("two increments ran at the same time")
		}
		data, err := os.ReadFile(filepath.Join(dir, "counter"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(data)), strconv.Itoa(4*rounds); got != want {
			t.Fatalf("counter = %s, want %s: updates were lost", got, want)
		}
		checkTokensIncrease(t, filepath.Join(dir, "tokens"), 4*rounds)
	})
}

// A process killed while it holds a target frees it within a bounded
// time; until then a waiter gets a BusyError naming it.
func TestKilledHolderFreesTarget(t *testing.T) {
	cases := []struct {
		name    string
		dialect store.Dialect
		machine string        // "": same machine as the waiter
		ttl     time.Duration // the holder's and the waiter's
		min     time.Duration // the waiter must not take it sooner
		max     time.Duration
	}{
		// The server ends the dead session's lock.
		{"postgres", store.Postgres, "", 15 * time.Second, 0, 2 * time.Second},
		// The waiter sees the holder's pid is gone.
		{"sqlite same machine", store.SQLite, "", 15 * time.Second, 0, 2 * time.Second},
		// Another machine's pid cannot be judged: the counter stops
		// moving for a TTL on the waiter's clock.
		{"sqlite other machine", store.SQLite, "elsewhere/boot/pid:[1]", time.Second, time.Second, 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := dbURL(t, tc.dialect)
			st := openStore(t, url)
			dir := t.TempDir()
			cmd := child{mode: "hold", url: url, dir: dir, target: "core-fw", ttl: tc.ttl, machine: tc.machine, holder: "the child"}.start(t)
			waitFile(t, filepath.Join(dir, "held"), 20*time.Second)

			owner := NewOwner(st, OwnerOptions{Holder: "the waiter", TTL: tc.ttl, Wait: 500 * time.Millisecond})
			err := owner.Do(context.Background(), "core-fw", "apply", func(context.Context) error {
				t.Error("ran while the child held the target")
				return nil
			})
			var busy *BusyError
			if !errors.As(err, &busy) {
				t.Fatalf("Do on a held target: %v, want *BusyError", err)
			}
			if busy.Holder != "the child" || busy.Purpose != "holding for a test" || busy.Since.IsZero() || busy.Waited < 500*time.Millisecond {
				t.Fatalf("BusyError %+v does not name the holder, its purpose and since when", busy)
			}
			if msg := err.Error(); !strings.Contains(msg, `target "core-fw" is busy: held by the child for holding for a test since `) || !strings.Contains(msg, "try again later") {
				t.Fatalf("message %q", msg)
			}

			if hs, err := owner.Holders(context.Background()); err != nil || len(hs) != 1 || hs[0].Holder != "the child" {
				t.Fatalf("holders while the child holds the target: %+v %v", hs, err)
			}

			kill9(t, cmd)
			killed := time.Now()
			hs, err := owner.Holders(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// A dead holder is not listed where that can be told at once;
			// on another machine only a waiter's TTL tells.
			if wantListed := tc.machine != ""; (len(hs) == 1) != wantListed {
				t.Fatalf("holders after the kill: %+v, want listed=%v", hs, wantListed)
			}
			owner = NewOwner(st, OwnerOptions{Holder: "the waiter", TTL: tc.ttl, Wait: 30 * time.Second})
			var took time.Duration
			if err := owner.Do(context.Background(), "core-fw", "apply", func(context.Context) error {
				took = time.Since(killed)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if took < tc.min || took > tc.max {
				t.Fatalf("the waiter got the target %s after the kill, want between %s and %s", took, tc.min, tc.max)
			}
		})
	}
}

// offsetClock is a wall clock that can be jumped; its readings carry no
// monotonic part, so a jump shows in every difference computed from them.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time       { return time.Now().Add(time.Duration(c.off.Load())).Round(0) }
func (c *offsetClock) jump(d time.Duration) { c.off.Add(int64(d)) }

// Wall-clock jumps of ±2h in the holder and in the waiter neither let a
// live lease be stolen nor keep a dead one.
func TestLeaseSurvivesClockJumps(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	const ttl = 600 * time.Millisecond
	var holderClock, waiterClock offsetClock
	holder := NewOwner(st, OwnerOptions{Holder: "holder", TTL: ttl, Now: holderClock.Now})
	holder.machine = "elsewhere" // judge by the counter only
	waiter := NewOwner(st, OwnerOptions{Holder: "waiter", TTL: ttl, Wait: 4 * ttl, Now: waiterClock.Now})

	held := make(chan struct{})
	release := make(chan struct{})
	holderErr := make(chan error, 1)
	go func() {
		holderErr <- holder.Do(context.Background(), "core-fw", "apply", func(ctx context.Context) error {
			close(held)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
	}()
	<-held
	// The holder's clock goes back 2h: it writes expiries in the past.
	// The waiter's goes forward 2h: every expiry looks long gone.
	holderClock.jump(-2 * time.Hour)
	waiterClock.jump(2 * time.Hour)
	err := waiter.Do(context.Background(), "core-fw", "apply", func(context.Context) error {
		t.Error("the waiter stole a live lease after a clock jump")
		return nil
	})
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder != "holder" {
		t.Fatalf("waiter: %v, want a BusyError naming the holder", err)
	}
	// And the other way round.
	holderClock.jump(4 * time.Hour)
	waiterClock.jump(-4 * time.Hour)
	if err := waiter.Do(context.Background(), "core-fw", "apply", func(context.Context) error {
		t.Error("the waiter stole a live lease after a clock jump")
		return nil
	}); !errors.As(err, &busy) {
		t.Fatalf("waiter: %v, want a BusyError", err)
	}
	close(release)
	if err := <-holderErr; err != nil {
		t.Fatalf("the holder lost its lease to a clock jump: %v", err)
	}

	// A dead holder's lease whose expiry lies 2h ahead (its clock was
	// fast) is still taken over once its counter has stood for a TTL.
	dead := store.TargetOwner{Target: "access-3w", Holder: "dead", Machine: "elsewhere", Pid: 1, Token: "dead-token",
		Since: time.Now().Add(2 * time.Hour), ExpiresAt: time.Now().Add(2*time.Hour + ttl)}
	if _, _, ok, err := st.AcquireFencedTargetLease(context.Background(), dead, func(store.TargetOwner) bool { return false }); err != nil || !ok {
		t.Fatalf("planting a dead lease: %v %v", ok, err)
	}
	start := time.Now()
	if err := waiter.Do(context.Background(), "access-3w", "apply", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("a dead lease was not taken over: %v", err)
	}
	if took := time.Since(start); took < ttl || took > ttl+2*time.Second {
		t.Fatalf("took the dead lease after %s, want about its TTL %s", took, ttl)
	}
}

// A holder that cannot renew its lease stops: fn's context is cancelled
// with ErrOwnershipLost before a waiter could take over.
func TestLostLeaseCancelsWork(t *testing.T) {
	st := openStore(t, dbURL(t, store.SQLite))
	const ttl = 600 * time.Millisecond
	owner := NewOwner(st, OwnerOptions{Holder: "holder", TTL: ttl})
	start := time.Now()
	var cancelledAfter time.Duration
	err := owner.Do(context.Background(), "core-fw", "apply", func(ctx context.Context) error {
		// Someone takes the lease over under us (as a waiter would
		// after judging it stale).
		if err := st.PutTargetOwner(ctx, store.TargetOwner{Target: "core-fw", Holder: "thief", Token: "other", Since: time.Now(), ExpiresAt: time.Now()}); err != nil {
			return err
		}
		<-ctx.Done()
		cancelledAfter = time.Since(start)
		if !errors.Is(context.Cause(ctx), ErrOwnershipLost) {
			t.Errorf("cause %v, want ErrOwnershipLost", context.Cause(ctx))
		}
		return nil
	})
	if !errors.Is(err, ErrOwnershipLost) {
		t.Fatalf("Do returned %v, want ErrOwnershipLost", err)
	}
	if cancelledAfter > ttl {
		t.Fatalf("work cancelled %s after the lease was lost, want within a renewal period", cancelledAfter)
	}
	// The thief's lease is left alone.
	if cur, err := st.TargetOwnerOf(context.Background(), "core-fw"); err != nil || cur.Holder != "thief" {
		t.Fatalf("release removed another holder's lease: %+v %v", cur, err)
	}
}

// On PostgreSQL, a holder whose session is terminated loses its work's
// context, and the next holder gets the target at once.
func TestTerminatedSessionCancelsWork(t *testing.T) {
	url := dbURL(t, store.Postgres)
	st := openStore(t, url)
	owner := NewOwner(st, OwnerOptions{Holder: "holder", TTL: 3 * time.Second})
	err := owner.Do(context.Background(), "core-fw", "apply", func(ctx context.Context) error {
		// An administrator (or a failover) ends every other session.
		if err := st.DB.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'").Error; err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(3 * time.Second):
			t.Error("work not cancelled after its lock's session ended")
			return nil
		}
	})
	if !errors.Is(err, ErrOwnershipLost) {
		t.Fatalf("Do returned %v, want ErrOwnershipLost", err)
	}
	other := NewOwner(st, OwnerOptions{Holder: "next", Wait: 2 * time.Second})
	if err := other.Do(context.Background(), "core-fw", "apply", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// In one process: a nested Do for the held target fails at once, other
// targets are independent, and a waiter's BusyError names the holder.
func TestDoInProcess(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		owner := NewOwner(st, OwnerOptions{Holder: "me", Wait: 300 * time.Millisecond})
		ctx := context.Background()
		err := owner.Do(ctx, "core-fw", "apply", func(ctx context.Context) error {
			start := time.Now()
			if err := owner.Do(ctx, "core-fw", "nested", func(context.Context) error { return nil }); err == nil || !strings.Contains(err.Error(), "not reentrant") {
				t.Errorf("nested Do: %v, want a reentrancy error", err)
			}
			if time.Since(start) > 100*time.Millisecond {
				t.Error("nested Do waited instead of failing at once")
			}
			second := NewOwner(st, OwnerOptions{Holder: "me again"})
			if err := second.Do(ctx, "core-fw", "nested", func(context.Context) error { return nil }); err == nil || !strings.Contains(err.Error(), "not reentrant") {
				t.Errorf("nested Do through another Owner: %v, want a reentrancy error", err)
			}
			if time.Since(start) > 100*time.Millisecond {
				t.Error("nested Do waited instead of failing at once")
			}
			if err := owner.Do(ctx, "access-3w", "refresh", func(context.Context) error { return nil }); err != nil {
				t.Errorf("another target: %v", err)
			}
			done := make(chan error)
			go func() {
				done <- owner.Do(context.Background(), "core-fw", "quarantine", func(context.Context) error { return nil })
			}()
			var busy *BusyError
			if err := <-done; !errors.As(err, &busy) || busy.Holder != "me" || busy.Purpose != "apply" {
				t.Errorf("concurrent Do: %v, want a BusyError naming me for apply", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := errors.New("boom"); !errors.Is(owner.Do(ctx, "core-fw", "apply", func(context.Context) error { return want }), want) {
			t.Fatal("fn's error is not returned")
		}
		// A panic in fn, recovered by the caller, still gives the target back.
		func() {
			defer func() { _ = recover() }()
			_ = owner.Do(ctx, "core-fw", "apply", func(context.Context) error { panic("driver bug") })
		}()
		if err := owner.Do(ctx, "core-fw", "apply", func(context.Context) error { return nil }); err != nil {
			t.Fatalf("after a panic in fn: %v", err)
		}
		if owners, err := st.ListTargetOwners(ctx); err != nil || len(owners) != 0 {
			t.Fatalf("holders left after release: %+v %v", owners, err)
		}
	})
}

func BenchmarkDoUncontended(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			st := openStore(b, dbURL(b, d))
			owner := NewOwner(st, OwnerOptions{})
			ctx := context.Background()
			for b.Loop() {
				if err := owner.Do(ctx, "core-fw", "bench", func(context.Context) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A holder that keeps a target for several TTLs keeps it: renewals (SQLite)
// and session checks (PostgreSQL) do not report a loss that did not
// happen, and a waiter meanwhile gets a BusyError.
func TestLongHoldKeepsOwnership(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		const ttl = 600 * time.Millisecond
		holder := NewOwner(st, OwnerOptions{Holder: "holder", TTL: ttl})
		waiter := NewOwner(st, OwnerOptions{Holder: "waiter", TTL: ttl, Wait: 2 * ttl})
		err := holder.Do(context.Background(), "core-fw", "apply", func(ctx context.Context) error {
			var busy *BusyError
			if err := waiter.Do(context.Background(), "core-fw", "quarantine", func(context.Context) error { return nil }); !errors.As(err, &busy) || busy.Holder != "holder" {
				t.Errorf("waiter: %v, want a BusyError naming the holder", err)
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(2 * time.Second):
				return nil
			}
		})
		if err != nil {
			t.Fatalf("holder: %v", err)
		}
	})
}
