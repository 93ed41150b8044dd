package intent

import (
	"testing"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/scenario"
	"github.com/wardnet/ward/policy"
)

// generate is the engine's benchmark scenario with one firewall and
// nSwitches access switches (internal/scenario).
func generate(tb testing.TB, nZones, nFlows, nSwitches, nDevices int) (*policy.Config, []inventory.Device) {
	tb.Helper()
	src, devices := scenario.Generate(scenario.Scale{Zones: nZones, Flows: nFlows, Switches: nSwitches, Devices: nDevices})
	cfg, diags := policy.NewParser(policy.WithDrivers(exampleDrivers)).Load(policy.Source{Filename: "generated.hcl", Bytes: src})
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	return cfg, devices
}

// BenchmarkCompile100k: the intent of one firewall and 50 access switches
// for 100,000 devices, 100 zones and 1,000 flows; the evaluation is done
// once, outside the timer.
func BenchmarkCompile100k(b *testing.B) {
	cfg, devices := generate(b, 100, 1000, 50, 100_000)
	res, devs := evaluate(b, cfg, devices)
	b.ResetTimer()
	for b.Loop() {
		in, warns, err := Compile(cfg, res, devs)
		if err != nil || len(warns) != 0 {
			b.Fatalf("%v; %d warnings", err, len(warns))
		}
		if n := len(in.Targets["sw0"].Switch.Ports); n != 2000 {
			b.Fatalf("sw0 has %d ports, want 2000", n)
		}
	}
}

// BenchmarkDiff100k: the diff of two such intents that differ in one
// device's zone.
func BenchmarkDiff100k(b *testing.B) {
	cfg, devices := generate(b, 100, 1000, 50, 100_000)
	res, devs := evaluate(b, cfg, devices)
	before, _, err := Compile(cfg, res, devs)
	if err != nil {
		b.Fatal(err)
	}
	after, _, _ := Compile(cfg, res, devs)
	p := &after.Targets["sw7"].Switch.Ports[3]
	p.VLAN, p.Zone = 150, "z50"
	b.ResetTimer()
	for b.Loop() {
		if ch := Diff(before, after); ch.Counts.PortsChanged != 1 {
			b.Fatalf("%+v", ch.Counts)
		}
	}
}
