package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/internal/intent"
)

// TestLabConformance runs the driver conformance suite over SSH against the
// lab's firewall and switch, with the example policy's intent for each and
// a variant of it, so both drivers keep their contract on the real targets
// through the real session (sudo, a login shell, terminal line limits).
func TestLabConformance(t *testing.T) {
	needLab(t)
	_, pol, db := labWorkspace(t)
	ctx := context.Background()
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	st, ok := c.openStore(ctx, db)
	if !ok {
		t.Fatal("store")
	}
	defer st.Close()
	p, cfg, ok := c.makePlan(ctx, st, pol, []string{"core-fw", "access-ovs"}, false)
	if !ok {
		t.Fatal("plan")
	}
	targets := map[string]*intent.Target{}
	for _, tp := range p.Targets {
		targets[tp.Name] = tp.Intent
	}
	dial := dialer(cfg)
	reg := newRegistry()
	for _, name := range []string{"core-fw", "access-ovs"} {
		t.Run(name, func(t *testing.T) {
			example := targets[name]
			if example == nil {
				t.Fatalf("the plan has no target %s", name)
			}
			s, err := dial(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			// A cleanup, not a defer: the suite's own cleanup (restoring the
			// target) runs after the test function returns, and first.
			t.Cleanup(func() { s.Close() })
			info, _ := reg.Lookup(example.Driver)
			variant, invalid := vary(t, example)
			d, err := info.Open(example.Options)
			if err != nil {
				t.Fatal(err)
			}
			// The quarantine cases use a documentation address (RFC 5737),
			// and the first port of the variant, the last valid case.
			o := drivertest.Options{QuarantineAddr: "192.0.2.77"}
			if variant.Switch != nil && len(variant.Switch.Ports) > 0 {
				o.QuarantinePort = variant.Switch.Ports[0].Port
			}
			drivertest.TestDriverWith(t, d, s, []drivertest.Case{
				{Name: "example-policy", Target: example},
				{Name: "variant", Target: variant},
				{Name: "refused", Target: invalid, Invalid: invalid != nil && invalid.Switch != nil,
					Corrupt: corruptIfFirewall(invalid)},
			}, o)
		})
	}
}

// vary returns a different valid intent for the same target, and one the
// device must refuse.
func vary(t *testing.T, in *intent.Target) (variant, invalid *intent.Target) {
	t.Helper()
	b := *in
	bad := *in
	switch {
	case in.Firewall != nil:
		fw := *in.Firewall
		fw.Rules = fw.Rules[:len(fw.Rules)/2]
		b.Firewall = &fw
	case in.Switch != nil:
		sw := *in.Switch
		sw.Ports = sw.Ports[1:]
		b.Switch = &sw
		badSw := *in.Switch
		badSw.Ports = append(append([]intent.PortVLAN(nil), in.Switch.Ports...), intent.PortVLAN{Port: "wardnosuchport", VLAN: 210})
		bad.Switch = &badSw
	default:
		t.Fatalf("target %s is neither firewall nor switch", in.Name)
	}
	return &b, &bad
}

func corruptIfFirewall(in *intent.Target) func(drivers.Config) drivers.Config {
	if in.Firewall == nil {
		return nil
	}
	return func(c drivers.Config) drivers.Config {
		c.Text = strings.Replace(c.Text, "ct state invalid drop", "ct state invalid drop\n\t\tip saddr @no_such_set accept", 1)
		return c
	}
}
