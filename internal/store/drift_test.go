package store

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDriftChecks: each check's rows are stored with one audit event; the
// latest per target, as of a time, is what reports read; an unknown status
// is refused by the store and by the table.
func TestDriftChecks(t *testing.T) {
	for d, url := range dbURLs(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			st, err := Open(ctx, url, WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })

			if got, err := st.LatestDriftChecks(ctx, time.Time{}); err != nil || len(got) != 0 {
				t.Fatalf("empty store: %v %v", got, err)
			}
			first := now
			err = st.RecordDriftChecks(ctx, []DriftCheck{
				{Target: "core-fw", Status: DriftInSync, RunningHash: "aa", AppliedHash: "bb"},
				{Target: "access-sw", Status: DriftNeverApplied},
			}, "alice")
			if err != nil {
				t.Fatal(err)
			}
			advance(time.Hour)
			err = st.RecordDriftChecks(ctx, []DriftCheck{{Target: "core-fw", Status: DriftDrift, RunningHash: "cc", AppliedHash: "bb"}}, "token:ci")
			if err != nil {
				t.Fatal(err)
			}

			latest, err := st.LatestDriftChecks(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if c := latest["core-fw"]; c.Status != DriftDrift || c.RunningHash != "cc" || c.Actor != "token:ci" || !c.CheckedAt.Equal(first.Add(time.Hour)) {
				t.Fatalf("latest core-fw: %+v", c)
			}
			if c := latest["access-sw"]; c.Status != DriftNeverApplied || !c.CheckedAt.Equal(first) || c.Actor != "alice" {
				t.Fatalf("latest access-sw: %+v", c)
			}
			past, err := st.LatestDriftChecks(ctx, first.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if c := past["core-fw"]; c.Status != DriftInSync || c.RunningHash != "aa" {
				t.Fatalf("core-fw as of the first check: %+v", c)
			}
			if before, err := st.LatestDriftChecks(ctx, first.Add(-time.Second)); err != nil || len(before) != 0 {
				t.Fatalf("before any check: %v %v", before, err)
			}

			events, err := st.ListAudit(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			var checks []AuditEvent
			for _, ev := range events {
				if ev.Action == "target.drift_check" {
					checks = append(checks, ev)
				}
			}
			if len(checks) != 2 {
				t.Fatalf("want one audit event per check, got %d", len(checks))
			}
			var detail struct {
				Counts  map[string]int               `json:"counts"`
				Targets map[string]map[string]string `json:"targets"`
			}
			// Newest first: the second check names one target.
			if checks[1].Object != "2 targets" || checks[0].Object != "core-fw" {
				t.Fatalf("objects: %q %q", checks[1].Object, checks[0].Object)
			}
			if err := json.Unmarshal([]byte(checks[1].Detail), &detail); err != nil {
				t.Fatal(err)
			}
			if detail.Counts[DriftInSync] != 1 || detail.Counts[DriftNeverApplied] != 1 || detail.Targets["core-fw"]["running_hash"] != "aa" {
				t.Fatalf("audit detail: %s", checks[1].Detail)
			}

			if err := st.RecordDriftChecks(ctx, []DriftCheck{{Target: "x", Status: "fine"}}, "alice"); err == nil || !strings.Contains(err.Error(), "unknown status") {
				t.Fatalf("unknown status: %v", err)
			}
			if err := st.DB.Create(&DriftCheck{Target: "x", CheckedAt: now, Status: "fine", Actor: "a"}).Error; err == nil {
				t.Fatal("the table took an unknown status")
			}
			if err := st.RecordDriftChecks(ctx, []DriftCheck{{Target: "x", Status: DriftInSync}}, ""); err == nil {
				t.Fatal("a check without an actor was recorded")
			}
		})
	}
}
