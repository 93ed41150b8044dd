package report_test

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/nftables"
	"github.com/wardnet/ward/drivers/openvswitch"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/scenario"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// BenchmarkReport100Zones100kDevices is the report of the scenario used
// across Ward's benchmarks (internal/scenario): 100 zones, 1,000 flows, one
// nftables firewall and 50 Open vSwitch access switches, 100,000 devices.
// The evaluation is made once outside the timer (the API caches it; ward
// report makes it once); each iteration builds the report, with every
// target's intended configuration rendered by the real drivers and hashed,
// and writes it as JSON and as HTML. Target: under 5 s.
//
//	go test -run '^$' -bench Report100Zones -benchtime 3x ./internal/report/
func BenchmarkReport100Zones100kDevices(b *testing.B) {
	ctx := context.Background()
	src, devices := scenario.Generate(scenario.Scale{Zones: 100, Flows: 1000, Switches: 50, Devices: 100_000})
	reg := &drivers.Registry{}
	reg.Register(drivers.Info{Name: "linux_nftables", Roles: []drivers.Role{drivers.RoleFirewall},
		New: func(json.RawMessage) (drivers.Driver, error) { return nftables.New(nftables.Options{}), nil }})
	reg.Register(drivers.Info{Name: "openvswitch", Roles: []drivers.Role{drivers.RoleAccessSwitch},
		New: func(json.RawMessage) (drivers.Driver, error) { return openvswitch.New(openvswitch.Options{}), nil }})
	cfg, diags := policy.NewParser(policy.WithDrivers(reg.RolesByName())).Load(policy.Source{Filename: "generated.hcl", Bytes: src})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	eng, diags := engine.New(ctx, cfg, devices)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	res, err := eng.Evaluate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "ward.db"), store.WithAuditKey(testKey))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	in := report.Inputs{Policy: inforce.New(cfg, nil, nil).Load(), Devices: devices, Result: res, Store: st, Drivers: reg, WardVersion: "bench"}
	b.ResetTimer()
	for b.Loop() {
		r, err := report.Build(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if r.Summary.Devices != 100_000 || len(r.Zones) != 100 || r.Targets[0].IntendedSHA256 == "" {
			b.Fatalf("%d devices, %d zones, target %+v", r.Summary.Devices, len(r.Zones), r.Targets[0])
		}
		if err := report.WriteJSON(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		if err := report.WriteHTML(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
