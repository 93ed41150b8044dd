package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
)

// TestTargetsShowTheLatestDriftCheck: a target's drift status, running
// hash and check time are its latest recorded check's, as of the end of
// the report's period; a target never checked is "not_recorded".
func TestTargetsShowTheLatestDriftCheck(t *testing.T) {
	e := newEnv(t)
	cfg := e.load(t, examplePolicy)
	e.apply(t, cfg)
	in := e.inputs(t, cfg)
	before := e.build(t, in)
	if len(before.Targets) < 2 {
		t.Fatalf("the example has %d targets", len(before.Targets))
	}
	checked, other := before.Targets[0].Name, before.Targets[1].Name
	for _, tg := range before.Targets {
		if tg.Drift != "not_recorded" || tg.RunningSHA256 != "" || tg.DriftCheckedAt != nil {
			t.Fatalf("before any check: %+v", tg)
		}
	}

	ctx := context.Background()
	t1 := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	e.clk.set(t1)
	running1 := strings.Repeat("a", 64)
	if err := e.st.RecordDriftChecks(ctx, []store.DriftCheck{{Target: checked, Status: store.DriftInSync, RunningHash: running1}}, "alice"); err != nil {
		t.Fatal(err)
	}
	t2 := t1.Add(6 * time.Hour)
	e.clk.set(t2)
	running2 := strings.Repeat("b", 64)
	if err := e.st.RecordDriftChecks(ctx, []store.DriftCheck{{Target: checked, Status: store.DriftDrift, RunningHash: running2}}, "token:nightly"); err != nil {
		t.Fatal(err)
	}
	e.clk.set(t2.Add(time.Hour))

	now := e.build(t, e.inputs(t, cfg))
	got := target(now, checked)
	if got.Drift != "drift" || got.RunningSHA256 != running2 || got.DriftCheckedAt == nil || !got.DriftCheckedAt.Equal(t2) || got.DriftCheckedBy != "token:nightly" {
		t.Errorf("latest check: %+v", got)
	}
	if o := target(now, other); o.Drift != "not_recorded" || o.RunningSHA256 != "" {
		t.Errorf("a target never checked: %+v", o)
	}
	var html strings.Builder
	if err := report.WriteHTML(&html, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "<td>drift (") {
		t.Errorf("the HTML report does not show the drift check")
	}

	in = e.inputs(t, cfg)
	in.AsOf = t1.Add(time.Hour)
	past := e.build(t, in)
	if p := target(past, checked); p.Drift != "in_sync" || p.RunningSHA256 != running1 {
		t.Errorf("as of %s: %+v, want the first check", in.AsOf, p)
	}
	in.AsOf = t1.Add(-time.Hour)
	if p := target(e.build(t, in), checked); p.Drift != "not_recorded" {
		t.Errorf("as of %s, before any check: %+v", in.AsOf, p)
	}
}
