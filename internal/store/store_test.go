package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/internal/store/pgtest"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// dbURLs returns a fresh SQLite URL and a fresh PostgreSQL URL: every store
// test runs against both.
func dbURLs(t *testing.T) map[Dialect]string {
	t.Helper()
	return map[Dialect]string{
		SQLite:   "sqlite://" + filepath.Join(t.TempDir(), "ward.db"),
		Postgres: pgtest.URL(t),
	}
}

// forEachDB runs fn as a subtest on a new store of each dialect.
func forEachDB(t *testing.T, fn func(t *testing.T, st *Store, url string)) {
	t.Helper()
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			url := dbURLs(t)[d]
			st, err := Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, st, url)
		})
	}
}

func TestSchemaMatchesModels(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		for _, m := range models() {
			s, err := schema.Parse(m, &sync.Map{}, st.DB.NamingStrategy)
			if err != nil {
				t.Fatal(err)
			}
			if !st.DB.Migrator().HasTable(m) {
				t.Errorf("table %s missing", s.Table)
				continue
			}
			for _, f := range s.Fields {
				if f.DBName != "" && !st.DB.Migrator().HasColumn(m, f.DBName) {
					t.Errorf("%s.%s: column missing from the %s migration", s.Table, f.DBName, st.Dialect())
				}
			}
		}
	})
}

func TestOpenIsIdempotentAndConcurrent(t *testing.T) {
	for d, url := range dbURLs(t) {
		t.Run(string(d), func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st, err := Open(context.Background(), url)
					if err == nil {
						err = st.Close()
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("concurrent open: %v", err)
				}
			}
		})
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	for _, url := range []string{"mysql://x", "sqlite://", "ward.db"} {
		if _, err := Open(context.Background(), url); err == nil {
			t.Errorf("Open(%q) succeeded", url)
		}
	}
	_, err := Open(context.Background(), "postgres://ward:hunter2@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable PostgreSQL: err %v (must fail and must not print the password)", err)
	}
}

func appendN(t *testing.T, st *Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := st.AppendAudit(context.Background(), AuditEntry{
			Actor: "tester", Action: "test.event", Object: fmt.Sprintf("obj-%d", i), Detail: map[string]int{"i": i},
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// disableAppendOnly drops the triggers, as someone with database access
// could; the hash chain must still catch what they do.
func disableAppendOnly(t *testing.T, st *Store) {
	t.Helper()
	var err error
	if st.Dialect() == Postgres {
		err = st.DB.Exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only").Error
	} else {
		err = st.DB.Exec("DROP TRIGGER audit_events_no_update").Error
		if err == nil {
			err = st.DB.Exec("DROP TRIGGER audit_events_no_delete").Error
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuditChain(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		if n, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil || n != 0 {
			t.Fatalf("empty log: %d %v %v", n, brk, err)
		}
		appendN(t, st, 5)
		n, brk, err := st.VerifyAudit(ctx)
		if err != nil || brk != nil || n != 5 {
			t.Fatalf("intact log: checked %d, break %v, err %v", n, brk, err)
		}
		evs, err := st.ListAudit(ctx, 2)
		if err != nil || len(evs) != 2 || evs[0].Seq != 5 || evs[0].PrevHash != evs[1].Hash {
			t.Fatalf("ListAudit: %+v %v", evs, err)
		}

		// The triggers refuse edits.
		if err := st.DB.Exec("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3").Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("update of an audit row: err %v, want the append-only refusal", err)
		}
		if err := st.DB.Exec("DELETE FROM audit_events WHERE seq = 3").Error; err == nil {
			t.Fatal("delete of an audit row succeeded")
		}
	})
}

func TestAuditTamperIsDetected(t *testing.T) {
	tampers := []struct {
		name    string
		sql     string
		wantSeq uint64
		want    string
	}{
		{"edited actor", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3", 3, "does not match its hash"},
		{"edited detail", `UPDATE audit_events SET detail = '{"i":99}' WHERE seq = 4`, 4, "does not match its hash"},
		{"deleted event", "DELETE FROM audit_events WHERE seq = 2", 3, "missing"},
		{"deleted last event and relinked", "DELETE FROM audit_events WHERE seq = 5", 0, ""},
	}
	for _, tt := range tampers {
		t.Run(tt.name, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, st *Store, _ string) {
				appendN(t, st, 5)
				disableAppendOnly(t, st)
				if err := st.DB.Exec(tt.sql).Error; err != nil {
					t.Fatal(err)
				}
				_, brk, err := st.VerifyAudit(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if tt.wantSeq == 0 {
					// Truncating the tail leaves a valid shorter chain; that
					// is what an external anchor (exported head hash) is for.
					if brk != nil {
						t.Fatalf("unexpected break %v", brk)
					}
					return
				}
				if brk == nil || brk.Event.Seq != tt.wantSeq || !strings.Contains(brk.Error(), tt.want) {
					t.Fatalf("break = %v, want event %d with %q", brk, tt.wantSeq, tt.want)
				}
			})
		})
	}
}

func TestAuditConcurrentAppends(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 5 {
					_, err := st.AppendAudit(context.Background(), AuditEntry{Actor: fmt.Sprintf("w%d", w), Action: "test", Object: fmt.Sprint(i)})
					errs <- err
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
		n, brk, err := st.VerifyAudit(context.Background())
		if err != nil || brk != nil || n != 40 {
			t.Fatalf("after concurrent appends: checked %d, break %v, err %v", n, brk, err)
		}
	})
}

func TestAuditRollsBackWithTheChange(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		err := st.DB.Transaction(func(tx *gorm.DB) error {
			if _, err := st.Audit(tx, AuditEntry{Actor: "t", Action: "x"}); err != nil {
				return err
			}
			return fmt.Errorf("the change failed")
		})
		if err == nil {
			t.Fatal("transaction should fail")
		}
		var n int64
		st.DB.Model(&AuditEvent{}).Count(&n)
		if n != 0 {
			t.Fatalf("%d audit events after a rolled-back change", n)
		}
	})
}

func TestRecordPolicyRevision(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		a, err := st.RecordPolicyRevision(ctx, "abc", "1234+dirty", "policy")
		if err != nil || a.ID == 0 || a.GitCommit != "1234+dirty" {
			t.Fatalf("first record: %+v %v", a, err)
		}
		b, err := st.RecordPolicyRevision(ctx, "abc", "5678", "elsewhere")
		if err != nil || b.ID != a.ID || b.GitCommit != "1234+dirty" {
			t.Fatalf("same hash again must return the first revision: %+v %v", b, err)
		}
		c, err := st.RecordPolicyRevision(ctx, "def", "", "policy")
		if err != nil || c.ID == a.ID {
			t.Fatalf("new hash: %+v %v", c, err)
		}
	})
}
