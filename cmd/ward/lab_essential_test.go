package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/plan"
)

// TestLabEssentialInventoryEdit: an inventory edit, not a policy edit,
// moves a life-critical pump to another zone. Its rules are untouched, so
// only the reachability check sees that the pump would lose its pump
// server: ward apply refuses, naming the pump, the server and the service,
// and the pump keeps reaching its server on the lab. With
// -allow-essential-change and a reason it applies, the audit log says who
// and why, and the pump is really cut off, as the plan said.
func TestLabEssentialInventoryEdit(t *testing.T) {
	needLab(t)
	labEssentialInventoryEdit(t)
}

func labEssentialInventoryEdit(t *testing.T) {
	t.Cleanup(func() { exec.Command("bash", "../../examples/lab/lab.sh", "retag").Run() })
	dir, pol, db := labWorkspace(t)
	targets := []string{"-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs"}
	ward := func(args ...string) (int, string, string) {
		t.Helper()
		return runWard(t, append(args, targets...)...)
	}
	if code, out, errs := ward("apply", "-auto-approve"); code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errs)
	}
	reaches := func() bool { return labOpen(t, "pump-netlab-01", "pumpsrv-netlab-01", 51444) } // pump_telemetry
	if !reaches() {
		t.Fatal("after the first apply pump-netlab-01 does not reach its pump server on tcp/51444")
	}

	// The pump's vendor is not one biomed validated: it lands in
	// unclassified, whose VLAN is 199 and which no flow names.
	b, err := os.ReadFile(exampleInventory)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "pump-netlab-01,") {
			line, found = strings.Replace(line, ",infusion_pump,BD,", ",infusion_pump,Acme Medical,", 1), true
		}
		lines = append(lines, line)
	}
	edited := filepath.Join(dir, "inventory.csv")
	if !found || !strings.Contains(strings.Join(lines, "\n"), "Acme Medical") {
		t.Fatal("pump-netlab-01 with vendor BD not found in the example inventory")
	}
	os.WriteFile(edited, []byte(strings.Join(lines, "\n")), 0o644)
	if code, _, errs := runWard(t, "inventory", "import", edited, "-db", db); code != 0 {
		t.Fatalf("import of the edited inventory: %s", errs)
	}

	code, out, errs := ward("plan", "-json")
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan -json: exit %d %v\n%s", code, err, errs)
	}
	if n := p.Changes.Counts; n.FlowsRemoved+n.FlowsChanged != 0 {
		t.Errorf("an inventory edit changed flows: %+v", n)
	}
	lost := map[string]plan.EssentialLoss{}
	for _, l := range p.EssentialLoss {
		if l.Device == "pump-netlab-01" && l.Peer == "pumpsrv-netlab-01" && l.Service == "pump_telemetry" {
			lost[l.Direction] = l
		}
	}
	for _, dir := range []string{"to", "from"} {
		l, ok := lost[dir]
		if !ok {
			t.Fatalf("the plan does not report pump-netlab-01 %s pumpsrv-netlab-01 pump_telemetry as lost: %+v", dir, p.EssentialLoss)
		}
		if !strings.Contains(l.Cause, "infusion_pumps -> unclassified") || !strings.Contains(l.Cause, "vlan 210 -> 199 on access-ovs port p-pump1") {
			t.Errorf("cause %q: want the zone and the VLAN move", l.Cause)
		}
	}

	code, out, errs = ward("apply", "-auto-approve")
	if code == 0 {
		t.Fatalf("apply of a plan that cuts a pump off its server succeeded:\n%s", out)
	}
	for _, w := range []string{"pump-netlab-01", "pumpsrv-netlab-01", "pump_telemetry", "-allow-essential-change"} {
		if !strings.Contains(errs, w) {
			t.Errorf("the refusal does not name %q:\n%s", w, errs)
		}
	}
	if !reaches() {
		t.Fatal("after the refused apply pump-netlab-01 no longer reaches its pump server: something was pushed")
	}

	const who, why = "biomed:jdoe", "Biomed confirmed pump-netlab-01 is a demo unit, not on a patient (CHG-3141)"
	t.Setenv("WARD_ACTOR", who)
	if code, out, errs := ward("apply", "-auto-approve", "-allow-essential-change", "-reason", why); code != 0 {
		t.Fatalf("apply with -allow-essential-change -reason: exit %d\n%s%s", code, out, errs)
	}
	if reaches() {
		t.Error("after the approved apply pump-netlab-01 still reaches its pump server: the loss the plan reported did not happen")
	}
	code, out, errs = runWard(t, "audit", "-json", "-limit", "0", "-db", db)
	var events []struct {
		Actor, Action string
		Detail        json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &events); err != nil || code != 0 {
		t.Fatalf("audit -json: exit %d %v\n%s", code, err, errs)
	}
	audited := false
	for _, e := range events {
		if e.Actor == who && strings.Contains(e.Action, "essential") && strings.Contains(string(e.Detail), "CHG-3141") {
			audited = true
		}
	}
	if !audited {
		t.Errorf("no audit event by %s naming the reason:\n%s", who, out)
	}
}
