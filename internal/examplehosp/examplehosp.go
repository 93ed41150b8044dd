// Package examplehosp loads the example hospital (examples/hospital) for
// tests: its policy, its inventory, and the intent ward plan compiles from
// them, evaluated at a fixed time. It is for _test.go files only; nothing
// Ward ships imports it.
package examplehosp

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// Drivers are the drivers the example names, with their roles, as the
// policy parser takes them.
var Drivers = map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"},
	"cisco_iosxe": {"access_switch", "firewall"}, "arista_eos": {"access_switch", "firewall"}, "juniper_junos": {"access_switch", "firewall"}}

// Now is the time the example is evaluated at (its flows' expiry dates
// are judged against it).
func Now() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

// Dir is examples/hospital in this checkout.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "hospital")
}

// Load parses the example's policy and inventory.
func Load(tb testing.TB) (*policy.Config, []inventory.Device) {
	tb.Helper()
	cfg, diags := policy.NewParser(policy.WithDrivers(Drivers)).LoadDir(filepath.Join(Dir(), "policy"))
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	f, err := os.Open(filepath.Join(Dir(), "inventory.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	devices, err := inventory.ParseCSV(f)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg, devices
}

// Compile evaluates cfg and devices at Now and compiles the intent, as
// ward plan does.
func Compile(tb testing.TB, cfg *policy.Config, devices []inventory.Device) *intent.Intent {
	tb.Helper()
	e, diags := engine.New(context.Background(), cfg, devices, engine.WithClock(Now))
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	res, err := e.Evaluate(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	in, _, err := intent.Compile(cfg, res, e.Devices())
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// Intent is the example hospital's intent.
func Intent(tb testing.TB) *intent.Intent {
	tb.Helper()
	cfg, devices := Load(tb)
	return Compile(tb, cfg, devices)
}
