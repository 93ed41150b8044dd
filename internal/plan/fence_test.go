package plan

import (
	"context"
	"encoding/json"
	"testing"
)

// TestApplyAuditsFence: each target's apply event records the fencing
// token its push carried — the one its owner took for it last — so the
// audit log says which owner pushed.
func TestApplyAuditsFence(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	p := f.plan()
	if len(p.Changed()) == 0 {
		t.Fatal("the plan changes no target")
	}
	ctx := context.Background()
	if _, err := ApplyWith(ctx, p, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "test", Parallel: 2}); err != nil {
		t.Fatal(err)
	}
	evs, err := f.st.ListAudit(ctx, 0)
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
		want, err := f.st.FenceOf(ctx, ev.Object)
		if err != nil {
			t.Fatal(err)
		}
		if want <= 0 || d.Fence == nil || *d.Fence != want {
			t.Errorf("target.apply of %s records fence %v, want the target's last token %d", ev.Object, d.Fence, want)
		}
		seen++
	}
	if seen == 0 {
		t.Fatal("no target.apply event")
	}
}
