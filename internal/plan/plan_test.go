package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

var driverRoles = map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"},
	"cisco_iosxe": {"access_switch", "firewall"}, "arista_eos": {"access_switch", "firewall"}, "juniper_junos": {"access_switch", "firewall"}}

var fixedNow = func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

func build(t *testing.T, dir string) *Plan {
	t.Helper()
	cfg, diags := policy.NewParser(policy.WithDrivers(driverRoles), policy.WithClock(fixedNow)).LoadDir(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	f, err := os.Open("../../examples/hospital/inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devices, err := inventory.ParseCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	p, diags := Build(context.Background(), cfg, devices, Options{PolicyDir: "examples/hospital/policy", Now: fixedNow})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return p
}

// TestExamplePlanGolden pins what a reviewer sees for the example hospital.
func TestExamplePlanGolden(t *testing.T) {
	p := build(t, "../../examples/hospital/policy")
	if p.Blocked {
		t.Fatalf("example plan blocked: %v", p.Reasons)
	}
	total := 0
	for _, z := range p.Placement.Zones {
		total += z.Devices
	}
	if total != p.Inventory.Devices {
		t.Fatalf("zones hold %d devices, inventory has %d", total, p.Inventory.Devices)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, p); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/example-plan.txt"
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./internal/plan -update creates it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("plan text differs from %s (run with -update if intended):\n%s", golden, buf.String())
	}
}

func TestBadChangeIsBlocked(t *testing.T) {
	p := build(t, "../../examples/hospital/bad-change")
	if !p.Blocked {
		t.Fatal("the bad change was not blocked")
	}
	rules := map[string]bool{}
	for _, f := range p.Guardrails.Deny {
		rules[f.Rule] = true
	}
	if !rules["untrusted_to_critical"] || !rules["all_ports_to_life_critical"] || !rules[""] {
		t.Fatalf("want both built-in rules and the hospital's own guardrails to deny; got %+v", p.Guardrails.Deny)
	}
	var buf bytes.Buffer
	WriteText(&buf, p)
	if !strings.Contains(buf.String(), "Plan BLOCKED") || !strings.Contains(buf.String(), "guest_wifi_to_pumps_upgrade") {
		t.Fatalf("text:\n%s", buf.String())
	}
}

func TestConflictsBlockAndNameBothZones(t *testing.T) {
	src := `zone "a" {
  criticality = "low"
  match { class = ["pump"] }
}
zone "b" {
  criticality = "low"
  match { vendor = ["BD"] }
}
`
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "zones.hcl", Bytes: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	devices := []inventory.Device{{Name: "p1", Class: "pump", Vendor: "BD", IP: netip.MustParseAddr("10.0.0.1"), Criticality: "low"}}
	p, diags := Build(context.Background(), cfg, devices, Options{Now: fixedNow})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !p.Blocked || len(p.Placement.Conflicts) != 1 {
		t.Fatalf("blocked %v conflicts %+v", p.Blocked, p.Placement.Conflicts)
	}
	c := p.Placement.Conflicts[0]
	if c.Device != "p1" || strings.Join(c.Zones, ",") != "a,b" || strings.Join(c.Where, ",") != "zones.hcl:1,zones.hcl:5" {
		t.Fatalf("conflict %+v", c)
	}
}

func TestPlanJSONShape(t *testing.T) {
	p := build(t, "../../examples/hospital/policy")
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"format_version", "created_at", "policy", "inventory", "placement", "flows", "matrix", "guardrails", "blocked", "blocked_reasons"} {
		if _, ok := m[k]; !ok {
			t.Errorf("plan JSON lacks %q (docs/plan-json.md documents it)", k)
		}
	}
	if m["format_version"] != FormatVersion {
		t.Errorf("format_version %v", m["format_version"])
	}
	g := m["guardrails"].(map[string]any)
	for _, k := range []string{"deny", "warn", "waived"} {
		if _, ok := g[k].([]any); !ok {
			t.Errorf("guardrails.%s must be an array, never null", k)
		}
	}
}
