package engine

import (
	"context"
	"maps"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

var exampleDrivers = map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"},
	"cisco_iosxe": {"access_switch", "firewall"}, "arista_eos": {"access_switch", "firewall"}, "juniper_junos": {"access_switch", "firewall"}}

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func loadExample(t testing.TB) (*policy.Config, []inventory.Device) {
	t.Helper()
	cfg, diags := policy.NewParser(policy.WithDrivers(exampleDrivers)).LoadDir("../../examples/hospital/policy")
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
	return cfg, devices
}

func newEngine(t testing.TB, cfg *policy.Config, devices []inventory.Device) *Engine {
	t.Helper()
	e, diags := New(context.Background(), cfg, devices, WithClock(func() time.Time { return testNow }))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return e
}

func TestEngineExampleHospital(t *testing.T) {
	cfg, devices := loadExample(t)
	e := newEngine(t, cfg, devices)
	res, err := e.Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ref := newRefPlacer(cfg).PlaceAll(devices)
	if !maps.Equal(res.Zone, ref.Zone) || len(res.Conflicts) != 0 || len(res.Unplaced) != 0 {
		t.Fatalf("Rego placement differs from the reference: %d vs %d placed, conflicts %v, unplaced %v",
			len(res.Zone), len(ref.Zone), res.Conflicts, res.Unplaced)
	}
	if len(res.Deny) != 0 {
		t.Fatalf("example hospital denied: %+v", res.Deny)
	}
	if len(res.Flows) != len(cfg.Flows) || len(res.Expired) != 0 {
		t.Fatalf("%d flows in force, %d expired; want all %d in force", len(res.Flows), len(res.Expired), len(cfg.Flows))
	}
	if _, ok := res.Addresses["infusion_pumps"]["10.61.210.11"]; !ok {
		t.Fatal("pump-3w-01's address is not in the infusion_pumps address set")
	}
	if _, ok := res.Addresses["infusion_pumps"]["10.61.210.0/24"]; !ok {
		t.Fatal("the zone's subnet is not in its address set")
	}
	if svcs := res.Matrix["infusion_pumps"]["pump_servers"]; len(svcs) == 0 {
		t.Fatalf("matrix lacks pumps -> pump servers: %v", res.Matrix["infusion_pumps"])
	}
}

func TestEngineUpdateDevice(t *testing.T) {
	cfg, devices := loadExample(t)
	e := newEngine(t, cfg, devices)
	ctx := context.Background()
	if _, err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	d, _ := e.Device("pump-3w-01")
	d.Class, d.Vendor = "patient_monitor", "Philips"
	d.IP = netip.MustParseAddr("10.61.220.250")
	zone, err := e.UpdateDevice(ctx, d)
	if err != nil || zone != "patient_monitors" {
		t.Fatalf("re-placed into %q, %v; want patient_monitors", zone, err)
	}
	if _, ok := e.state.Addresses["infusion_pumps"]["10.61.210.11"]; ok {
		t.Fatal("old address still in the old zone")
	}
	if _, ok := e.state.Addresses["patient_monitors"]["10.61.220.250"]; !ok {
		t.Fatal("new address missing from the new zone")
	}
	// A full evaluation agrees with the incremental one.
	incremental := maps.Clone(e.state.Zone)
	full, err := e.Evaluate(ctx)
	if err != nil || !maps.Equal(full.Zone, incremental) {
		t.Fatalf("full evaluation differs from incremental update (%v)", err)
	}
	// A new device of an unknown class lands in the default zone.
	zone, err = e.UpdateDevice(ctx, inventory.Device{Name: "new-thing", IP: netip.MustParseAddr("10.61.199.77"), Class: "toaster", Criticality: "low"})
	if err != nil || zone != "unclassified" {
		t.Fatalf("new device: %q %v", zone, err)
	}
	if err := e.RemoveDevice(ctx, "new-thing"); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.state.Zone["new-thing"]; ok {
		t.Fatal("removed device still placed")
	}
}

func TestEngineRegoErrorsAreDiagnostics(t *testing.T) {
	cfg, diags := policy.NewParser().Load(
		policy.Source{Filename: "z.hcl", Bytes: []byte(`zone "a" { criticality = "low" }`)},
		policy.Source{Filename: "g.rego", Bytes: []byte("package ward.guardrails\n\ndeny contains x if {\n\tnot_a_function(1)\n}\n")},
	)
	_ = diags // ward validate reports this too; here the engine must not panic or hide it
	_, d := New(context.Background(), cfg, nil)
	if !d.HasErrors() || !strings.Contains(d.Error(), "g.rego:4") {
		t.Fatalf("want a diagnostic at g.rego:4, got %v", d)
	}
}
