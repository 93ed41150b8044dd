package drivertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// checkParse checks that cfg parses, and that its model is a fixed point:
// rendered and parsed again, it enforces the same.
func checkParse(t *testing.T, d drivers.Driver, cfg drivers.Config) {
	t.Helper()
	m, err := d.Parse(cfg)
	if err != nil {
		t.Fatalf("Parse of the rendered configuration: %v", err)
	}
	again, err := d.Render(m)
	if err != nil {
		t.Fatalf("Render of the parsed model: %v", err)
	}
	m2, err := d.Parse(again)
	if err != nil {
		t.Fatalf("Parse of the re-rendered model: %v", err)
	}
	if !intent.SameEnforcement(m, m2) {
		t.Errorf("the parsed model does not survive Render and Parse (-rendered +re-rendered):\n%s", Diff(cfg.Text, again.Text))
	}
}

// capabilities tests the optional interfaces of a driver on a device
// running last (rendered: cfg); other is another valid case's
// configuration.
type capabilities struct {
	d          drivers.Driver
	s          drivers.Session
	o          Options
	last       Case
	cfg, other drivers.Config
}

func (c capabilities) run(t *testing.T, valid []Case, rendered map[string]drivers.Config) {
	if su, ok := c.d.(drivers.SetUpdater); ok {
		t.Run("quarantine-sets", func(t *testing.T) { c.sets(t, su) })
	}
	if vs, ok := c.d.(drivers.VLANSetter); ok {
		t.Run("quarantine-vlan", func(t *testing.T) { c.vlan(t, vs) })
	}
	if cp, ok := c.d.(drivers.Checkpointer); ok {
		t.Run("checkpoint-rollback", func(t *testing.T) { c.checkpoint(t, cp) })
	}
	if cs, ok := c.d.(drivers.ConfigSessioner); ok {
		t.Run("config-session", func(t *testing.T) { c.session(t, cs) })
	}
	if cc, ok := c.d.(drivers.CommitConfirmer); ok {
		t.Run("commit-confirmed", func(t *testing.T) { c.confirmed(t, cc) })
	}
	if cc, ok := c.d.(drivers.CapacityChecker); ok {
		t.Run("capacity", func(t *testing.T) { c.capacity(t, cc, valid, rendered) })
	}
}

// back returns the device to the last case, whatever a capability test
// left it in.
func (c capabilities) back(t *testing.T) {
	t.Helper()
	if err := c.d.Apply(context.WithoutCancel(t.Context()), c.s, c.cfg); err != nil {
		t.Errorf("re-applying the last case: %v", err)
	}
}

func (c capabilities) sets(t *testing.T, su drivers.SetUpdater) {
	ctx := t.Context()
	fw := c.last.Target.Firewall
	if fw == nil {
		t.Skip("the last valid case has no firewall intent") // a switch-only driver with SetUpdater would be odd
	}
	if c.o.QuarantineAddr == "" {
		t.Fatal("the driver is a SetUpdater: give Options.QuarantineAddr")
	}
	rd, ok := c.d.(drivers.QuarantineReader)
	if !ok {
		t.Fatal("a SetUpdater must also be a QuarantineReader: Ward reconciles its record with the device")
	}
	before, err := rd.ReadQuarantine(ctx, c.s)
	if err != nil {
		t.Fatalf("ReadQuarantine: %v", err)
	}
	for _, set := range []string{fw.Quarantine.RestrictSet, fw.Quarantine.IsolateSet} {
		if set == "" {
			continue
		}
		addr := c.o.QuarantineAddr
		if err := su.AddToSet(ctx, c.s, set, []string{addr}); err != nil {
			t.Fatalf("AddToSet %s: %v", set, err)
		}
		checkMember(t, rd, c.s, set, addr, true, "after AddToSet")
		checkRunning(t, c.d, c.s, c.cfg, "a quarantine member is drift (-applied +running)")
		if err := c.d.Apply(ctx, c.s, c.cfg); err != nil {
			t.Fatalf("Apply with a device in quarantine: %v", err)
		}
		checkMember(t, rd, c.s, set, addr, true, "after an Apply of the same configuration (an apply must never release a quarantined device)")
		if err := su.RemoveFromSet(ctx, c.s, set, []string{addr}); err != nil {
			t.Fatalf("RemoveFromSet %s: %v", set, err)
		}
		checkMember(t, rd, c.s, set, addr, false, "after RemoveFromSet")
	}
	after, err := rd.ReadQuarantine(ctx, c.s)
	if err != nil {
		t.Fatalf("ReadQuarantine: %v", err)
	}
	for set, members := range before.Sets {
		if !slices.Equal(members, after.Sets[set]) {
			t.Errorf("set %s: members %v before the test, %v after", set, members, after.Sets[set])
		}
	}
}

