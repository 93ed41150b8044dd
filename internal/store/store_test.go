package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/internal/store/pgtest"
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

// TestPostgresEndsIdleTransactions: every Ward session on PostgreSQL has
// idle_in_transaction_session_timeout set (a stopped replica must not
// hold the jobs it claimed), unless the URL sets its own.
func TestPostgresEndsIdleTransactions(t *testing.T) {
	url := dbURLs(t)[Postgres]
	for _, tc := range []struct{ url, want string }{
		{url, "10s"},
		{url + map[bool]string{true: "&", false: "?"}[strings.Contains(url, "?")] + "idle_in_transaction_session_timeout=3000", "3s"},
	} {
		st, err := Open(context.Background(), tc.url)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := st.DB.Raw("SHOW idle_in_transaction_session_timeout").Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		st.Close()
		if got != tc.want {
			t.Errorf("idle_in_transaction_session_timeout = %q, want %q (URL %s)", got, tc.want, redact(tc.url))
		}
	}
}
