package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRecordTargetEnforcementConcurrent: pushes to many targets report on
// one quarantine at once; each target's entry is kept (no lost update),
// each success drops only its own, and the last one marks the quarantine
// enforced.
func TestRecordTargetEnforcementConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		dev := Device{Name: "pump-1", MAC: "00:00:00:00:00:01", IP: "10.0.0.1", Class: "infusion_pump", Labels: map[string]string{}}
		if err := st.DB.Create(&dev).Error; err != nil {
			t.Fatal(err)
		}
		q := Quarantine{DeviceID: dev.ID, Level: "restrict", Status: QuarantineActive, CreatedAt: time.Now()}
		if err := st.DB.Create(&q).Error; err != nil {
			t.Fatal(err)
		}
		const n = 12
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				msg := fmt.Sprintf("dial timeout; retry %d\nsecond line", i)
				if err := st.RecordTargetEnforcement(ctx, []uint64{q.ID}, fmt.Sprintf("fw-%02d", i), msg, time.Now()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := st.FindQuarantine(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		entries := strings.Split(got.EnforceError, "; ")
		if len(entries) != n || got.EnforcedAt != nil {
			t.Fatalf("after %d concurrent failures: %d entries, enforced_at %v: %q", n, len(entries), got.EnforcedAt, got.EnforceError)
		}
		if want := "fw-03: dial timeout, retry 3 second line"; entries[3] != want {
			t.Errorf("entry %q, want %q (one line, entries kept apart)", entries[3], want)
		}
		for i := range n {
			if err := st.RecordTargetEnforcement(ctx, []uint64{q.ID}, fmt.Sprintf("fw-%02d", i), "", time.Now()); err != nil {
				t.Fatal(err)
			}
			got, _ = st.FindQuarantine(ctx, q.ID)
			if left := strings.Count(got.EnforceError, "fw-"); left != n-1-i || strings.Contains(got.EnforceError, fmt.Sprintf("fw-%02d:", i)) {
				t.Fatalf("after fw-%02d succeeded: %q", i, got.EnforceError)
			}
		}
		if got.EnforceError != "" || got.EnforcedAt == nil {
			t.Errorf("after every target succeeded: error %q, enforced_at %v", got.EnforceError, got.EnforcedAt)
		}
	})
}
