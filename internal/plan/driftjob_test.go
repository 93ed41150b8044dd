package plan

import (
	"context"
	"slices"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// Scheduled drift checks: one job per applied target of the policy, each
// recorded by ScheduledDriftActor with the target's own status, reported
// to OnResult, run under the target's owner (the dial carries its fence);
// a target no longer in the policy, or never applied, is not checked.
func TestScheduledDriftChecks(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	ctx := context.Background()
	f.apply(f.plan())
	states, _, err := lastApplied(ctx, f.st)
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]string{"core-fw": states["core-fw"].Config, "access-ovs": "{}\n"}
	reg := runningRegistry(running)
	f.rec.owned = func(ctx context.Context, target string) bool {
		_, fenced := drivers.FenceOf(ctx)
		return fenced && drivers.FenceTarget(ctx) == target
	}

	policy := map[string]string{"core-fw": "linux_nftables", "access-ovs": "openvswitch", "spare-fw": "linux_nftables"}
	q := jobs.NewQueue(f.st, jobs.NewOwner(f.st, jobs.OwnerOptions{}), jobs.QueueOptions{})
	var got []Drift
	HandleDriftJobs(q, DriftChecker{Drivers: reg, Store: f.st, Dial: f.rec.dial,
		DriverOf: func(t string) (string, bool) { d, ok := policy[t]; return d, ok },
		OnResult: func(d Drift) { got = append(got, d) }})
	targets, err := EnqueueDriftChecks(ctx, f.st, q, []string{"core-fw", "access-ovs", "spare-fw"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(targets, []string{"access-ovs", "core-fw"}) {
		t.Fatalf("enqueued checks of %v: want the two applied targets (spare-fw was never applied)", targets)
	}
	// Enqueued again before they ran: still one waiting per target.
	if _, err := EnqueueDriftChecks(ctx, f.st, q, []string{"core-fw", "access-ovs"}); err != nil {
		t.Fatal(err)
	}
	delete(policy, "access-ovs") // taken out of the policy before its check ran
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Target != "core-fw" || got[0].Status != store.DriftInSync {
		t.Fatalf("checks reported: %+v; want core-fw in sync only", got)
	}
	if len(f.rec.unowned) > 0 {
		t.Errorf("dialled without owning the target: %v", f.rec.unowned)
	}
	latest, err := f.st.LatestDriftChecks(ctx, f.st.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c := latest["core-fw"]; c.Status != store.DriftInSync || c.Actor != ScheduledDriftActor {
		t.Errorf("core-fw's recorded check: %+v", c)
	}
	if _, ok := latest["access-ovs"]; ok {
		t.Errorf("access-ovs, out of the policy, was checked: %+v", latest["access-ovs"])
	}
	done, err := f.st.ListJobs(ctx, store.JobDone)
	if err != nil {
		t.Fatal(err)
	}
	checks := 0
	for _, j := range done {
		if j.Kind == DriftJobKind {
			checks++
		}
	}
	if checks != 2 {
		t.Fatalf("%d drift check jobs done; want one per target, though enqueued twice", checks)
	}

	// The device drifts: the next scheduled check says so.
	running["core-fw"] = "{}\n"
	if _, err := EnqueueDriftChecks(ctx, f.st, q, []string{"core-fw"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Status != store.DriftDrift {
		t.Fatalf("second check: %+v", got)
	}
	// Checked again, still the same drift: stored, but the audit log has
	// one event per change (in sync, then drifted), not one per check.
	if _, err := EnqueueDriftChecks(ctx, f.st, q, []string{"core-fw"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Status != store.DriftDrift {
		t.Fatalf("third check: %+v", got)
	}
	events, err := f.st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, e := range events {
		if e.Action == "target.drift_check" && e.Actor == ScheduledDriftActor {
			audited++
		}
	}
	if audited != 2 {
		t.Errorf("%d scheduled drift checks audited; want 2 (the first, then the change to drifted), not one per check", audited)
	}
}
