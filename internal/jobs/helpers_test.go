package jobs

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// dbURL returns a fresh database URL of dialect d.
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

// forEachDB runs fn as a subtest on a new store of each dialect.
func forEachDB(t *testing.T, fn func(t *testing.T, st *store.Store, url string)) {
	t.Helper()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			url := dbURL(t, d)
			fn(t, openStore(t, url), url)
		})
	}
}
