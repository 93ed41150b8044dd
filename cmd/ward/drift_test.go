package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDriftRecordsAndReportShows: ward drift records every target's check
// (here none was applied, so no device is contacted) with one audit event,
// and ward report shows each target's latest check.
func TestDriftRecordsAndReportShows(t *testing.T) {
	dir, db := reportWorkspace(t)
	t.Setenv("WARD_ACTOR", "nightly-check")
	code, out, errs := runWard(t, "drift", "-policy", examplePolicy, "-db", db, "-json")
	if code != 0 {
		t.Fatalf("ward drift: exit %d\n%s%s", code, out, errs)
	}
	var drifts []struct{ Target, Status string }
	if err := json.Unmarshal([]byte(out), &drifts); err != nil {
		t.Fatal(err)
	}
	if len(drifts) == 0 {
		t.Fatal("ward drift checked no target")
	}
	code, out, errs = runWard(t, "audit", "list", "-db", db)
	if code != 0 {
		t.Fatal(errs)
	}
	if n := strings.Count(out, "target.drift_check"); n != 1 || !strings.Contains(out, "nightly-check") {
		t.Fatalf("want one target.drift_check event by nightly-check, got %d:\n%s", n, out)
	}

	file := filepath.Join(dir, "report.json")
	if code, _, errs := runReportCmd(t, "-format", "json", "-o", file, "-policy", examplePolicy, "-db", db); code != 0 {
		t.Fatalf("ward report: exit %d\n%s", code, errs)
	}
	var r struct {
		Targets []struct {
			Name           string  `json:"name"`
			Drift          string  `json:"drift"`
			DriftCheckedAt *string `json:"drift_checked_at"`
			DriftCheckedBy string  `json:"drift_checked_by"`
		} `json:"targets"`
	}
	driftReadJSON(t, file, &r)
	if len(r.Targets) != len(drifts) {
		t.Fatalf("report: %d targets, drift checked %d", len(r.Targets), len(drifts))
	}
	for _, tg := range r.Targets {
		if tg.Drift != "never_applied" || tg.DriftCheckedAt == nil || tg.DriftCheckedBy != "nightly-check" {
			t.Errorf("report target %+v: want the recorded check", tg)
		}
	}
}

func driftReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
