package web_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// TestDashboardShowsTheLatestDriftCheck: the dashboard's drift cell is the
// target's latest recorded check (status, when, by whom, running hash);
// a target never checked says so.
func TestDashboardShowsTheLatestDriftCheck(t *testing.T) {
	s := newUIServer(t)
	ctx := context.Background()
	running := "0123456789ab" + strings.Repeat("f", 52)
	if err := s.st.RecordDriftChecks(ctx, []store.DriftCheck{{Target: "core-fw", Status: store.DriftInSync, RunningHash: strings.Repeat("e", 64)}}, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.st.RecordDriftChecks(ctx, []store.DriftCheck{{Target: "core-fw", Status: store.DriftDrift, RunningHash: running}}, "token:nightly"); err != nil {
		t.Fatal(err)
	}
	c := s.signIn(t, store.RoleViewer)
	a := do(t, c, "GET", s.url+"/ui/", nil)
	if a.status != 200 {
		t.Fatalf("GET /ui/: %d", a.status)
	}
	row := func(target string) string {
		m := regexp.MustCompile(`<tr><th scope="row">` + regexp.QuoteMeta(target) + `</th>(?s:.*?)</tr>`).FindString(a.body)
		if m == "" {
			t.Fatalf("no row for %s in the dashboard", target)
		}
		return m
	}
	fw := row("core-fw")
	for _, want := range []string{"drift, checked " + s.clock.Now().UTC().Format("2006-01-02 15:04 UTC"), "by token:nightly", "<code>0123456789ab</code>"} {
		if !strings.Contains(fw, want) {
			t.Errorf("core-fw's row has no %q: %s", want, fw)
		}
	}
	if strings.Contains(fw, "eeeeeeeeeeee") || strings.Contains(fw, "not recorded") {
		t.Errorf("core-fw's row shows an older check: %s", fw)
	}
	if sw := row("core-sw"); !strings.Contains(sw, "not recorded (ward drift)") {
		t.Errorf("a target never checked: %s", sw)
	}
}

// TestChangesShowsDriftPerTarget: /ui/changes lists every target with its
// latest recorded drift check; a target never checked says so.
func TestChangesShowsDriftPerTarget(t *testing.T) {
	s := newUIServer(t)
	ctx := context.Background()
	running := "abcdef012345" + strings.Repeat("0", 52)
	if err := s.st.RecordDriftChecks(ctx, []store.DriftCheck{{Target: "core-fw", Status: store.DriftDrift, RunningHash: running}}, "token:nightly"); err != nil {
		t.Fatal(err)
	}
	c := s.signIn(t, store.RoleAuditor)
	a := do(t, c, "GET", s.url+"/ui/changes", nil)
	if a.status != 200 || !strings.Contains(a.body, `id="drift"`) {
		t.Fatalf("GET /ui/changes: %d, no drift section\n%s", a.status, a.body)
	}
	_, section, _ := strings.Cut(a.body, `id="drift"`)
	row := func(target string) string {
		m := regexp.MustCompile(`<tr>\s*<th scope="row">` + regexp.QuoteMeta(target) + `</th>(?s:.*?)</tr>`).FindString(section)
		if m == "" {
			t.Fatalf("no drift row for %s on /ui/changes", target)
		}
		return m
	}
	fw := row("core-fw")
	for _, want := range []string{"<strong>drift</strong>", "by token:nightly", "<code>abcdef012345</code>"} {
		if !strings.Contains(fw, want) {
			t.Errorf("core-fw's drift row has no %q: %s", want, fw)
		}
	}
	if sw := row("core-sw"); !strings.Contains(sw, "not recorded (ward drift)") {
		t.Errorf("a target never checked: %s", sw)
	}
}

// TestChangesShowsAppliesInProgress: /ui/changes lists an apply whose
// targets are still being pushed, with how many are left; the page as of
// a past time does not (it shows what was recorded then).
func TestChangesShowsAppliesInProgress(t *testing.T) {
	s := newUIServer(t)
	ctx := context.Background()
	pl := store.Plan{Content: "{}", CreatedAt: s.st.Now()}
	if err := s.st.CreatePlan(ctx, &pl); err != nil {
		t.Fatal(err)
	}
	run := store.ApplyRun{PlanID: pl.ID, Status: "running", Actor: "token:night-shift", StartedAt: s.st.Now()}
	job := func(id uint64, tg store.ApplyTarget) store.Job {
		return store.Job{Kind: "plan.apply", Target: tg.Target, Key: fmt.Sprintf("apply:%d:%s", id, tg.Target), RunAt: s.st.Now().Add(time.Hour)}
	}
	finish := func(store.ApplyRun, []store.ApplyTarget) (string, string, store.AuditEntry, error) {
		t.Fatal("the run finished with targets pending")
		return "", "", store.AuditEntry{}, nil
	}
	if err := s.st.StartApply(ctx, &run, []store.ApplyTarget{{Target: "core-fw", Status: "applied"}, {Target: "access-ovs"}, {Target: "core-sw"}}, job, finish); err != nil {
		t.Fatal(err)
	}
	c := s.signIn(t, store.RoleAuditor)
	a := do(t, c, "GET", s.url+"/ui/changes", nil)
	if a.status != 200 {
		t.Fatalf("GET /ui/changes: %d", a.status)
	}
	m := regexp.MustCompile(`(?s)id="in-progress".*?<th scope="row">` + fmt.Sprint(run.ID) + `</th>.*?</tr>`).FindString(a.body)
	if m == "" || !strings.Contains(m, "token:night-shift") || !strings.Contains(m, "2 of 3") || !strings.Contains(m, fmt.Sprintf("#%d", pl.ID)) {
		t.Fatalf("no row for apply run %d in progress on /ui/changes: %q", run.ID, m)
	}
	past := do(t, c, "GET", s.url+"/ui/changes?as_of="+s.st.Now().Add(-time.Minute).UTC().Format(time.RFC3339), nil)
	if past.status != 200 || strings.Contains(past.body, `id="in-progress"`) {
		t.Errorf("the page as of a minute ago: %d, in-progress section shown: %v", past.status, strings.Contains(past.body, `id="in-progress"`))
	}
}
