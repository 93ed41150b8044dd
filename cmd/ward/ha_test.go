package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
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

// replicaProc is a ward serve running as a process of its own.
type replicaProc struct {
	id, url string
	cmd     *exec.Cmd
	log     *syncBuffer
}

func startReplicaProc(t *testing.T, id, db string, extra ...string) *replicaProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &replicaProc{id: id, url: "http://" + addr, log: &syncBuffer{}}
	args := append([]string{"serve", "-listen", addr, "-policy", examplePolicy, "-db", db, "-no-enforce", "-replica", id}, extra...)
	r.cmd = exec.Command(os.Args[0], args...)
	r.cmd.Env = append(os.Environ(), runCLIEnv+"=1")
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		if t.Failed() {
			t.Logf("replica %s's log:\n%s", id, r.log.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := r.ready(); err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not ready after 30 s:\n%s", id, r.log.String())
		}
	}
}

// ready asks the replica's /readyz.
func (r *replicaProc) ready() (api.Ready, error) {
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

// leaderAmong polls the replicas' /readyz until exactly one says it leads
// (failing if two ever do at once), and returns it with its epoch.
func leaderAmong(t *testing.T, within time.Duration, rs ...*replicaProc) (*replicaProc, int64) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var leaders []*replicaProc
		var epoch int64
		for _, r := range rs {
			if rd, err := r.ready(); err == nil && rd.Leader != nil && *rd.Leader {
				leaders = append(leaders, r)
				epoch = *rd.Epoch
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("replicas %s and %s both say they lead", leaders[0].id, leaders[1].id)
		}
		if len(leaders) == 1 {
			return leaders[0], epoch
		}
	}
	t.Fatalf("no replica leads within %v", within)
	return nil, 0
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
	a := startReplicaProc(t, "replica-a", db, "-lease", "1s")
	b := startReplicaProc(t, "replica-b", db, "-lease", "1s")
	first, e1 := leaderAmong(t, 5*time.Second, a, b)
	other := map[*replicaProc]*replicaProc{a: b, b: a}[first]

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	second, e2 := leaderAmong(t, 5*time.Second, other)
	t.Logf("new leader %s %v after kill -9", second.id, time.Since(killed))
	if e2 != e1+1 {
		t.Errorf("epoch after the failover = %d, want %d", e2, e1+1)
	}
	code, out, errs := runWard(t, "status", "-db", db)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Leader: %s, epoch %d", second.id, e2)) || !strings.Contains(out, first.id) {
		t.Errorf("ward status after the failover: exit %d\n%s%s", code, out, errs)
	}

	// The killed one comes back as a follower.
	back := startReplicaProc(t, first.id, db, "-lease", "1s")
	if l, _ := leaderAmong(t, 2*time.Second, back, second); l != second {
		t.Fatalf("the restarted replica took the leadership from a live leader")
	}

	// Pause the leader past its lease.
	if err := second.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	third, e3 := leaderAmong(t, 5*time.Second, back)
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
	leaderAmong(t, time.Second, back, second)
}
