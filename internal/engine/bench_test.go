package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/scenario"
	"github.com/wardnet/ward/policy"
)

// generate is the benchmark scenario: nZones zones, nFlows flows, nDevices
// devices (internal/scenario).
func generate(tb testing.TB, nZones, nFlows, nDevices int) (*policy.Config, []inventory.Device) {
	tb.Helper()
	src, devices := scenario.Generate(scenario.Scale{Zones: nZones, Flows: nFlows, Devices: nDevices})
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "generated.hcl", Bytes: src})
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	return cfg, devices
}

// BenchmarkEvaluate100k: full placement, effective policy and guardrails
// for 100,000 devices, 100 zones and 1,000 flows (engine already built).
func BenchmarkEvaluate100k(b *testing.B) {
	cfg, devices := generate(b, 100, 1000, 100_000)
	e := newEngine(b, cfg, devices)
	ctx := context.Background()
	for b.Loop() {
		res, err := e.Evaluate(ctx)
		if err != nil || len(res.Zone) != len(devices) {
			b.Fatalf("%v: %d placed", err, len(res.Zone))
		}
	}
}

// BenchmarkNewAndEvaluate100k: the same, including loading the devices into
// OPA's store and compiling the Rego.
func BenchmarkNewAndEvaluate100k(b *testing.B) {
	cfg, devices := generate(b, 100, 1000, 100_000)
	ctx := context.Background()
	for b.Loop() {
		e := newEngine(b, cfg, devices)
		if _, err := e.Evaluate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateDevice100k: re-evaluate after one device changes.
func BenchmarkUpdateDevice100k(b *testing.B) {
	cfg, devices := generate(b, 100, 1000, 100_000)
	e := newEngine(b, cfg, devices)
	ctx := context.Background()
	if _, err := e.Evaluate(ctx); err != nil {
		b.Fatal(err)
	}
	d := devices[12345]
	i := 0
	for b.Loop() {
		i++
		d.Class = fmt.Sprintf("class%d", 1+i%98)
		if _, err := e.UpdateDevice(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate100kCustomPlacement: the same scenario with an operator
// ward.placement module, which may read any device field, so placement runs
// as one Rego query over every device instead of once per group.
func BenchmarkEvaluate100kCustomPlacement(b *testing.B) {
	cfg, devices := generate(b, 100, 1000, 100_000)
	cfg.Modules = append(cfg.Modules, &policy.RegoModule{Filename: "custom.rego", Source: []byte(`package ward.placement

zone_match[id] contains "z1" if {
	d := data.ward.devices[id]
	d.labels.pinned == "z1"
}
`)})
	e := newEngine(b, cfg, devices)
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.Evaluate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
