package report_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/report"
)

// TestFlowAppliedToAndWhen checks that a flow says which targets carry its
// rules and when they were applied: none before an apply, the firewall
// targets after it, and the second apply's time for a flow it added (as of
// now and as of a past time).
func TestFlowAppliedToAndWhen(t *testing.T) {
	e := newEnv(t)
	cfgA := e.load(t, examplePolicy)
	in := e.inputs(t, cfgA)
	flowOf := func(r *report.Report, name string) report.Flow {
		t.Helper()
		i := slices.IndexFunc(r.Flows, func(f report.Flow) bool { return f.Name == name })
		if i < 0 {
			t.Fatalf("no flow %s in the report", name)
		}
		return r.Flows[i]
	}
	before := flowOf(e.build(t, in), "pumps_to_pump_servers")
	if len(before.AppliedTo) != 0 || before.LastApplied != nil {
		t.Fatalf("before any apply: applied to %v at %v", before.AppliedTo, before.LastApplied)
	}

	t1 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	e.clk.set(t1)
	e.apply(t, cfgA)
	dir := copyPolicy(t)
	if err := os.WriteFile(filepath.Join(dir, "added.hcl"), []byte(`flow "report_test_added" {
  from = zone.biomed_engineering
  to = zone.printers
  services = [service.printing]
  reason = "print calibration reports"
  ticket = "CHG-9000"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t2 := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	e.clk.set(t2)
	cfgB := e.load(t, dir)
	e.apply(t, cfgB)
	e.clk.set(t2.Add(time.Hour))
	in = e.inputs(t, cfgB)
	now := e.build(t, in)

	var firewalls []string
	for _, tg := range now.Targets {
		if slices.Contains(tg.Roles, "firewall") && tg.Push {
			firewalls = append(firewalls, tg.Name)
		}
	}
	if len(firewalls) == 0 {
		t.Fatal("the example policy has no pushed firewall target")
	}
	added := flowOf(now, "report_test_added")
	if !slices.Equal(added.AppliedTo, firewalls) || added.LastApplied == nil || !added.LastApplied.Equal(t2) {
		t.Errorf("added flow: applied to %v at %v, want %v at %s", added.AppliedTo, added.LastApplied, firewalls, t2)
	}

	in.AsOf = t1.Add(time.Hour)
	past := e.build(t, in)
	old := flowOf(past, "pumps_to_pump_servers")
	if !slices.Equal(old.AppliedTo, firewalls) || old.LastApplied == nil || !old.LastApplied.Equal(t1) {
		t.Errorf("as of %s: applied to %v at %v, want %v at %s", in.AsOf, old.AppliedTo, old.LastApplied, firewalls, t1)
	}
}
