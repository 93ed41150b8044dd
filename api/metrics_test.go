package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

// TestMetrics: /metrics exposes alerts by source, active quarantines by
// level, plan and apply durations, push errors by target, the SSH session
// pool and the request counters, with the values the requests made.
func TestMetrics(t *testing.T) {
	s := newTestServer(t, nil)
	s.metrics.WatchSessions(func() quarantine.PoolStats { return quarantine.PoolStats{Open: 2, Dials: 5, DialErrors: 1} })
	var devs []store.Device
	if err := s.st.DB.Where("removed_at IS NULL AND criticality = ?", "low").Order("name_key").Limit(3).Find(&devs).Error; err != nil || len(devs) < 3 {
		t.Fatal(err)
	}
	for i, src := range []string{"suricata", "suricata", "zeek"} {
		body := fmt.Sprintf(`{"source":%q,"id":"M-%d","severity":"info","ip":%q}`, src, i, devs[i].IP)
		if r := s.post(t, "", []byte(body), bearer(token)); r.status != 202 {
			t.Fatalf("alert: %d %s", r.status, r.body)
		}
	}
	if r := s.do(t, "POST", "/api/v1/quarantines", []byte(`{"device":"`+devs[0].Name+`","level":"restrict"}`), s.as(store.RoleOperator)); r.status != 201 {
		t.Fatalf("quarantine: %d %s", r.status, r.body)
	}
	if r := s.do(t, "POST", "/api/v1/quarantines", []byte(`{"device":"`+devs[1].Name+`","level":"isolate"}`), s.as(store.RoleOperator)); r.status != 201 {
		t.Fatalf("quarantine: %d %s", r.status, r.body)
	}
	// An apply where core-fw is down: one push error for it.
	s.targets.down = map[string]bool{"core-fw": true}
	r := s.do(t, "POST", "/api/v1/plans", []byte(`{}`), s.as(store.RoleOperator))
	var id struct{ ID uint64 }
	if r.status != 201 || jsonDecode(r.body, &id) != nil {
		t.Fatalf("plan: %d %s", r.status, r.body)
	}
	r = s.do(t, "POST", fmt.Sprintf("/api/v1/plans/%d/apply", id.ID), []byte(`{"allow_essential_change":true}`), s.as(store.RoleAdmin))
	if r.status != 200 || !strings.Contains(string(r.body), `"status":"failed"`) {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	s.metrics.PushError("access-ovs", fmt.Errorf("session lost"))
	s.metrics.Leadership(true, 3)
	s.metrics.Leadership(false, 3)
	s.metrics.Leadership(true, 5)
	s.metrics.JobFinished(store.Job{Kind: "quarantine.sync"}, "done", 40*time.Millisecond)
	// A source is the sender's word: past 200 distinct ones they count as
	// "other", so a sender cannot grow the series without bound.
	var many []string
	for i := range 210 {
		many = append(many, fmt.Sprintf(`{"source":"s%d","id":"X","severity":"info","ip":%q}`, i, devs[2].IP))
	}
	if r := s.post(t, "", []byte("["+strings.Join(many, ",")+"]"), bearer(token)); r.status != 202 {
		t.Fatalf("alerts: %d %s", r.status, r.body)
	}

	r = s.do(t, "GET", "/metrics", nil, s.as(store.RoleViewer))
	if r.status != 200 {
		t.Fatalf("/metrics: %d %s", r.status, r.body)
	}
	text := string(r.body)
	for _, want := range []string{
		`ward_alerts_received_total{format="generic",source="suricata"} 2`,
		`ward_alerts_received_total{format="generic",source="zeek"} 1`,
		`ward_quarantines_active{level="restrict",pending=""} 1`,
		`ward_quarantines_active{level="isolate",pending=""} 1`,
		`ward_plan_duration_seconds_count 1`,
		`ward_apply_duration_seconds_count 1`,
		`ward_push_errors_total{kind="apply",target="core-fw"} 1`,
		`ward_push_errors_total{kind="quarantine",target="access-ovs"} 1`,
		`ward_ssh_sessions_open 2`,
		`ward_ssh_dials_total 5`,
		`ward_ssh_dial_errors_total 1`,
		`ward_ssh_sessions_discarded_total `,
		`ward_http_requests_total{method="POST",route="/api/v1/alerts",status="202"} 4`,
		`ward_http_request_duration_seconds_count{method="POST",route="/api/v1/plans"} 1`,
		`ward_alerts_received_total{format="generic",source="s197"} 1`,
		`ward_alerts_received_total{format="generic",source="other"} 12`,
		`ward_leader 1`,
		`ward_leader_epoch 5`,
		`ward_leadership_changes_total{change="gained"} 2`,
		`ward_leadership_changes_total{change="lost"} 1`,
		`ward_job_latency_seconds_bucket{kind="quarantine.sync",outcome="done",le="0.025"} 0`,
		`ward_job_latency_seconds_bucket{kind="quarantine.sync",outcome="done",le="0.05"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, `source="s198"`) {
		t.Error("a source past the cap has its own series")
	}
	if t.Failed() {
		t.Log(text)
	}
}

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }
