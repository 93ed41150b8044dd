package store

import (
	"context"
	"testing"
)

// TestLastAppliedPlan: the newest plan a target's state comes from, not
// the newest plan, nor the newest run (a run that applied nothing).
func TestLastAppliedPlan(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		if p, err := st.LastAppliedPlan(ctx); err != nil || p != nil {
			t.Fatalf("empty store: %v %v, want nil, nil", p, err)
		}
		db := st.DB.WithContext(ctx)
		plans := []Plan{{Content: "first"}, {Content: "second"}, {Content: "third"}}
		for i := range plans {
			if err := db.Create(&plans[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		runs := []ApplyRun{{PlanID: plans[0].ID, Status: "applied"}, {PlanID: plans[1].ID, Status: "applied"}, {PlanID: plans[2].ID, Status: "failed"}}
		for i := range runs {
			if err := db.Create(&runs[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		// core-fw was last applied by the second plan, access-sw by the
		// first; the third plan's run applied nothing.
		for _, s := range []TargetState{{Target: "core-fw", Content: "{}", Hash: "a", ApplyRunID: &runs[1].ID}, {Target: "access-sw", Content: "{}", Hash: "b", ApplyRunID: &runs[0].ID}} {
			if err := db.Create(&s).Error; err != nil {
				t.Fatal(err)
			}
		}
		p, err := st.LastAppliedPlan(ctx)
		if err != nil || p == nil || p.ID != plans[1].ID || p.Content != "second" {
			t.Fatalf("got %+v %v, want plan %d (second)", p, err, plans[1].ID)
		}
	})
}
