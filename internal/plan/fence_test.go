package plan

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/wardnet/ward/drivers"
)

// fencingOwner hands fn a fencing token per target, as jobs.Owner does.
type fencingOwner struct{ tokens map[string]int64 }

func (o fencingOwner) Do(ctx context.Context, target, _ string, fn func(context.Context) error) error {
	return fn(drivers.WithFence(ctx, target, o.tokens[target]))
}

// TestApplyAuditsFence: each target's apply event records the fencing
// token its push carried, so the audit log says which owner pushed.
func TestApplyAuditsFence(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	p := f.plan()
	owner := fencingOwner{tokens: map[string]int64{}}
	for i, tp := range p.Changed() {
		owner.tokens[tp.Name] = int64(100 + i)
	}
	if len(owner.tokens) == 0 {
		t.Fatal("the plan changes no target")
	}
	if _, err := ApplyWith(context.Background(), p, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "test", Parallel: 2, Owner: owner}); err != nil {
		t.Fatal(err)
	}
	evs, err := f.st.ListAudit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, ev := range evs {
		if ev.Action != "target.apply" {
			continue
		}
		var d struct{ Fence *int64 }
		if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
			t.Fatal(err)
		}
		if want, ok := owner.tokens[ev.Object]; !ok || d.Fence == nil || *d.Fence != want {
			t.Errorf("target.apply of %s records fence %v, want %d", ev.Object, d.Fence, want)
		}
		seen++
	}
	if seen == 0 {
		t.Fatal("no target.apply event")
	}
}
