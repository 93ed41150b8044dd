package cluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// childEnv makes the test binary a replica (childMain) instead of running
// the tests: the kill -9 and SIGSTOP tests need a process of its own.
const childEnv = "WARD_CLUSTER_TEST_CHILD"

// childTTLEnv sets the child replica's lease (default testTTL).
const childTTLEnv = "WARD_CLUSTER_TEST_CHILD_TTL"

func TestMain(m *testing.M) {
	if url := os.Getenv(childEnv); url != "" {
		os.Exit(childMain(url))
	}
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

const testTTL = time.Second

// childMain leads if it can and prints what Fence answers and when it was
// asked: "fence UNIXNANO ok EPOCH" or "fence UNIXNANO no".
func childMain(url string) int {
	st, err := store.Open(context.Background(), url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ttl := testTTL
	if v := os.Getenv(childTTLEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			ttl = d
		}
	}
	e := New(st, Options{Replica: store.Replica{ID: "child"}, TTL: ttl})
	go func() { _ = e.Run(context.Background(), func(ctx context.Context, _ int64) { <-ctx.Done() }) }()
	w := bufio.NewWriter(os.Stdout)
	// Asked every 200 µs, so that after a SIGCONT the first answers come
	// before the elector's own loop has had a chance to step down: Fence
	// itself must refuse. Printed when the answer changes, and every 5 ms.
	var last string
	var printed time.Time
	for {
		at := time.Now()
		line := "no"
		if epoch, err := e.Fence(); err == nil {
			line = fmt.Sprintf("ok %d", epoch)
		}
		if line != last || at.Sub(printed) >= 5*time.Millisecond {
			fmt.Fprintf(w, "fence %d %s\n", at.UnixNano(), line)
			w.Flush()
			last, printed = line, at
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func dbURL(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.Postgres {
		return pgtest.URL(t)
	}
	return "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
}

func openStore(t testing.TB, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func forEachDB(t *testing.T, fn func(t *testing.T, url string)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { fn(t, dbURL(t, d)) })
	}
}

// replica is an Elector running in this process.
type replica struct {
	e      *Elector
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	terms  []int64 // epochs it led, in order
}

func startReplica(t *testing.T, st *store.Store, id string) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{e: New(st, Options{Replica: store.Replica{ID: id}, TTL: testTTL}), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := r.e.Run(ctx, func(ctx context.Context, epoch int64) {
			r.mu.Lock()
			r.terms = append(r.terms, epoch)
			r.mu.Unlock()
			<-ctx.Done()
		}); err != nil {
			t.Errorf("replica %s: %v", id, err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

// leaders samples Fence on every replica for d and fails if two ever
// answer at once; it returns the replica leading at the end, if any.
func leaders(t *testing.T, d time.Duration, rs ...*replica) *replica {
	t.Helper()
	var last *replica
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		var now []string
		last = nil
		for _, r := range rs {
			if _, err := r.e.Fence(); err == nil {
				now = append(now, r.e.ID())
				last = r
			}
		}
		if len(now) > 1 {
			t.Fatalf("two leaders at once: %v", now)
		}
	}
	return last
}

func waitLeader(t *testing.T, within time.Duration, rs ...*replica) (*replica, time.Duration) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if l := leaders(t, 20*time.Millisecond, rs...); l != nil {
			return l, time.Since(start)
		}
	}
	t.Fatalf("no leader within %v", within)
	return nil, 0
}

func TestOneLeaderAndHandOver(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		rs := []*replica{startReplica(t, st, "a"), startReplica(t, st, "b"), startReplica(t, st, "c")}
		first, _ := waitLeader(t, 3*testTTL, rs...)
		if l := leaders(t, 2*testTTL, rs...); l != first {
			t.Fatalf("leadership moved from %s with nobody gone", first.e.ID())
		}
		e1, _ := first.e.Fence()
		// A clean stop resigns: another replica leads well before a lease
		// runs out.
		first.stop()
		var rest []*replica
		for _, r := range rs {
			if r != first {
				rest = append(rest, r)
			}
		}
		second, took := waitLeader(t, 3*testTTL, rest...)
		e2, _ := second.e.Fence()
		if e2 != e1+1 {
			t.Errorf("epoch after the hand-over = %d, want %d", e2, e1+1)
		}
		t.Logf("hand-over after a resignation took %v", took)
		l, err := st.Leadership(context.Background(), Scheduler)
		if err != nil || l.Holder != second.e.ID() || l.Epoch != e2 {
			t.Errorf("leadership row = %+v, %v; want %s at epoch %d", l, err, second.e.ID(), e2)
		}
		reps, err := st.ListReplicas(context.Background())
		if err != nil || len(reps) != 2 {
			t.Errorf("replicas after one stopped = %+v, %v; want the two running", reps, err)
		}
	})
}

// TestDatabaseLost: a leader that cannot reach the database stops
// trusting its leadership before any other replica can take it.
func TestDatabaseLost(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		lonely, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		a := startReplica(t, lonely, "a")
		waitLeader(t, 3*testTTL, a)
		b := startReplica(t, openStore(t, url), "b")
		lonely.Close()
		lost := time.Now()
		// leaders fails the test if a and b ever both answer.
		for l := leaders(t, 20*time.Millisecond, a, b); l != b; l = leaders(t, 20*time.Millisecond, a, b) {
			if time.Since(lost) > 10*time.Second {
				t.Fatal("b did not take over from a leader that lost the database")
			}
		}
		if took := time.Since(lost); took > 5*time.Second {
			t.Errorf("new leader after %v, want within 5s", took)
		}
		leaders(t, testTTL, a, b)
	})
}

