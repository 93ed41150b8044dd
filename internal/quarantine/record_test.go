package quarantine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// TestSyncJobRetriesAnUnrecordedPush: a push the firewall took but whose
// outcome the store could not record leaves the quarantine saying it was
// never enforced. The job must not end as done then: it is retried, and
// its retry records the push.
func TestSyncJobRetriesAnUnrecordedPush(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	q := e.queue(jobs.QueueOptions{})
	out, err := e.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelRestrict, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	// The push history refuses rows (a full disk, say) while the job runs.
	if err := e.st.DB.Exec(`CREATE TRIGGER no_pushes BEFORE INSERT ON quarantine_pushes BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END`).Error; err != nil {
		t.Fatal(err)
	}
	err = q.Drain(ctx)
	if !e.f.in(intent.RestrictSet, tvIP) {
		t.Fatal("the firewall did not take the push")
	}
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Errorf("drain: %v; want the job failed for its unrecorded outcome", err)
	}
	if err := e.st.DB.Exec(`DROP TRIGGER no_pushes`).Error; err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the queue's first backoff
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.FindQuarantine(ctx, out.Quarantine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.EnforcedAt == nil || got.EnforceError != "" {
		t.Errorf("quarantine #%d: enforced at %v, error %q; want enforced, the firewall holds it", got.ID, got.EnforcedAt, got.EnforceError)
	}
	done, _ := e.st.ListJobs(ctx, store.JobDone)
	if len(done) != 1 {
		t.Errorf("%d jobs done, want the one sync job", len(done))
	}
}
