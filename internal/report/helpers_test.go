package report_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

const (
	examplePolicy    = "../../examples/hospital/policy"
	exampleInventory = "../../examples/hospital/inventory.csv"
)

// testKey is the audit key of the tests' stores (32+ bytes).
var testKey = []byte("ward report tests: an audit key of 32+ bytes")

// clock is a settable clock for one test's store and reports.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// jsonDriver stands in for every driver of the example: it renders the
// intent as JSON and applies by doing nothing, so plans can be applied and
// recorded without devices.
type jsonDriver struct{}

func (jsonDriver) Render(t *intent.Target) (drivers.Config, error) {
	b, err := json.Marshal(t)
	return drivers.Config{Text: string(b)}, err
}

func (jsonDriver) Parse(c drivers.Config) (*intent.Target, error) {
	var t intent.Target
	return &t, json.Unmarshal([]byte(c.Text), &t)
}

func (jsonDriver) Apply(context.Context, drivers.Session, drivers.Config) error { return nil }

func (jsonDriver) Running(context.Context, drivers.Session) (drivers.Config, error) {
	return drivers.Config{}, nil
}

type nopSession struct{}

func (nopSession) Run(context.Context, string) (string, error) { return "", nil }
func (nopSession) Close() error                                { return nil }

func registry() *drivers.Registry {
	reg := &drivers.Registry{}
	both := []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}
	for _, name := range []string{"linux_nftables", "openvswitch", "cisco_iosxe", "arista_eos", "juniper_junos"} {
		reg.Register(drivers.Info{Name: name, Roles: both, New: func(json.RawMessage) (drivers.Driver, error) { return jsonDriver{}, nil }})
	}
	return reg
}

// env is a store with the example inventory, and a clock.
type env struct {
	st      *store.Store
	clk     *clock
	reg     *drivers.Registry
	devices []inventory.Device
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "ward.db"), store.WithAuditKey(testKey), store.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := os.Open(exampleInventory)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devices, err := inventory.ParseCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, clk: clk, reg: registry(), devices: devices}
}

func (e *env) load(t testing.TB, dir string) *policy.Config {
	t.Helper()
	cfg, diags := policy.NewParser(policy.WithDrivers(e.reg.RolesByName()), policy.WithClock(e.clk.now)).LoadDir(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// apply plans cfg against the store and applies it to every target.
func (e *env) apply(t testing.TB, cfg *policy.Config) {
	t.Helper()
	ctx := context.Background()
	p, diags := plan.Build(ctx, cfg, e.devices, plan.Options{Store: e.st, Drivers: e.reg, Now: e.clk.now})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dial := func(context.Context, string) (drivers.Session, error) { return nopSession{}, nil }
	results, err := plan.Apply(ctx, p, e.reg, e.st, dial, "test", 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Status != "applied" && r.Status != "not_pushed" {
			t.Fatalf("apply %s: %s %s", r.Target, r.Status, r.Error)
		}
	}
}

// inputs evaluates cfg against the inventory, as ward report does.
func (e *env) inputs(t testing.TB, cfg *policy.Config) report.Inputs {
	t.Helper()
	ctx := context.Background()
	eng, diags := engine.New(ctx, cfg, e.devices, engine.WithClock(e.clk.now))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := eng.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pol := inforce.New(cfg, nil, e.clk.now).Load()
	return report.Inputs{Policy: pol, Devices: e.devices, Result: res, Store: e.st, Drivers: e.reg, Now: e.clk.now, WardVersion: "test"}
}

func (e *env) build(t testing.TB, in report.Inputs) *report.Report {
	t.Helper()
	r, err := report.Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// copyPolicy copies the example policy to a temporary directory.
func copyPolicy(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(examplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(examplePolicy, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
