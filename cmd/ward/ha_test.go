package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// runCLIEnv makes the test binary run ward's main with its arguments
// (TestMain), for tests that need ward in a process of its own.
const runCLIEnv = "WARD_TEST_RUN_CLI"

// ready asks the replica's /readyz.
func (r *haReplica) ready() (api.Ready, error) {
	var out api.Ready
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(r.url + "/readyz")
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return out, fmt.Errorf("/readyz: %d", resp.StatusCode)
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out, err
}

// leaderEpoch waits (haLeader) for exactly one of rs to lead and returns
// it with its epoch.
func leaderEpoch(t *testing.T, within time.Duration, rs ...*haReplica) (*haReplica, int64) {
	t.Helper()
	l, took := haLeader(t, within, rs...)
	if l == nil {
		t.Fatalf("no replica leads within %v", took)
	}
	rd, err := l.ready()
	if err != nil || rd.Epoch == nil {
		t.Fatalf("the leader's /readyz: %+v %v", rd, err)
	}
	return l, *rd.Epoch
}

// TestServeReplicasFailover runs two ward serve processes on one
// PostgreSQL database: one leads; kill -9 of the leader hands the
// leadership to the other within 5 s at the next epoch; a leader stopped
// (SIGSTOP) past its lease is replaced, and when it wakes its /readyz no
// longer says it leads.
func TestServeReplicasFailover(t *testing.T) {
	db := pgtest.URL(t)
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(t.TempDir(), "credentials")) // one audit key for both
	if code, _, errs := runWard(t, "status", "-db", db); code != 0 {
		t.Fatalf("ward status (creates the audit key): %s", errs)
	}
	a := startHAReplica(t, "replica-a", examplePolicy, db, "-no-enforce")
	b := startHAReplica(t, "replica-b", examplePolicy, db, "-no-enforce")
	first, e1 := leaderEpoch(t, 5*time.Second, a, b)
	other := map[*haReplica]*haReplica{a: b, b: a}[first]

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	second, e2 := leaderEpoch(t, 5*time.Second, other)
	t.Logf("new leader %s %v after kill -9", second.id, time.Since(killed))
	if e2 != e1+1 {
		t.Errorf("epoch after the failover = %d, want %d", e2, e1+1)
	}
	code, out, errs := runWard(t, "status", "-db", db)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Leader: %s, epoch %d", second.id, e2)) || !strings.Contains(out, first.id) {
		t.Errorf("ward status after the failover: exit %d\n%s%s", code, out, errs)
	}

	// The killed one comes back as a follower.
	back := startHAReplica(t, first.id, examplePolicy, db, "-no-enforce")
	if l, _ := leaderEpoch(t, 2*time.Second, back, second); l != second {
		t.Fatalf("the restarted replica took the leadership from a live leader")
	}

	// Pause the leader past its lease.
	if err := second.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	third, e3 := leaderEpoch(t, 5*time.Second, back)
	if third != back || e3 != e2+1 {
		t.Fatalf("after the pause the leader is %s at epoch %d; want %s at %d", third.id, e3, back.id, e2+1)
	}
	if err := second.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Its first answer after waking, and every later one, is "not leader".
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		rd, err := second.ready()
		if err != nil {
			continue
		}
		if rd.Leader == nil || *rd.Leader {
			t.Fatalf("the woken ex-leader says %+v", rd)
		}
	}
	leaderEpoch(t, time.Second, back, second)
}