func checkMember(t *testing.T, rd drivers.QuarantineReader, s drivers.Session, set, addr string, want bool, when string) {
	t.Helper()
	q, err := rd.ReadQuarantine(t.Context(), s)
	if err != nil {
		t.Fatalf("ReadQuarantine %s: %v", when, err)
	}
	got := slices.ContainsFunc(q.Sets[set], func(m string) bool { return m == addr || m == addr+"/32" || m == addr+"/128" })
	if got != want {
		t.Errorf("%s: %s in set %s = %v, want %v (members %v)", when, addr, set, got, want, q.Sets[set])
	}
}

func (c capabilities) vlan(t *testing.T, vs drivers.VLANSetter) {
	ctx := t.Context()
	sw := c.last.Target.Switch
	if sw == nil {
		t.Skip("the last valid case has no access-switch intent")
	}
	if c.o.QuarantinePort == "" || sw.QuarantineVLAN == 0 {
		t.Fatal("the driver is a VLANSetter: give Options.QuarantinePort and a quarantine VLAN in the last case")
	}
	i := slices.IndexFunc(sw.Ports, func(p intent.PortVLAN) bool { return p.Port == c.o.QuarantinePort })
	if i < 0 {
		t.Fatalf("Options.QuarantinePort %q is not a port of the last case", c.o.QuarantinePort)
	}
	home := sw.Ports[i].VLAN
	rd, ok := c.d.(drivers.QuarantineReader)
	if !ok {
		t.Fatal("a VLANSetter must also be a QuarantineReader: Ward reconciles its record with the device")
	}
	if err := vs.SetPortVLAN(ctx, c.s, c.o.QuarantinePort, sw.QuarantineVLAN); err != nil {
		t.Fatalf("SetPortVLAN to the quarantine VLAN: %v", err)
	}
	checkPort := func(wantIn bool, when string) {
		t.Helper()
		q, err := rd.ReadQuarantine(ctx, c.s)
		if err != nil {
			t.Fatalf("ReadQuarantine %s: %v", when, err)
		}
		got, in := q.Ports[c.o.QuarantinePort]
		if in != wantIn || (in && got != home) {
			t.Errorf("%s: ReadQuarantine ports %v; want %s in quarantine %v with home VLAN %d", when, q.Ports, c.o.QuarantinePort, wantIn, home)
		}
	}
	checkPort(true, "after SetPortVLAN")
	checkRunning(t, c.d, c.s, c.cfg, "a port in the quarantine VLAN is drift (-applied +running)")
	if err := c.d.Apply(ctx, c.s, c.cfg); err != nil {
		t.Fatalf("Apply with a port in quarantine: %v", err)
	}
	checkPort(true, "after an Apply of the same configuration (an apply must never release a quarantined port)")
	if err := vs.SetPortVLAN(ctx, c.s, c.o.QuarantinePort, home); err != nil {
		t.Fatalf("SetPortVLAN home: %v", err)
	}
	checkPort(false, "after SetPortVLAN home")
}

func (c capabilities) checkpoint(t *testing.T, cp drivers.Checkpointer) {
	ctx := t.Context()
	defer c.back(t)
	saved, err := cp.Checkpoint(ctx, c.s)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if err := c.d.Apply(ctx, c.s, c.other); err != nil {
		t.Fatalf("Apply of another case after the checkpoint: %v", err)
	}
	checkRunning(t, c.d, c.s, c.other, "after Apply (-applied +running)")
	if err := cp.Rollback(ctx, c.s, saved); err != nil {
		t.Fatalf("Rollback to checkpoint %q: %v", saved.ID, err)
	}
	checkRunning(t, c.d, c.s, c.cfg, "after Rollback the checkpointed configuration does not run (-checkpointed +running)")
}

