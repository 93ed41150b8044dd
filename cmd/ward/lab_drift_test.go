package main

import (
	"context"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
)

// TestLabScheduledDrift: ward serve's leader has the applied targets
// checked on its schedule, each check a job recorded as a drift check:
// the lab firewall is found in sync, then drifted within an interval or
// two of a chain flushed by hand, then in sync again once apply -refresh
// repaired it; the switch stays in sync throughout.
func TestLabScheduledDrift(t *testing.T) {
	needLab(t)
	_, pol, db := labWorkspace(t)
	both := []string{"-target", "core-fw", "-target", "access-ovs"}
	if code, out, errs := runWard(t, append([]string{"apply", "-policy", pol, "-db", db, "-auto-approve"}, both...)...); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := startServe(t, pol, db, "-drift-interval", "300ms")

	// waitFor waits for a scheduled check of target made after since
	// with status want, and returns when it was made.
	waitFor := func(target, want string, since time.Time) time.Time {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			latest, err := st.LatestDriftChecks(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			c, ok := latest[target]
			if ok && c.Actor == plan.ScheduledDriftActor && c.CheckedAt.After(since) && c.Status == want {
				return c.CheckedAt
			}
			if time.Now().After(deadline) {
				t.Fatalf("no scheduled check of %s found it %s within 15 s; latest %+v\n%s", target, want, c, srv.out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	start := time.Now().Add(-time.Second)
	waitFor("core-fw", store.DriftInSync, start)
	waitFor("access-ovs", store.DriftInSync, start)

	chain := regexp.MustCompile(`chain (\w+) \{`).FindStringSubmatch(labRuleset(t))
	if chain == nil {
		t.Fatal("no chain in the applied table")
	}
	tampered := time.Now()
	if out, err := exec.Command("ip", "netns", "exec", "ward-fw", "nft", "flush", "chain", "inet", "ward", chain[1]).CombinedOutput(); err != nil {
		t.Fatalf("flushing chain %s by hand: %v: %s", chain[1], err, out)
	}
	found := waitFor("core-fw", store.DriftDrift, tampered)
	if lag := found.Sub(tampered); lag > 5*time.Second {
		t.Errorf("the drift was found %s after the change: want within a few intervals of 300 ms", lag)
	}
	waitFor("access-ovs", store.DriftInSync, tampered)

	if code, out, errs := runWard(t, append([]string{"apply", "-policy", pol, "-db", db, "-auto-approve", "-refresh"}, both...)...); code != 0 {
		t.Fatalf("apply -refresh: exit %d\n%s%s", code, out, errs)
	}
	waitFor("core-fw", store.DriftInSync, time.Now())
}
