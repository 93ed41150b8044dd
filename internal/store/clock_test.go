package store

import (
	"context"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store/pgtest"
)

// TestServerClock: on PostgreSQL the store's clock is the server's, so
// stores on hosts whose clocks are hours apart stamp the same time; on
// SQLite it is the host's own.
func TestServerClock(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	open := func(skew time.Duration) *Store {
		// t.Add keeps the monotonic reading, moved by the same skew: a
		// host whose clock is skew ahead, not one being stepped.
		st, err := Open(ctx, url, WithHostClock(func() time.Time { return time.Now().Add(skew) }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	ahead, behind := open(2*time.Hour), open(-3*time.Hour)
	time.Sleep(20 * time.Millisecond) // followed on the host's clock
	var server time.Time
	if err := ahead.DB.Raw("SELECT clock_timestamp()").Scan(&server).Error; err != nil {
		t.Fatal(err)
	}
	a, b := ahead.Now(), behind.Now()
	for name, got := range map[string]time.Time{"2 h ahead": a, "3 h behind": b} {
		if d := got.Sub(server); d < -time.Second || d > time.Second {
			t.Errorf("a host %s stamps %s; the server says %s (%s apart): want the server's time", name, got.Format(time.RFC3339Nano), server.Format(time.RFC3339Nano), d)
		}
	}
	// What the store writes carries the server's time too.
	if err := ahead.RecordDriftChecks(ctx, []DriftCheck{{Target: "core-fw", Status: DriftInSync}}, "test"); err != nil {
		t.Fatal(err)
	}
	latest, err := behind.LatestDriftChecks(ctx, behind.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := latest["core-fw"]; !ok || c.CheckedAt.Sub(server) > time.Second || c.CheckedAt.Sub(server) < -time.Second {
		t.Errorf("a check written by the host 2 h ahead, as of the host 3 h behind's now: %+v, want it found, stamped about %s", c, server)
	}

	lite, err := Open(ctx, "sqlite://"+t.TempDir()+"/ward.db", WithHostClock(func() time.Time { return time.Now().Add(2 * time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if d := lite.Now().Sub(time.Now()); d < 2*time.Hour-time.Second || d > 2*time.Hour+time.Second {
		t.Errorf("SQLite's clock is %s from this host's real time; want the host clock it was given (2 h ahead)", d)
	}
}