func (c capabilities) session(t *testing.T, cs drivers.ConfigSessioner) {
	ctx := t.Context()
	defer c.back(t)
	st, err := cs.Stage(ctx, c.s, c.other)
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	checkRunning(t, c.d, c.s, c.cfg, "a staged configuration changed the running one before Commit (-before +running)")
	if err := cs.Abort(ctx, c.s, st); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	checkRunning(t, c.d, c.s, c.cfg, "an aborted session changed the running configuration (-before +running)")
	if st, err = cs.Stage(ctx, c.s, c.other); err != nil {
		t.Fatalf("Stage again: %v", err)
	}
	if err := cs.Commit(ctx, c.s, st); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	checkRunning(t, c.d, c.s, c.other, "after Commit the staged configuration does not run (-staged +running)")
}

func (c capabilities) confirmed(t *testing.T, cc drivers.CommitConfirmer) {
	ctx := t.Context()
	defer c.back(t)
	if c.o.Advance == nil {
		t.Fatal("the driver is a CommitConfirmer: give Options.Advance, so the suite can wait out the device's timer")
	}
	const within = 2 * time.Minute
	p, err := cc.ApplyConfirmed(ctx, c.s, c.other, within)
	if err != nil {
		t.Fatalf("ApplyConfirmed: %v", err)
	}
	checkRunning(t, c.d, c.s, c.other, "after ApplyConfirmed (-applied +running)")
	if err := cc.Confirm(ctx, c.s, p); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	c.o.Advance(2 * within)
	checkRunning(t, c.d, c.s, c.other, "a confirmed change was rolled back when its timer passed (-confirmed +running)")

	if _, err := cc.ApplyConfirmed(ctx, c.s, c.cfg, within); err != nil {
		t.Fatalf("ApplyConfirmed (left unconfirmed): %v", err)
	}
	checkRunning(t, c.d, c.s, c.cfg, "after ApplyConfirmed (-applied +running)")
	c.o.Advance(2 * within)
	checkRunning(t, c.d, c.s, c.other, "an unconfirmed change was not rolled back by the device once its timer passed (-previous +running)")
}

func (c capabilities) capacity(t *testing.T, cc drivers.CapacityChecker, valid []Case, rendered map[string]drivers.Config) {
	for _, v := range valid {
		if over := cc.CheckCapacity(v.Target, rendered[v.Name]); len(over) > 0 {
			t.Errorf("case %s (model %q) overflows: %v", v.Name, v.Target.Model, over)
		}
	}
	if c.o.Overflow == nil {
		t.Fatal("the driver is a CapacityChecker: give Options.Overflow, an intent beyond its model's limits")
	}
	cfg, err := c.d.Render(c.o.Overflow)
	if err != nil {
		t.Fatalf("Render of the overflowing intent: %v", err)
	}
	over := cc.CheckCapacity(c.o.Overflow, cfg)
	if len(over) == 0 {
		t.Fatalf("CheckCapacity found no overflow in Options.Overflow (model %q)", c.o.Overflow.Model)
	}
	for _, o := range over {
		if o.Need <= o.Limit || o.Source == "" || o.Resource == "" {
			t.Errorf("overflow %+v: want Need > Limit, the resource and the limit's source", o)
		}
	}
}

// ParseRoundTrip is the property a driver's Parse fuzzer checks on each
// input: Parse may refuse text, but a model it accepts, if it renders,
// parses back to the same enforcement.
func ParseRoundTrip(t *testing.T, d drivers.Driver, text string) {
	t.Helper()
	m, err := d.Parse(drivers.Config{Text: text})
	if err != nil {
		return
	}
	cfg, err := d.Render(m)
	if err != nil {
		return
	}
	again, err := d.Parse(cfg)
	if err != nil {
		t.Fatalf("Parse accepted a configuration whose model renders to one it refuses: %v\ninput:\n%s\nrendered:\n%s", err, text, cfg.Text)
	}
	if !intent.SameEnforcement(m, again) {
		t.Fatalf("a parsed model does not survive Render and Parse\ninput:\n%s\nrendered:\n%s", text, cfg.Text)
	}
}
