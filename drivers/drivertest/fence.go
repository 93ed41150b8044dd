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
//   - with token 11, Apply of Second succeeds; without a token, Apply of
//     First succeeds (paths outside internal/jobs.Owner push as before).
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
	if err := d.Apply(ctx, s, fc.First); err != nil {
		t.Fatalf("apply without a token: %v", err)
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
