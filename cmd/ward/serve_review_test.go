package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
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
