package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// scenario generates a policy of nZones zones (a few placed by glob, the
// rest by literal class), nFlows flows between random zones, and nDevices
// devices spread over the zones.
func scenario(tb testing.TB, nZones, nFlows, nDevices int) (*policy.Config, []inventory.Device) {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("settings {\n  default_zone = \"z0\"\n}\n")
	for i := range nZones {
		fmt.Fprintf(&b, "zone \"z%d\" {\n  criticality = %q\n  vlan = %d\n  subnets = [\"10.%d.0.0/16\"]\n", i,
			[]string{"life_critical", "high", "medium", "low"}[i%4], 100+i, i)
		switch {
		case i == 0: // the default zone has no match
		case i%20 == 0: // a glob class: tried for every device
			fmt.Fprintf(&b, "  match {\n    class  = [\"glob%d-*\"]\n    vendor = [\"Vendor*\"]\n  }\n", i)
		default:
			fmt.Fprintf(&b, "  match {\n    class  = [\"class%d\", \"alias%d\"]\n    vendor = [\"Vendor%d*\", \"Other\"]\n  }\n", i, i, i%7)
		}
		b.WriteString("}\n")
	}
	for i := range 20 {
		fmt.Fprintf(&b, "service \"s%d\" {\n  tcp = [%d]\n}\n", i, 1000+i)
	}
	for i := range nFlows {
		fmt.Fprintf(&b, "flow \"f%d\" {\n  from = zone.z%d\n  to = [zone.z%d, zone.z%d]\n  services = [service.s%d]\n  reason = \"generated\"\n  ticket = \"CHG-%d\"\n}\n",
			i, r.IntN(nZones), r.IntN(nZones), r.IntN(nZones), r.IntN(20), i)
	}
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "generated.hcl", Bytes: []byte(b.String())})
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	devices := make([]inventory.Device, nDevices)
	for j := range nDevices {
		z := 1 + j%(nZones-1)
		class := fmt.Sprintf("class%d", z)
		if z%20 == 0 {
			class = fmt.Sprintf("glob%d-x", z)
		}
		devices[j] = inventory.Device{
			Name: fmt.Sprintf("dev-%06d", j), IP: netip.AddrFrom4([4]byte{10, byte(z), byte(j >> 8), byte(j)}),
			MAC: fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(j>>16), byte(j>>8), byte(j)), Class: class,
			Vendor: fmt.Sprintf("Vendor%d Inc", z%7), Criticality: "medium", Site: "main",
		}
	}
	return cfg, devices
}

// BenchmarkEvaluate100k: full placement, effective policy and guardrails
// for 100,000 devices, 100 zones and 1,000 flows (engine already built).
func BenchmarkEvaluate100k(b *testing.B) {
	cfg, devices := scenario(b, 100, 1000, 100_000)
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
	cfg, devices := scenario(b, 100, 1000, 100_000)
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
	cfg, devices := scenario(b, 100, 1000, 100_000)
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
	cfg, devices := scenario(b, 100, 1000, 100_000)
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
