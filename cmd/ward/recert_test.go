package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecertCommands: start a campaign over the example hospital's flows,
// decide one flow twice (the second is refused), show, list and close it.
func TestRecertCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(dir, "credentials"))
	t.Setenv("WARD_AUDIT_KEY", "")
	t.Setenv("WARD_ACTOR", "alice")
	db := "sqlite://" + filepath.Join(dir, "ward.db")

	if code, _, errs := runWard(t, "recert", "start", "-policy", examplePolicy, "-db", db); code != 2 || !strings.Contains(errs, "-due is required") {
		t.Errorf("start without -due: exit %d, %s", code, errs)
	}
	code, out, errs := runWard(t, "recert", "start", "-due", "30d", "-name", "Q4 review", "-json", "-policy", examplePolicy, "-db", db)
	if code != 0 {
		t.Fatalf("recert start: exit %d\n%s", code, errs)
	}
	var started struct {
		ID     uint64
		Name   string
		Status string
		Counts struct{ Flows, Pending int }
		Items  []struct{ Flow, Owner, State string }
	}
	if err := json.Unmarshal([]byte(out), &started); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cfg, diags := (&cli{}).loadPolicy(examplePolicy)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if started.Name != "Q4 review" || started.Status != "open" || started.Counts.Flows == 0 || started.Counts.Pending != started.Counts.Flows || len(started.Items) != started.Counts.Flows {
		t.Fatalf("started %+v", started)
	}
	first := started.Items[0]
	if want := cfg.Flows[first.Flow]; want == nil || want.Owner != first.Owner || first.Owner == "" {
		t.Errorf("item %+v: owner not the policy's", first)
	}

	id := "1"
	if code, _, errs := runWard(t, "recert", "decide", id, first.Flow, "recertify", "-comment", "still needed", "-db", db); code != 0 {
		t.Fatalf("decide: exit %d\n%s", code, errs)
	}
	if code, _, errs := runWard(t, "recert", "decide", id, first.Flow, "expire", "-db", db); code != 1 || !strings.Contains(errs, "already decided") || !strings.Contains(errs, "recertify by alice") {
		t.Errorf("second decision: exit %d, %s", code, errs)
	}
	if code, _, errs := runWard(t, "recert", "decide", id, first.Flow, "maybe", "-db", db); code != 2 {
		t.Errorf("bad decision: exit %d, %s", code, errs)
	}
	code, out, errs = runWard(t, "recert", "show", id, "-db", db)
	if code != 0 || !strings.Contains(out, "1 recertified") || !strings.Contains(out, "still needed") {
		t.Errorf("show: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runWard(t, "recert", "close", id, "-db", db); code != 0 || !strings.Contains(out, "1 recertified, 0 expired") {
		t.Errorf("close: exit %d\n%s", code, out)
	}
	code, out, _ = runWard(t, "recert", "list", "-json", "-db", db)
	var list []struct {
		Status string
		Counts struct {
			Recertified    int `json:"recertified"`
			NotRecertified int `json:"not_recertified"`
		} `json:"counts"`
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 1 || list[0].Status != "closed" ||
		list[0].Counts.Recertified != 1 || list[0].Counts.NotRecertified != started.Counts.Flows-1 {
		t.Errorf("list: exit %d %v %+v", code, err, list)
	}
	code, out, _ = runWard(t, "audit", "-db", db)
	if code != 0 || !strings.Contains(out, "recert.decide") || !strings.Contains(out, "recert.close") {
		t.Errorf("audit log lacks the decisions:\n%s", out)
	}
}
