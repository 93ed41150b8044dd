package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store/pgtest"
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

// TestScheduledDriftChecksAuditChanges: a scheduled check is always
// stored, but audited only when it differs from the target's previous
// check (status, running or applied hash) or is the target's first — with
// the previous status in the event.
func TestScheduledDriftChecksAuditChanges(t *testing.T) {
	for d, url := range dbURLs(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			st, err := Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			steps := []struct {
				check DriftCheck
				audit bool
			}{
				{DriftCheck{Target: "core-fw", Status: DriftInSync, RunningHash: "aa", AppliedHash: "aa"}, true}, // first
				{DriftCheck{Target: "core-fw", Status: DriftInSync, RunningHash: "aa", AppliedHash: "aa"}, false},
				{DriftCheck{Target: "access-sw", Status: DriftInSync, RunningHash: "aa", AppliedHash: "aa"}, true}, // another target's first
				{DriftCheck{Target: "core-fw", Status: DriftDrift, RunningHash: "bb", AppliedHash: "aa"}, true},
				{DriftCheck{Target: "core-fw", Status: DriftDrift, RunningHash: "bb", AppliedHash: "aa"}, false},
				{DriftCheck{Target: "core-fw", Status: DriftDrift, RunningHash: "cc", AppliedHash: "aa"}, true}, // changed again by hand
				{DriftCheck{Target: "core-fw", Status: DriftError, Error: "dial tcp: connection refused"}, true},
				{DriftCheck{Target: "core-fw", Status: DriftError, Error: "dial tcp: i/o timeout"}, false},
				{DriftCheck{Target: "core-fw", Status: DriftInSync, RunningHash: "dd", AppliedHash: "dd"}, true},
			}
			for i, s := range steps {
				audited, err := st.RecordScheduledDriftCheck(ctx, s.check, "ward (scheduled drift check)")
				if err != nil {
					t.Fatal(err)
				}
				if audited != s.audit {
					t.Errorf("step %d (%s %s): audited %v, want %v", i, s.check.Target, s.check.Status, audited, s.audit)
				}
			}
			var stored int64
			if err := st.DB.Model(&DriftCheck{}).Count(&stored).Error; err != nil {
				t.Fatal(err)
			}
			if stored != int64(len(steps)) {
				t.Errorf("%d checks stored, want every one of %d", stored, len(steps))
			}
			events, err := st.ListAudit(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range events {
				if ev.Action != "target.drift_check" {
					continue
				}
				var detail struct {
					Previous struct {
						Status string `json:"status"`
					} `json:"previous"`
				}
				if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil {
					t.Fatal(err)
				}
				got = append(got, ev.Object+":"+detail.Previous.Status)
			}
			slices.Reverse(got) // ListAudit is newest first
			want := []string{"core-fw:", "access-sw:", "core-fw:in_sync", "core-fw:drift", "core-fw:drift", "core-fw:error"}
			if !slices.Equal(got, want) {
				t.Errorf("audit events (target:previous status) %v, want %v", got, want)
			}
			if _, err := st.RecordScheduledDriftCheck(ctx, DriftCheck{Target: "x", Status: DriftInSync}, ""); err == nil {
				t.Error("a scheduled check without an actor was recorded")
			}
		})
	}
}