// child starts this test binary as a replica in a process of its own and
// returns it with a channel of its fence lines.
func child(t *testing.T, url string, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+url), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 4096)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // the test reads only what it needs
			}
		}
	}()
	return cmd, lines
}

// fenceLine parses "fence UNIXNANO ok EPOCH|no".
func fenceLine(t *testing.T, s string) (time.Time, bool) {
	f := strings.Fields(s)
	if len(f) < 3 || f[0] != "fence" {
		t.Fatalf("child said %q", s)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("child said %q", s)
	}
	return time.Unix(0, ns), f[2] == "ok"
}

func waitChildLeads(t *testing.T, lines <-chan string) {
	t.Helper()
	deadline := time.After(5 * testTTL)
	for {
		select {
		case s, ok := <-lines:
			if !ok {
				t.Fatal("the child replica exited")
			}
			if _, ok := fenceLine(t, s); ok {
				return
			}
		case <-deadline:
			t.Fatal("the child replica did not lead")
		}
	}
}

// TestKilledLeader: kill -9 of the leader — no resignation — and another
// replica leads within 5 s, at the next epoch.
func TestKilledLeader(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		cmd, lines := child(t, url)
		waitChildLeads(t, lines)
		b := startReplica(t, st, "b")
		leaders(t, testTTL/2, b) // b waits while the child renews
		if _, err := b.e.Fence(); err == nil {
			t.Fatal("b leads while the child renews")
		}
		before, _ := st.Leadership(context.Background(), Scheduler)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_, took := waitLeader(t, 5*time.Second, b)
		after, _ := st.Leadership(context.Background(), Scheduler)
		if after.Holder != "b" || after.Epoch != before.Epoch+1 {
			t.Errorf("after the kill the leadership is %+v; want b at epoch %d", after, before.Epoch+1)
		}
		t.Logf("new leader %v after kill -9", took)
	})
}

// TestPausedLeader: a leader stopped (SIGSTOP) past its lease is replaced;
// when it wakes (SIGCONT) it no longer answers as leader — not once.
func TestPausedLeader(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		cmd, lines := child(t, url)
		waitChildLeads(t, lines)
		b := startReplica(t, st, "b")
		if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		waitLeader(t, 5*time.Second, b)
		time.Sleep(testTTL / 2)
		for len(lines) > 0 { // what it said before it stopped
			<-lines
		}
		woke := time.Now()
		if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		n := 0
		for end := time.After(2 * testTTL); ; {
			select {
			case s := <-lines:
				at, ok := fenceLine(t, s)
				if ok && at.After(woke) {
					t.Fatalf("the woken ex-leader answered as leader at %v, %v after waking: %s", at, at.Sub(woke), s)
				}
				n++
				continue
			case <-end:
			}
			break
		}
		if n == 0 {
			t.Fatal("the woken child said nothing")
		}
		if _, err := b.e.Fence(); err != nil {
			t.Errorf("b stopped leading: %v", err)
		}
	})
}

// TestRestartAfterCrashLeadsAtOnce: a replica starting on the machine
// whose leader crashed (kill -9: no resignation) leads at its first
// attempt, without waiting out the lease — the dead leader's pid no longer
// runs — while a leader whose process runs is waited for.
func TestRestartAfterCrashLeadsAtOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		const long = time.Minute
		cmd, lines := child(t, url, childTTLEnv+"="+long.String())
		waitChildLeads(t, lines)
		st := openStore(t, url)
		start := func(id string) (*Elector, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			e := New(st, Options{Replica: store.Replica{ID: id}, TTL: long})
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = e.Run(ctx, func(ctx context.Context, _ int64) { <-ctx.Done() })
			}()
			<-e.FirstAttempt()
			return e, func() { cancel(); <-done }
		}
		e, stop := start("while-alive")
		if _, err := e.Fence(); err == nil {
			t.Fatal("a replica led while the leader's process runs")
		}
		stop()
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		e, stop = start("restarted")
		defer stop()
		if _, err := e.Fence(); err != nil {
			t.Fatalf("after the leader's process died on this machine, the first attempt did not lead: %v", err)
		}
	})
}
