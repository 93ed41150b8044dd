package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// Concurrent quarantine decisions are committed together, but each behaves
// as if it had run alone, one after the other: it sees what the ones before
// it wrote, and one that fails leaves nothing behind while the others
// commit.
func TestQuarantineDecisionsGroupCommit(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		const n = 60
		errFail := errors.New("this decision fails")
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen []int // how many automatic actions each committed decision saw before its own
		)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				var before int
				err := st.QuarantineDecision(ctx, func(tx *QuarantineTx) error {
					var err error
					if before, err = tx.AutomaticActionsSince(time.Time{}); err != nil {
						return err
					}
					row := Alert{Source: "test", ExternalID: fmt.Sprint(i), Action: "isolate", ReceivedAt: tx.Now()}
					if ok, err := tx.RecordAlert(&row); err != nil || !ok {
						return fmt.Errorf("recording alert %d: ok %v, %v", i, ok, err)
					}
					if i%3 == 0 {
						return errFail // after writing: its write must not survive
					}
					return nil
				})
				switch {
				case i%3 == 0 && !errors.Is(err, errFail):
					t.Errorf("decision %d: err %v, want its own failure", i, err)
				case i%3 != 0 && err != nil:
					t.Errorf("decision %d: %v", i, err)
				case err == nil:
					mu.Lock()
					seen = append(seen, before)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		committed := n - (n+2)/3
		got, _, err := st.ListAlerts(ctx, AlertQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != committed {
			t.Fatalf("%d alerts recorded, want the %d decisions that succeeded", len(got), committed)
		}
		for _, a := range got {
			var i int
			fmt.Sscan(a.ExternalID, &i)
			if i%3 == 0 {
				t.Errorf("alert %d of a failed decision survived", i)
			}
		}
		// As if serial: the k-th committed decision saw exactly k before it.
		slices.Sort(seen)
		for k, b := range seen {
			if b != k {
				t.Fatalf("committed decisions saw %v automatic actions before their own; want 0, 1, 2, … (each sees the ones before it, never a failed one)", seen)
			}
		}
	})
}
