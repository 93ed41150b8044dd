package store

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestDatabaseID: each new database gets its own id, 32 hex digits; the
// id survives reopening, and a copy of the database file (a backup
// restored) keeps it.
func TestDatabaseID(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			urls := []string{dbURLs(t)[d], dbURLs(t)[d]}
			ids := make([]string, len(urls))
			for i, u := range urls {
				st, err := Open(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				if ids[i], err = st.DatabaseID(ctx); err != nil {
					t.Fatal(err)
				}
				st.Close()
				if !hex32.MatchString(ids[i]) {
					t.Errorf("database %d: id %q, want 32 lowercase hex digits", i, ids[i])
				}
			}
			if ids[0] == ids[1] {
				t.Errorf("two new databases share the id %q", ids[0])
			}
			st, err := Open(ctx, urls[0])
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if again, err := st.DatabaseID(ctx); err != nil || again != ids[0] {
				t.Errorf("reopened database: id %q, %v; want %q", again, err, ids[0])
			}
			if d != SQLite {
				return
			}
			// A backup restored: the file copied elsewhere and opened there.
			src := strings.TrimPrefix(urls[0], "sqlite://")
			st.Close()
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "restored.db")
			if err := os.WriteFile(dst, data, 0o600); err != nil {
				t.Fatal(err)
			}
			restored, err := Open(ctx, "sqlite://"+dst)
			if err != nil {
				t.Fatal(err)
			}
			defer restored.Close()
			if got, err := restored.DatabaseID(ctx); err != nil || got != ids[0] {
				t.Errorf("restored copy: id %q, %v; want the original's %q", got, err, ids[0])
			}
		})
	}
}
