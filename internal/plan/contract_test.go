package plan

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// TestPushFalseIsRenderedNeverDialled: a target with push = false is
// planned and rendered, apply reports it not pushed without dialling it,
// and the apply still succeeds.
func TestPushFalseIsRenderedNeverDialled(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	f.edit("targets.hcl", func(s string) string {
		return strings.Replace(s, "  credential  = \"core-fw\"\n", "  credential  = \"core-fw\"\n  push        = false\n", 1)
	})
	p := f.plan()
	tp := p.target("core-fw")
	if tp == nil || !tp.RenderOnly || tp.Config == "" {
		t.Fatalf("core-fw in the plan: %+v; want render only, with its configuration", tp)
	}
	res, err := ApplyWith(context.Background(), p, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "test", Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(res, func(r PushResult) bool { return r.Target == "core-fw" })
	if i < 0 || res[i].Status != "not_pushed" || !strings.Contains(res[i].Error, "push = false") {
		t.Errorf("core-fw result %+v; want not_pushed, saying push = false", res)
	}
	if slices.Contains(f.rec.contacted(), "core-fw") {
		t.Errorf("apply dialled core-fw, which has push = false (dials %v)", f.rec.contacted())
	}
}

// capDriver is the fake driver with limits: the model "tiny" takes two
// rules.
type capDriver struct{ fakeDriver }

func (capDriver) CheckCapacity(t *intent.Target, _ drivers.Config) []drivers.Overflow {
	if t.Model == "tiny" && t.Firewall != nil && len(t.Firewall.Rules) > 2 {
		return []drivers.Overflow{{Resource: "rules", Need: len(t.Firewall.Rules), Limit: 2, Model: t.Model, Source: "the test's data sheet"}}
	}
	return nil
}

var _ drivers.CapacityChecker = capDriver{}

// TestCapacityOverflowFailsTheTargetBeforeAnyPush: a configuration beyond
// its model's limits is reported in the plan, naming the overflow, and
// apply never dials the target.
func TestCapacityOverflowFailsTheTargetBeforeAnyPush(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	var r drivers.Registry
	r.Register(drivers.Info{Name: "linux_nftables", Roles: []drivers.Role{drivers.RoleFirewall},
		New: func(json.RawMessage) (drivers.Driver, error) { return capDriver{}, nil }})
	r.Register(drivers.Info{Name: "openvswitch", Roles: []drivers.Role{drivers.RoleAccessSwitch},
		New: func(json.RawMessage) (drivers.Driver, error) { return fakeDriver{}, nil }})
	for _, name := range []string{"cisco_iosxe", "arista_eos", "juniper_junos"} {
		r.Register(drivers.Info{Name: name, Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	}
	f.reg = &r
	f.edit("targets.hcl", func(s string) string {
		return strings.Replace(s, "  credential  = \"core-fw\"\n", "  credential  = \"core-fw\"\n  model       = \"tiny\"\n", 1)
	})
	p := f.plan()
	tp := p.target("core-fw")
	if tp == nil || len(tp.Overflows) != 1 || !strings.Contains(tp.Unavailable, `model "tiny"`) || !strings.Contains(tp.Unavailable, "the test's data sheet") {
		t.Fatalf("core-fw in the plan: %+v; want one overflow, named with its source", tp)
	}
	res, _ := ApplyWith(context.Background(), p, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "test", Parallel: 2})
	i := slices.IndexFunc(res, func(r PushResult) bool { return r.Target == "core-fw" })
	if i < 0 || res[i].Status != "skipped" {
		t.Errorf("core-fw result %+v; want skipped", res)
	}
	if slices.Contains(f.rec.contacted(), "core-fw") {
		t.Errorf("apply dialled core-fw, whose configuration overflows its model")
	}
}

func (p *Plan) target(name string) *TargetPlan {
	for i := range p.Targets {
		if p.Targets[i].Name == name {
			return &p.Targets[i]
		}
	}
	return nil
}
