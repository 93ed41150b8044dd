package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
	"github.com/wardnet/ward/policy"
)

// TestServeStartsWhenItsReplicaRowFailsFirst has the database refuse
// ward serve's first record of its replica (a trigger raises, as a
// connection cut at that instant would fail it) and accept it again two
// seconds later: the replica must come up, serve and lead. Before the
// fix the election gave up at that first error and serve waited for its
// first attempt forever: never listening, though its log said it
// "serves requests".
func TestServeStartsWhenItsReplicaRowFailsFirst(t *testing.T) {
	db := pgtest.URL(t)
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(t.TempDir(), "credentials"))
	if code, _, errs := runWard(t, "status", "-db", db); code != 0 {
		t.Fatalf("ward status (migrates, creates the audit key): %s", errs)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, q := range []string{
		`CREATE FUNCTION refuse_replica() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'review: replica rows refused'; END $$`,
		`CREATE TRIGGER refuse_replica BEFORE INSERT OR UPDATE ON cluster_replicas FOR EACH ROW EXECUTE FUNCTION refuse_replica()`,
	} {
		if err := st.DB.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	allowed := make(chan error, 1)
	go func() {
		time.Sleep(2 * time.Second)
		allowed <- st.DB.Exec(`DROP TRIGGER refuse_replica ON cluster_replicas`).Error
	}()
	r := startHAReplica(t, "replica-r", examplePolicy, db, "-no-enforce")
	if err := <-allowed; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.log.String(), "replica rows refused") {
		t.Errorf("the replica came up without meeting the refused row; the test proves nothing:\n%s", r.log.String())
	}
	leaderEpoch(t, 5*time.Second, r)
}

// TestServeStopPushesTheApplyInFlight sends SIGTERM to ward serve while an
// API apply waits for its per-target jobs, which cannot start yet (this
// test holds both targets' owners, as another replica's push would):
// once the targets are free, the stopping replica must still push them —
// the usage promises a stop "after the requests and pushes in flight
// finish" — and exit within its shutdown timeout. Before the fix the
// queue stopped at the signal with the HTTP server still waiting for the
// apply: nothing dialled the targets, the stop hung for the whole
// -shutdown-timeout and exited 1.
func TestServeStopPushesTheApplyInFlight(t *testing.T) {
	l := listen(t)
	pol, db := applyWorkspace(t, examplePolicy, l)
	code, out, errs := runWard(t, "token", "create", "-role", "admin", "-name", "review", "-db", db)
	admin := regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	if code != 0 || admin == "" {
		t.Fatalf("ward token create: exit %d %s", code, errs)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	owner := jobs.NewOwner(st, jobs.OwnerOptions{Holder: "review-test"})
	release := make(chan struct{})
	var held sync.WaitGroup
	var holds sync.WaitGroup
	for _, target := range []string{"core-fw", "access-ovs"} {
		held.Add(1)
		holds.Go(func() {
			err := owner.Do(context.Background(), target, "review: another replica's push", func(context.Context) error {
				held.Done()
				<-release
				return nil
			})
			if err != nil {
				t.Errorf("holding %s: %v", target, err)
			}
		})
	}
	held.Wait()

	r := startHAReplica(t, "stopping", pol, db, "-shutdown-timeout", "15s")
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, r.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := call("POST", "/api/v1/plans", "{}")
	var p api.SavedPlan
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &p) != nil || len(p.Changed) == 0 {
		t.Fatalf("POST /api/v1/plans: %d %s", status, body)
	}
	applied := make(chan string, 1)
	go func() {
		status, body := call("POST", fmt.Sprintf("/api/v1/plans/%d/apply", p.ID), "{}")
		applied <- fmt.Sprintf("%d %s", status, body)
	}()
	time.Sleep(1500 * time.Millisecond) // the apply's jobs are queued, waiting for the targets
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := l.conns.Load(); n != 0 {
		t.Fatalf("%d connections to the targets while this test held them", n)
	}
	close(release)
	holds.Wait()
	exited := make(chan error, 1)
	stopped := time.Now()
	go func() { exited <- r.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("ward serve stopped after %v with %v; want exit 0\n%s", time.Since(stopped).Round(time.Millisecond), err, tailLines(r.log.String(), 30))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ward serve did not stop within 30 s of its targets being free")
	}
	if l.conns.Load() == 0 {
		t.Errorf("the stopping replica never dialled the targets of the apply in flight")
	}
	select {
	case a := <-applied:
		if !strings.HasPrefix(a, "200 ") {
			t.Errorf("the apply in flight was answered %s; want 200 with each target's result", a)
		}
	default:
		t.Error("the apply in flight was never answered")
	}
}

// TestDriftSchedulerAcrossShortTerms runs the leader's drift scheduler
// (hourly) for two terms of 300 ms, as restarts or failovers make terms
// shorter than the interval: core-fw, applied and never checked, must be
// queued for a check, and access-ovs, checked a moment ago, must not.
// Before the fix each term waited a whole interval before its first
// check, so with terms shorter than -drift-interval no target was ever
// checked.
func TestDriftSchedulerAcrossShortTerms(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	load := func() (*policy.Config, hcl.Diagnostics) {
		return policy.NewParser(policy.WithDrivers(newRegistry().RolesByName())).LoadDir(examplePolicy)
	}
	cfg, diags := load()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, target := range []string{"core-fw", "access-ovs"} {
		if err := st.SaveTargetState(ctx, store.TargetState{Target: target, Content: "{}", Hash: "h-" + target, AppliedAt: st.Now()},
			store.AuditEntry{Actor: "test", Action: "target.apply", Object: target}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordDriftChecks(ctx, []store.DriftCheck{{Target: "access-ovs", CheckedAt: st.Now(), Status: store.DriftInSync, AppliedHash: "h-access-ovs"}}, "test"); err != nil {
		t.Fatal(err)
	}
	w := leaderWork{st: st, log: slog.New(slog.DiscardHandler), driftEvery: time.Hour, enforce: true,
		queue: jobs.NewQueue(st, jobs.NewOwner(st, jobs.OwnerOptions{}), jobs.QueueOptions{}), holder: inforce.New(cfg, load, nil)}
	for range 2 {
		term, end := context.WithTimeout(ctx, 300*time.Millisecond)
		driftScheduler(term, w)
		end()
	}
	queued, err := st.ListJobs(ctx, store.JobQueued)
	if err != nil {
		t.Fatal(err)
	}
	var drift []string
	for _, j := range queued {
		if j.Kind == plan.DriftJobKind {
			drift = append(drift, j.Target)
		}
	}
	if strings.Join(drift, ",") != "core-fw" {
		t.Errorf("drift checks queued for %v after two short terms; want [core-fw] (access-ovs was checked just now)", drift)
	}
}
