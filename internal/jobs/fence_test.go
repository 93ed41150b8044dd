package jobs

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/store"
)

// checkTokensIncrease checks that path lists n fencing tokens, one a line,
// each greater than the one before (the holders appended them in turn).
func checkTokensIncrease(t *testing.T, path string, n int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(data))
	if len(lines) != n {
		t.Fatalf("%d fencing tokens recorded, want %d", len(lines), n)
	}
	var last int64
	for i, l := range lines {
		tok, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if tok <= last {
			t.Fatalf("fencing token %d (acquisition %d) is not greater than the one before, %d", tok, i+1, last)
		}
		last = tok
	}
}

// A holder that is stopped (SIGSTOP: its socket stays open, its kernel
// still answers TCP) loses the target within a bounded time; the next
// holder's fencing token is greater than the stopped one's; and the
// stopped holder, once resumed, finds its work cancelled.
func TestStoppedHolderLosesTarget(t *testing.T) {
	cases := []struct {
		name     string
		dialect  store.Dialect
		machine  string
		ttl      time.Duration
		min, max time.Duration
	}{
		// ttl 600ms: checked every 200ms, ended by the server after 1s idle.
		{"postgres", store.Postgres, "", 600 * time.Millisecond, 500 * time.Millisecond, 4 * time.Second},
		// A stopped pid is alive: the counter stops for a TTL.
		{"sqlite", store.SQLite, "", time.Second, time.Second, 4 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := dbURL(t, tc.dialect)
			st := openStore(t, url)
			dir := t.TempDir()
			cmd := child{mode: "hold", url: url, dir: dir, target: "core-fw", ttl: tc.ttl, machine: tc.machine, holder: "the child"}.start(t)
			waitFile(t, filepath.Join(dir, "held"), 20*time.Second)
			data, err := os.ReadFile(filepath.Join(dir, "held"))
			if err != nil {
				t.Fatal(err)
			}
			childToken, err := strconv.ParseInt(string(data), 10, 64)
			if err != nil || childToken <= 0 {
				t.Fatalf("the child's fencing token %q: %v", data, err)
			}

			if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			stopped := time.Now()
			t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGCONT) })

			owner := NewOwner(st, OwnerOptions{Holder: "the waiter", TTL: tc.ttl, Wait: 30 * time.Second})
			var took time.Duration
			var token int64
			err = owner.Do(context.Background(), "core-fw", "apply", func(ctx context.Context) error {
				took = time.Since(stopped)
				token, _ = drivers.FenceOf(ctx)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if took < tc.min || took > tc.max {
				t.Fatalf("the waiter got the target %s after the holder stopped, want between %s and %s", took, tc.min, tc.max)
			}
			if token <= childToken {
				t.Fatalf("the waiter's fencing token %d is not greater than the stopped holder's %d", token, childToken)
			}

			// Resumed, the child finds it lost the target: its work is
			// cancelled and it exits with an error.
			if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("the resumed holder exited 0, want the error of a lost target")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the resumed holder still runs 10s later: its work was not cancelled")
			}
			logs, _ := filepath.Glob(filepath.Join(dir, "child-*.log"))
			var all string
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				all += string(b)
			}
			if !strings.Contains(all, ErrOwnershipLost.Error()) {
				t.Fatalf("the resumed holder's error does not say it lost ownership:\n%s", all)
			}
		})
	}
}

// TestDoFenceNamesDatabase: fn's ctx carries the store's database id
// beside the token, so that a device tells a new database from a stale
// holder; a fence reset a driver reports in fn is written to the audit
// log, naming the target and both tokens.
func TestDoFenceNamesDatabase(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store, _ string) {
		ctx := t.Context()
		want, err := st.DatabaseID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o := NewOwner(st, OwnerOptions{Holder: "test holder"})
		var got string
		err = o.Do(ctx, "core-fw", "test", func(ctx context.Context) error {
			got = drivers.FenceDatabase(ctx)
			tok, _ := drivers.FenceOf(ctx)
			drivers.ReportFenceReset(ctx, drivers.FenceReset{Target: drivers.FenceTarget(ctx), Database: got, SeenDatabase: "old", Token: tok, Seen: 7})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got == "" || got != want {
			t.Errorf("fn's fence names database %q, want the store's %q", got, want)
		}
		events, err := st.ListAudit(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, e := range events {
			if e.Action == "target.fence_reset" && e.Object == "core-fw" && strings.Contains(e.Detail, `"Seen":7`) && e.Actor == "test holder" {
				found = true
			}
		}
		if !found {
			t.Errorf("no target.fence_reset audit event for core-fw with the seen token; events: %+v", events)
		}
	})
}
