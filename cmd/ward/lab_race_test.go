package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

// labRaceFlow is the flow the race test adds and removes, so that every
// apply really replaces the firewall's table.
const labRaceFlow = `
flow "lab_race_toggle" {
  from      = zone.clinical_workstations
  to        = zone.lis
  services  = [service.lab_echo]
  essential = false
  reason    = "apply/quarantine race test: toggled every round"
}
`

// TestLabApplyRacesQuarantine: 100 rounds of ward apply on the lab
// firewall, each a real change of its table (a flow added or removed),
// raced by alerts posted to ward serve that quarantine lab devices and by
// ward release from the CLI. After every round, once the quarantine jobs
// of the round are done — with no reconcile running — every active
// quarantine's address is in the set of its level on the firewall, and no
// released one is: an apply never takes a quarantine away, nor brings a
// released one back.
func TestLabApplyRacesQuarantine(t *testing.T) {
	needLab(t)
	t.Setenv("WARD_ALERT_TOKEN", labAlertToken)
	pol, db := labQuarantineWorkspace(t)
	editPolicy(t, pol, "quarantine.hcl", func(s string) string {
		s = strings.Replace(s, "max_auto_per_hour = 20", "max_auto_per_hour = 100000", 1)
		return strings.Replace(s, `isolate = "15s"`, `isolate = "1h"`, 1)
	})
	// No reconcile after the start: it must not be what repairs a set.
	srv := startServe(t, pol, db, "-reconcile-interval", "0")
	ctx := t.Context()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	devices := labDevices(t)
	toggle := filepath.Join(pol, "lab_race_toggle.hcl")
	prevForward := labForwardChain(t)
	released := map[string]bool{} // device IP -> released and not quarantined since
	for round := range 100 {
		if round%2 == 0 {
			if err := os.WriteFile(toggle, []byte(labRaceFlow), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Remove(toggle); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if code, out, errs := runWard(t, "apply", "-policy", pol, "-db", db, "-target", "core-fw", "-auto-approve"); code != 0 {
				t.Errorf("round %d: ward apply: exit %d\n%s%s", round, code, out, errs)
			}
		})
		// Alerts and a release land at different moments of the apply.
		time.Sleep(time.Duration(round%8) * 40 * time.Millisecond)
		d := devices[round%len(devices)]
		postAlert(t, srv.url, genericAlertJSON(fmt.Sprintf("race-%d", round), d.ip, "critical"))
		delete(released, d.ip)
		if round%3 == 2 {
			victim := devices[(round+len(devices)-2)%len(devices)]
			if labOpenQuarantine(t, st, victim.name) {
				if code, out, errs := runWard(t, "release", victim.name, "-policy", pol, "-db", db); code != 0 {
					t.Errorf("round %d: ward release %s: exit %d\n%s%s", round, victim.name, code, out, errs)
				}
				released[victim.ip] = true
			}
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		forward := labForwardChain(t)
		if forward == prevForward {
			t.Fatalf("round %d: the apply did not change the firewall's forward chain: the race needs a real table change", round)
		}
		prevForward = forward
		labWaitQuarantineJobs(t, st, round)
		labCheckSets(t, st, round, released)
	}
}

// labOpenQuarantine reports whether the device has an open quarantine.
func labOpenQuarantine(t *testing.T, st *store.Store, name string) bool {
	t.Helper()
	d, err := st.DeviceNamed(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	q, err := st.OpenQuarantine(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return q != nil
}

// labWaitQuarantineJobs waits until no quarantine push is queued or
// running: the round's decisions have reached the targets. A push that
// failed (waiting to be retried) fails the test.
func labWaitQuarantineJobs(t *testing.T, st *store.Store, round int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var busy []store.Job
		for _, status := range []string{store.JobQueued, store.JobRunning} {
			js, err := st.ListJobs(t.Context(), status)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range js {
				if j.Kind != quarantine.SyncJobKind {
					continue
				}
				if j.LastError != "" {
					t.Fatalf("round %d: quarantine push job %d to %s failed: %s", round, j.ID, j.Target, j.LastError)
				}
				busy = append(busy, j)
			}
		}
		if len(busy) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("round %d: quarantine jobs still pending after 20 s: %+v", round, busy)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// labCheckSets checks, at once, the firewall's quarantine sets against the
// active quarantines in the store, and that no address released since its
// last alert is in a set.
func labCheckSets(t *testing.T, st *store.Store, round int, released map[string]bool) {
	t.Helper()
	active, err := st.ActiveQuarantines(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string][]string{}
	for _, set := range []string{"quarantine_isolate_v4", "quarantine_restrict_v4"} {
		sets[set] = labSetMembers(t, set)
	}
	for _, q := range active {
		set := map[string]string{quarantine.LevelIsolate: "quarantine_isolate_v4", quarantine.LevelRestrict: "quarantine_restrict_v4"}[q.Level]
		if set == "" {
			continue
		}
		for _, a := range strings.Split(q.Addresses, ",") {
			if a = strings.TrimSpace(a); a != "" && !slices.Contains(sets[set], a) {
				t.Fatalf("round %d: active quarantine #%d (%s) of %s is not in %s on the firewall: %v", round, q.ID, q.Level, a, set, sets[set])
			}
		}
	}
	for ip := range released {
		for set, members := range sets {
			if slices.Contains(members, ip) {
				t.Fatalf("round %d: %s was released but is in %s", round, ip, set)
			}
		}
	}
}

func labSetMembers(t *testing.T, set string) []string {
	t.Helper()
	out, err := exec.CommandContext(context.Background(), "ip", "netns", "exec", "ward-fw", "nft", "list", "set", "inet", "ward", set).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list set %s: %v: %s", set, err, out)
	}
	_, elems, ok := strings.Cut(string(out), "elements = {")
	if !ok {
		return nil
	}
	elems, _, _ = strings.Cut(elems, "}")
	var members []string
	for _, e := range strings.Split(elems, ",") {
		if e = strings.TrimSpace(e); e != "" {
			members = append(members, e)
		}
	}
	return members
}

// labForwardChain is the lab firewall's forward chain as nft prints it.
func labForwardChain(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", "ward-fw", "nft", "list", "chain", "inet", "ward", "forward").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list chain forward: %v: %s", err, out)
	}
	return string(out)
}
