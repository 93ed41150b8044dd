package quarantine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// TestTimelineKeptOpen: what the timeline says each decision kept open,
// and what the quarantine keeps now, for the states a quarantine goes
// through, from recorded histories.
func TestTimelineKeptOpen(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ev := func(sec int, action, actor, detail string) store.AuditEvent {
		return store.AuditEvent{At: t0.Add(time.Duration(sec) * time.Second), Action: action, Actor: actor, Detail: detail}
	}
	released := t0.Add(time.Hour)
	for _, tc := range []struct {
		name       string
		q          store.Quarantine
		events     []store.AuditEvent
		approvals  []store.Approval
		wantEvents string
		wantKept   []string // per timeline row: flows, or the note's first word
		wantNow    string   // flows joined, or the note's first word
	}{
		{
			name: "restrict keeps the flows recorded at decision time",
			q:    store.Quarantine{ID: 1, Status: "active", Level: "restrict"},
			events: []store.AuditEvent{ev(0, "quarantine.create", "alert:zeek",
				`{"quarantine":1,"level":"restrict","status":"active","essential_flows":["dns","ehr"]}`)},
			wantEvents: "Decision", wantKept: []string{"dns ehr"}, wantNow: "dns ehr",
		},
		{
			name: "held by the storm guard enforces nothing, then approved as restrict",
			q:    store.Quarantine{ID: 2, Status: "active", Level: "restrict"},
			events: []store.AuditEvent{
				ev(0, "quarantine.create", "alert:zeek", `{"quarantine":2,"level":"notify","pending":"restrict","status":"pending","essential_flows":["dns"]}`),
				ev(5, "quarantine.approve", "dr-kim", `{"quarantine":2,"approved":"restrict","comment":"ok"}`),
			},
			approvals:  []store.Approval{{Actor: "dr-kim", Decision: "approved"}},
			wantEvents: "Decision Approval", wantKept: []string{"everything:", "dns"}, wantNow: "dns",
		},
		{
			name: "an approved isolate keeps nothing and says who approved",
			q:    store.Quarantine{ID: 3, Status: "active", Level: "isolate"},
			events: []store.AuditEvent{
				ev(0, "quarantine.create", "alice", `{"quarantine":3,"level":"restrict","pending":"isolate","status":"active","essential_flows":["dns"]}`),
				ev(9, "quarantine.approve", "dr-kim", `{"quarantine":3,"approved":"isolate"}`),
			},
			approvals:  []store.Approval{{Actor: "dr-kim", Decision: "approved"}},
			wantEvents: "Decision Approval", wantKept: []string{"dns", "nothing"}, wantNow: "nothing",
		},
		{
			name:       "decided before Ward recorded essential flows",
			q:          store.Quarantine{ID: 4, Status: "active", Level: "restrict"},
			events:     []store.AuditEvent{ev(0, "quarantine.create", "alice", `{"quarantine":4,"level":"restrict","status":"active"}`)},
			wantEvents: "Decision", wantKept: []string{"—"}, wantNow: "its",
		},
		{
			name: "expired",
			q:    store.Quarantine{ID: 5, Status: "expired", Level: "restrict", ReleasedAt: &released, ReleasedBy: "ward"},
			events: []store.AuditEvent{
				ev(0, "quarantine.create", "alice", `{"quarantine":5,"level":"restrict","status":"active","essential_flows":[]}`),
				ev(3600, "quarantine.expire", "ward", `{"quarantine":5,"level":"restrict","status":"active"}`),
			},
			wantEvents: "Decision Expired", wantKept: []string{"no", "—"}, wantNow: "everything:",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := TimelineOf(&store.QuarantineHistory{Quarantine: tc.q, Device: store.Device{Name: "ws-1"}, Events: tc.events, Approvals: tc.approvals})
			var events, kept []string
			for _, r := range d.Events {
				events = append(events, r.Event)
				kept = append(kept, summary(r.Kept, r.KeptNote))
			}
			if strings.Join(events, " ") != tc.wantEvents || !slices.Equal(kept, tc.wantKept) {
				t.Errorf("rows %v kept %q, want %s kept %q", events, kept, tc.wantEvents, tc.wantKept)
			}
			if now := summary(d.KeptOpen, d.KeptNote); now != tc.wantNow {
				t.Errorf("keeps open now %q (%s), want %q", now, d.KeptNote, tc.wantNow)
			}
		})
	}
}

func summary(flows []string, note string) string {
	switch {
	case len(flows) > 0:
		return strings.Join(flows, " ")
	case note != "":
		return strings.Fields(note)[0]
	}
	return "—"
}
