package quarantine

import (
	"context"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// TestDecisionInFlightWhenItsJobRuns: a decision whose sync job for a
// target is already queued (an earlier change of the device, not pushed
// yet) enqueues nothing new — the queued job reads the store when it runs.
// If the queue claims and runs that job while the decision's transaction
// is still open, the job must not push the store as it was before the
// decision: nothing else would push the decision until the next reconcile.
// On PostgreSQL the enqueue holds the queued job until the decision
// commits (internal/store/jobs.go enqueueJobs, ClaimJob): before that, a
// release or a new quarantine reached the firewall only at the next
// reconcile. Here end to end, through Intake, Release's writes and the
// queue.
func TestDecisionInFlightWhenItsJobRuns(t *testing.T) {
	t.Run("an alert quarantines the device while the job of its release runs", func(t *testing.T) {
		e, q, holder := inflightEnv(t)
		ctx := t.Context()
		if _, err := e.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelRestrict, Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := q.Drain(ctx); err != nil || !e.f.in(intent.RestrictSet, tvIP) {
			t.Fatalf("restrict not enforced: %v, calls %v", err, e.f.calls)
		}
		// The release's job for core-fw stays queued.
		if _, err := e.m.Release(ctx, "tv-netlab-01", "alice"); err != nil {
			t.Fatal(err)
		}
		// Another connection holds the alert's (source, id) uninserted, so
		// the intake's transaction stops at RecordAlert — after it
		// recorded the new quarantine and enqueued its jobs.
		tx := holder.DB.Begin()
		defer tx.Rollback()
		if err := tx.Exec("INSERT INTO alerts (source, external_id, received_at) VALUES ('test', 'inflight-1', now())").Error; err != nil {
			t.Fatal(err)
		}
		intook := make(chan []Result, 1)
		go func() {
			rs, err := e.m.Intake(context.Background(), []alert.Alert{genericAlert("inflight-1", tvIP, "high")})
			if err != nil {
				t.Error(err)
			}
			intook <- rs
		}()
		waitBlockedInsert(t, holder, "alerts")
		drainDuring(t, q, "core-fw", func() { tx.Rollback() })
		rs := <-intook
		if len(rs) != 1 || rs[0].Action != LevelIsolate {
			t.Fatalf("alert: %+v", rs)
		}
		if err := q.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if !e.f.in(intent.IsolateSet, tvIP) {
			t.Errorf("quarantine #%d is active (isolate) but core-fw does not hold %s: the release's job ran before the alert's decision committed and pushed the release; calls %v",
				rs[0].QuarantineID, tvIP, e.f.calls)
		}
	})
	t.Run("a release commits while the job of its quarantine runs", func(t *testing.T) {
		e, q, _ := inflightEnv(t)
		ctx := t.Context()
		out, err := e.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelRestrict, Actor: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		// The quarantine's job for core-fw stays queued. A release —
		// what Manager.end writes, in its own decision transaction — is
		// held open once it has ended the quarantine and enqueued its jobs.
		ended, gate, released := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			released <- e.st.QuarantineDecision(context.Background(), func(tx *store.QuarantineTx) error {
				seen, err := tx.Find(out.Quarantine.ID)
				if err != nil {
					return err
				}
				next := *seen
				next.Status = StatusReleased
				ev := store.AuditEntry{Actor: "bob", Action: "quarantine.release", Object: "tv-netlab-01", Detail: map[string]any{}}
				if _, err := tx.EndQuarantine(*seen, StatusReleased, "bob", ev, e.m.syncJobs(next)); err != nil {
					return err
				}
				close(ended)
				<-gate
				return nil
			})
		}()
		<-ended
		drainDuring(t, q, "core-fw", func() { close(gate) })
		if err := <-released; err != nil {
			t.Fatal(err)
		}
		if err := q.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if e.f.in(intent.RestrictSet, tvIP) {
			t.Errorf("quarantine #%d is released but core-fw still restricts %s: its job ran before the release committed and pushed the quarantine; calls %v",
				out.Quarantine.ID, tvIP, e.f.calls)
		}
	})
}

// inflightEnv is newEnvOn on a fresh PostgreSQL database, with a queue no
// loop works (decisions only enqueue) and a second store on the same
// database for the test's own transactions.
func inflightEnv(t *testing.T) (*env, *jobs.Queue, *store.Store) {
	t.Helper()
	url := pgtest.URL(t)
	e := newEnvOn(t, seededStore(t, url), nil)
	owner := jobs.NewOwner(e.st, jobs.OwnerOptions{})
	q := jobs.NewQueue(e.st, owner, jobs.QueueOptions{})
	e.m.Jobs(q, owner)
	holder, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	return e, q, holder
}

// waitBlockedInsert waits until a session waits on a lock in an INSERT
// into table.
func waitBlockedInsert(t *testing.T, st *store.Store, table string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int64
		if err := st.DB.Raw(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?`, `INSERT INTO "`+table+`"%`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no INSERT into %s waited on a lock within 10 s", table)
}

// drainDuring drains target's jobs while the decision in flight is held,
// lets it commit (commit) once the drain ended or has waited a second —
// it may wait for the decision — and waits for the drain.
func drainDuring(t *testing.T, q *jobs.Queue, target string, commit func()) {
	t.Helper()
	drained := make(chan error, 1)
	go func() { drained <- q.Drain(context.Background(), target) }()
	select {
	case err := <-drained:
		commit()
		if err != nil {
			t.Fatal(err)
		}
		return
	case <-time.After(time.Second):
	}
	commit()
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
}