// TestPruneDriftChecks: checks older than the cut-off go, except each
// target's newest keepPerTarget, which stay however old (a target checked
// rarely keeps its latest); a prune that deletes writes one audit event.
func TestPruneDriftChecks(t *testing.T) {
	day0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return day0.Add(time.Duration(n) * 24 * time.Hour) }
	// The history every case starts from, by day: core-fw is checked
	// daily, old-sw only on days 0 and 1.
	history := [][]string{{"core-fw", "old-sw"}, {"core-fw", "old-sw"}, {"core-fw"}, {"core-fw"}, {"core-fw"}}
	cases := []struct {
		name        string
		before      time.Time
		keep        int
		wantErr     string
		wantDeleted int64
		want        map[string][]int // days of the checks left, per target
	}{
		{"older than day 3, keep 1", day(3), 1, "", 4, map[string][]int{"core-fw": {3, 4}, "old-sw": {1}}},
		{"older than day 3, keep 3", day(3), 3, "", 2, map[string][]int{"core-fw": {2, 3, 4}, "old-sw": {0, 1}}},
		{"cut-off is exclusive", day(0), 1, "", 0, map[string][]int{"core-fw": {0, 1, 2, 3, 4}, "old-sw": {0, 1}}},
		{"everything old, keep 1", day(10), 1, "", 5, map[string][]int{"core-fw": {4}, "old-sw": {1}}},
		{"keep 0 is refused", day(10), 0, "keep at least 1", 0, map[string][]int{"core-fw": {0, 1, 2, 3, 4}, "old-sw": {0, 1}}},
	}
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					var mu sync.Mutex
					now := day0
					clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
					// A fresh database per case.
					url := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
					if d == Postgres {
						url = pgtest.URL(t)
					}
					st, err := Open(ctx, url, WithClock(clock))
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { st.Close() })
					for n, targets := range history {
						mu.Lock()
						now = day(n)
						mu.Unlock()
						var checks []DriftCheck
						for _, tg := range targets {
							checks = append(checks, DriftCheck{Target: tg, Status: DriftInSync})
						}
						if err := st.RecordDriftChecks(ctx, checks, "alice"); err != nil {
							t.Fatal(err)
						}
					}
					auditBefore, err := st.ListAudit(ctx, 0)
					if err != nil {
						t.Fatal(err)
					}

					n, err := st.PruneDriftChecks(ctx, tc.before, tc.keep)
					if tc.wantErr != "" {
						if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
							t.Fatalf("error: got %v, want one containing %q", err, tc.wantErr)
						}
					} else if err != nil {
						t.Fatal(err)
					}
					if n != tc.wantDeleted {
						t.Fatalf("deleted %d, want %d", n, tc.wantDeleted)
					}

					var rows []DriftCheck
					if err := st.DB.Order("id").Find(&rows).Error; err != nil {
						t.Fatal(err)
					}
					got := map[string][]int{}
					for _, r := range rows {
						got[r.Target] = append(got[r.Target], int(r.CheckedAt.Sub(day0)/(24*time.Hour)))
					}
					if !equalDays(got, tc.want) {
						t.Fatalf("left: %v, want %v", got, tc.want)
					}
					latest, err := st.LatestDriftChecks(ctx, time.Time{})
					if err != nil {
						t.Fatal(err)
					}
					if !latest["core-fw"].CheckedAt.Equal(day(4)) || !latest["old-sw"].CheckedAt.Equal(day(1)) {
						t.Fatalf("latest after pruning: %+v", latest)
					}

					events, err := st.ListAudit(ctx, 0)
					if err != nil {
						t.Fatal(err)
					}
					added := len(events) - len(auditBefore)
					if tc.wantDeleted == 0 {
						if added != 0 {
							t.Fatalf("a prune that deleted nothing wrote %d audit event(s)", added)
						}
						return
					}
					if added != 1 || events[0].Action != "drift_check.prune" {
						t.Fatalf("want one drift_check.prune event, got %d new, newest %q", added, events[0].Action)
					}
					var detail struct {
						Deleted int64            `json:"deleted"`
						Targets map[string]int64 `json:"targets"`
					}
					if err := json.Unmarshal([]byte(events[0].Detail), &detail); err != nil {
						t.Fatal(err)
					}
					var sum int64
					for tg, k := range detail.Targets {
						if want := int64(len(historyDays(history, tg)) - len(tc.want[tg])); k != want {
							t.Fatalf("audit detail: %s: %d deleted, want %d (%s)", tg, k, want, events[0].Detail)
						}
						sum += k
					}
					if detail.Deleted != tc.wantDeleted || sum != tc.wantDeleted {
						t.Fatalf("audit detail: %s", events[0].Detail)
					}
				})
			}
		})
	}
}

// historyDays is the days on which target was checked.
func historyDays(history [][]string, target string) []int {
	var out []int
	for n, targets := range history {
		for _, tg := range targets {
			if tg == target {
				out = append(out, n)
			}
		}
	}
	return out
}

func equalDays(a, b map[string][]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
