package quarantine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// TestReconcileSettlesAFailedRelease: a release whose push to a firewall
// failed until its job gave up (the firewall was down for minutes) is
// carried out by the next reconcile, which removes the address. The
// released quarantine must then stop saying the release failed there: the
// firewall no longer holds it.
func TestReconcileSettlesAFailedRelease(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	q := e.queue(jobs.QueueOptions{MaxAttempts: 1})
	out, err := e.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelRestrict, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Drain(ctx); err != nil || !e.f.in(intent.RestrictSet, tvIP) {
		t.Fatalf("restrict not enforced: %v", err)
	}
	e.f.mu.Lock()
	e.f.fail["core-fw"] = errors.New("connection refused")
	e.f.mu.Unlock()
	if _, err := e.m.Release(ctx, "tv-netlab-01", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := q.Drain(ctx); err == nil {
		t.Fatal("the release's push to a failing firewall succeeded")
	}
	failed, err := e.st.ListJobs(ctx, store.JobFailed)
	if err != nil || len(failed) != 1 {
		t.Fatalf("failed jobs %+v, %v; want the release's, given up", failed, err)
	}
	released, err := e.st.FindQuarantine(ctx, out.Quarantine.ID)
	if err != nil || !strings.HasPrefix(released.EnforceError, "core-fw: ") || !e.f.in(intent.RestrictSet, tvIP) {
		t.Fatalf("before the reconcile: %+v, %v; want core-fw's error, the address still restricted", released, err)
	}

	e.f.mu.Lock()
	delete(e.f.fail, "core-fw")
	e.f.mu.Unlock()
	rep, err := e.m.Reconcile(ctx)
	if err != nil || len(rep.Errors) != 0 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if e.f.in(intent.RestrictSet, tvIP) {
		t.Fatal("the reconcile left the released device restricted")
	}
	released, err = e.st.FindQuarantine(ctx, out.Quarantine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if released.EnforceError != "" {
		t.Errorf("released quarantine #%d still records %q after the reconcile removed %s from core-fw", released.ID, released.EnforceError, tvIP)
	}
	h, err := e.st.QuarantineHistory(ctx, released.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := h.Pushes[len(h.Pushes)-1]; last.Target != "core-fw" || !last.OK {
		t.Errorf("the release's last push %+v, want the reconcile's, OK on core-fw", last)
	}
}
