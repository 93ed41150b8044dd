package store

import (
	"context"
	"testing"
	"time"
)

// TestFenceTokensIncrease: every acquisition of a lease, a take-over
// included, hands out a token greater than the last; a refused
// acquisition hands out none; targets count apart.
func TestFenceTokensIncrease(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		now := time.Now()
		lease := func(token string) TargetOwner {
			return TargetOwner{Target: "fw", Holder: token, Token: token, Since: now, ExpiresAt: now}
		}
		steps := []struct {
			name   string
			want   TargetOwner
			stale  bool
			ok     bool
			fence  int64 // 0: none handed out
			stored int64
		}{
			{"first acquisition", lease("a"), false, true, 1, 1},
			{"refused while a holds it", lease("b"), false, false, 0, 1},
			{"taken over as stale", lease("b"), true, true, 2, 2},
			{"b again (same token)", lease("b"), false, true, 3, 3},
		}
		for _, s := range steps {
			_, fence, ok, err := st.AcquireFencedTargetLease(ctx, s.want, func(TargetOwner) bool { return s.stale })
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if ok != s.ok || fence != s.fence {
				t.Errorf("%s: got ok %v token %d, want ok %v token %d", s.name, ok, fence, s.ok, s.fence)
			}
			if got, err := st.FenceOf(ctx, "fw"); err != nil || got != s.stored {
				t.Errorf("%s: FenceOf = %d, %v; want %d", s.name, got, err, s.stored)
			}
		}
		if got, err := st.FenceOf(ctx, "other"); err != nil || got != 0 {
			t.Errorf("FenceOf(other) = %d, %v; want 0", got, err)
		}
		if st.Dialect() != Postgres {
			return
		}
		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for want := int64(4); want <= 6; want++ {
			got, err := NextFenceOn(ctx, conn, "fw")
			if err != nil || got != want {
				t.Fatalf("NextFenceOn = %d, %v; want %d", got, err, want)
			}
		}
	})
}
