package store

import (
	"context"
	"sync"
	"testing"
)

// TestClaimLeadershipOneWinner: claimants racing with the same view of
// the row — first the empty table, then a stale holder — yield one leader
// per epoch, and the epoch grows by one per change of holder.
func TestClaimLeadershipOneWinner(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, url string) {
		ctx := context.Background()
		race := func(seen *Leader) (winners []string) {
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, id := range []string{"r1", "r2", "r3", "r4", "r5"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var s *Leader
					if seen != nil {
						c := *seen
						s = &c
					}
					_, ok, err := st.ClaimLeadership(ctx, "scheduler", id, s)
					if err != nil {
						t.Errorf("claim by %s: %v", id, err)
					}
					if ok {
						mu.Lock()
						winners = append(winners, id)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			return winners
		}
		if w := race(nil); len(w) != 1 {
			t.Fatalf("first claims: winners %v, want exactly one", w)
		}
		first, err := st.Leadership(ctx, "scheduler")
		if err != nil || first.Epoch != 1 {
			t.Fatalf("leadership after the first claims = %+v, %v; want epoch 1", first, err)
		}
		if w := race(&first); len(w) != 1 {
			t.Fatalf("take-over claims: winners %v, want exactly one", w)
		}
		second, _ := st.Leadership(ctx, "scheduler")
		if second.Epoch != 2 || second.Holder == first.Holder && second.Epoch == first.Epoch {
			t.Fatalf("leadership after the take-over = %+v; want epoch 2", second)
		}
		// The deposed holder can neither renew nor resign the new term.
		if ok, err := st.RenewLeadership(ctx, "scheduler", first.Holder, first.Epoch); err != nil || ok {
			t.Errorf("the old epoch renewed: %v %v", ok, err)
		}
		if err := st.ResignLeadership(ctx, "scheduler", first.Holder, first.Epoch); err != nil {
			t.Fatal(err)
		}
		if now, _ := st.Leadership(ctx, "scheduler"); now.Holder != second.Holder {
			t.Errorf("the old epoch's resignation removed the new holder: %+v", now)
		}
		// A claim naming a stale view (renewals moved since) fails.
		if ok, err := st.RenewLeadership(ctx, "scheduler", second.Holder, second.Epoch); err != nil || !ok {
			t.Fatalf("renewal by the holder: %v %v", ok, err)
		}
		if _, ok, _ := st.ClaimLeadership(ctx, "scheduler", "late", &second); ok {
			t.Error("a claim on a view the holder has since renewed succeeded")
		}
	})
}
