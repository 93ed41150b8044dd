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
				if err := st.RecordTargetEnforcement(ctx, []uint64{q.ID}, PushOutcome{Target: fmt.Sprintf("fw-%02d", i), Error: msg, At: time.Now()}); err != nil {
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
			if err := st.RecordTargetEnforcement(ctx, []uint64{q.ID}, PushOutcome{Target: fmt.Sprintf("fw-%02d", i), Error: "", At: time.Now()}); err != nil {
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

// TestRecentQuarantines: each device gets its own newest quarantines, at
// most perDevice, newest first, whatever the other devices asked for
// hold; a device asked for with none gets none, and a device not asked
// for is left out.
func TestRecentQuarantines(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		var devs []Device
		for i := range 3 {
			d := Device{Name: fmt.Sprintf("pump-%d", i), NameKey: fmt.Sprintf("pump-%d", i), MAC: fmt.Sprintf("00:00:00:00:00:0%d", i), IP: fmt.Sprintf("10.0.0.%d", i+1), Class: "infusion_pump", Labels: map[string]string{}}
			if err := st.DB.Create(&d).Error; err != nil {
				t.Fatal(err)
			}
			devs = append(devs, d)
		}
		// Interleaved, so that newest-per-device is not newest overall:
		// device 0 gets 5 quarantines, device 1 gets 2, device 2 gets 1.
		made := map[uint64][]uint64{}
		for _, d := range []int{0, 1, 0, 0, 2, 1, 0, 0} {
			q := Quarantine{DeviceID: devs[d].ID, Level: "restrict", Status: QuarantineReleased, CreatedAt: time.Now()}
			if err := st.DB.Create(&q).Error; err != nil {
				t.Fatal(err)
			}
			made[q.DeviceID] = append([]uint64{q.ID}, made[q.DeviceID]...) // newest first
		}
		got, err := st.RecentQuarantines(ctx, []uint64{devs[0].ID, devs[1].ID, 999}, 3)
		if err != nil {
			t.Fatal(err)
		}
		ids := func(qs []Quarantine) string {
			var out []string
			for _, q := range qs {
				out = append(out, fmt.Sprint(q.ID))
			}
			return strings.Join(out, ",")
		}
		want := map[uint64]string{
			devs[0].ID: ids([]Quarantine{{ID: made[devs[0].ID][0]}, {ID: made[devs[0].ID][1]}, {ID: made[devs[0].ID][2]}}),
			devs[1].ID: ids([]Quarantine{{ID: made[devs[1].ID][0]}, {ID: made[devs[1].ID][1]}}),
		}
		if len(got) != len(want) {
			t.Errorf("devices in the answer: %d, want %d (device 2 was not asked for, device 999 has none): %v", len(got), len(want), got)
		}
		for id, w := range want {
			if g := ids(got[id]); g != w {
				t.Errorf("device #%d: quarantines %s, want %s (its 3 newest, newest first)", id, g, w)
			}
			for _, q := range got[id] {
				if q.DeviceID != id || q.Level != "restrict" || q.Status != QuarantineReleased {
					t.Errorf("device #%d: row read back as %+v", id, q)
				}
			}
		}
	})
}
