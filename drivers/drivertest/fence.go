package drivertest

import (
	"context"
	"errors"
	"testing"

	"github.com/wardnet/ward/drivers"
)

// FenceCase describes the fencing case for a driver that checks fencing
// tokens on the device (drivers/fence.go).
type FenceCase struct {
	// First and Second are two different valid configurations.
	First, Second drivers.Config
	// QuarantineAddr / QuarantinePort as in Options: the stale quarantine
	// change tried (SetUpdater / VLANSetter). Set is the quarantine set,
	// VLAN the quarantine VLAN.
	QuarantineAddr, Set string
	QuarantinePort      string
	VLAN                int
}

// TestFencing checks that a device refuses a push whose fencing token is
// lower than one it has seen, and that the refusal changes nothing:
//
//   - Apply of First with token 10 succeeds;
//   - with token 9, Apply of Second and each quarantine change the driver
//     has fail with drivers.ErrFenced, and the running configuration and
//     the quarantine in force are as before;
//   - with token 11, Apply of Second succeeds;
//   - a push from another database (WithFenceDomain) with token 5 is not
//     stale but a reset: Apply of First succeeds and is reported
//     (drivers.ReportFenceReset) as replacing token 11; that database's
//     token 4 after it is refused like any stale token (a restored
//     database), changing nothing;
//   - without a token, Apply of First succeeds (paths outside
//     internal/jobs.Owner push as before).
func TestFencing(t *testing.T, d drivers.Driver, s drivers.Session, fc FenceCase) {
	t.Helper()
	ctx := t.Context()
	at := func(token int64) context.Context { return drivers.WithFence(ctx, "conformance", token) }
	if err := d.Apply(at(10), s, fc.First); err != nil {
		t.Fatalf("apply with token 10: %v", err)
	}
	before, err := d.Running(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	rd, _ := d.(drivers.QuarantineReader)
	var qBefore drivers.QuarantineState
	if rd != nil {
		if qBefore, err = rd.ReadQuarantine(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	stale := []struct {
		name string
		push func(ctx context.Context) error
	}{
		{"apply", func(ctx context.Context) error { return d.Apply(ctx, s, fc.Second) }},
	}
	if su, ok := d.(drivers.SetUpdater); ok && fc.QuarantineAddr != "" {
		stale = append(stale,
			struct {
				name string
				push func(ctx context.Context) error
			}{"add to set", func(ctx context.Context) error { return su.AddToSet(ctx, s, fc.Set, []string{fc.QuarantineAddr}) }},
			struct {
				name string
				push func(ctx context.Context) error
			}{"remove from set", func(ctx context.Context) error {
				return su.RemoveFromSet(ctx, s, fc.Set, []string{fc.QuarantineAddr})
			}})
	}
	if vs, ok := d.(drivers.VLANSetter); ok && fc.QuarantinePort != "" {
		stale = append(stale, struct {
			name string
			push func(ctx context.Context) error
		}{"set port VLAN", func(ctx context.Context) error { return vs.SetPortVLAN(ctx, s, fc.QuarantinePort, fc.VLAN) }})
	}
	for _, st := range stale {
		err := st.push(at(9))
		if !errors.Is(err, drivers.ErrFenced) {
			t.Errorf("%s with stale token 9 after 10: %v, want drivers.ErrFenced", st.name, err)
		}
		checkRunning(t, d, s, before, st.name+" refused with a stale token")
		if rd != nil {
			q, err := rd.ReadQuarantine(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if !sameQuarantine(q, qBefore) {
				t.Errorf("%s refused with a stale token changed the quarantine: %+v, was %+v", st.name, q, qBefore)
			}
		}
	}
	if err := d.Apply(at(11), s, fc.Second); err != nil {
		t.Fatalf("apply with token 11 after 10: %v", err)
	}
	checkFenceReset(t, d, s, fc)
	if err := d.Apply(ctx, s, fc.First); err != nil {
		t.Fatalf("apply without a token: %v", err)
	}
}

// checkFenceReset: after token 11 of the first database, a new database's
// token 5 resets the fence, reported once; its token 4 is then stale.
func checkFenceReset(t *testing.T, d drivers.Driver, s drivers.Session, fc FenceCase) {
	t.Helper()
	var resets []drivers.FenceReset
	ctx := drivers.OnFenceReset(t.Context(), func(r drivers.FenceReset) { resets = append(resets, r) })
	other := func(token int64) context.Context {
		return drivers.WithFenceDomain(ctx, "conformance", "a-new-database", token)
	}
	if err := d.Apply(other(5), s, fc.First); err != nil {
		t.Fatalf("apply with token 5 from a new database after token 11 from another: %v, want the fence reset", err)
	}
	if len(resets) != 1 || resets[0].Seen != 11 || resets[0].Token != 5 || resets[0].Database != "a-new-database" || resets[0].Target != "conformance" {
		t.Errorf("fence resets reported: %+v, want one from token 11 to token 5 of a-new-database", resets)
	}
	before, err := d.Running(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(other(4), s, fc.Second); !errors.Is(err, drivers.ErrFenced) {
		t.Errorf("apply with token 4 after token 5 of the same new database: %v, want drivers.ErrFenced", err)
	}
	checkRunning(t, d, s, before, "apply refused with a stale token of the new database")
	if len(resets) != 1 {
		t.Errorf("a refused push reported a fence reset: %+v", resets[1:])
	}
	if err := d.Apply(other(6), s, fc.First); err != nil || len(resets) != 1 {
		t.Errorf("apply with token 6 of the new database after its 5: %v, resets %+v; want nil and no new reset", err, resets)
	}
}

func sameQuarantine(a, b drivers.QuarantineState) bool {
	if len(a.Sets) != len(b.Sets) || len(a.Ports) != len(b.Ports) {
		return false
	}
	for k, v := range a.Sets {
		w, ok := b.Sets[k]
		if !ok || len(v) != len(w) {
			return false
		}
		for i := range v {
			if v[i] != w[i] {
				return false
			}
		}
	}
	for k, v := range a.Ports {
		if w, ok := b.Ports[k]; !ok || v != w {
			return false
		}
	}
	return true
}
