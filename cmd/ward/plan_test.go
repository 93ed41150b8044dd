package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlanCommand(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	// An empty inventory still plans, with a note.
	code, out, errs := runWard(t, "plan", "-policy", examplePolicy, "-db", db)
	if code != 0 || !strings.Contains(errs, "inventory is empty") || !strings.Contains(out, "Plan OK") {
		t.Fatalf("empty inventory: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs = runWard(t, "plan", "-policy", examplePolicy, "-db", db)
	if code != 0 || !strings.Contains(out, "against 432 devices") || !strings.Contains(out, "infusion_pumps → pump_servers") {
		t.Fatalf("example plan: exit %d\n%s%s", code, out, errs)
	}

	code, out, _ = runWard(t, "plan", "-policy", "../../examples/hospital/bad-change", "-db", db, "-json")
	var p map[string]any
	if code != 1 || json.Unmarshal([]byte(out), &p) != nil || p["blocked"] != true {
		t.Fatalf("bad change: exit %d, want 1 and a blocked JSON plan\n%s", code, out)
	}

	// A policy with errors makes no plan.
	code, _, errs = runWard(t, "plan", "-policy", t.TempDir(), "-db", db)
	if code != 1 || !strings.Contains(errs, "No policy files") {
		t.Fatalf("no policy: exit %d %s", code, errs)
	}
}
