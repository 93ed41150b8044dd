package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/quarantine/alert"
)

// TestQuarantineQueueCLI: alerts held by the storm guard and an isolate
// waiting for approval are one queue — ward quarantines -status pending
// lists both, ward approve -all-pending enforces both (once: a second run
// finds nothing), and ward release dismisses a held one.
func TestQuarantineQueueCLI(t *testing.T) {
	pol := copyPolicy(t)
	// No targets: nothing to push, so the commands never dial; every
	// automatic action is held for a person.
	if err := os.Remove(filepath.Join(pol, "targets.hcl")); err != nil {
		t.Fatal(err)
	}
	q, err := os.ReadFile(filepath.Join(pol, "quarantine.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, pol, "quarantine.hcl", strings.Replace(string(q), "max_auto_per_hour = 20", "max_auto_per_hour = 0", 1))
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatalf("import: %s", errs)
	}

	// Two alerts held (for the TV and the workstation), one isolate of a
	// pump waiting for approval.
	var stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr}
	m, st, ok := c.quarantineManager(context.Background(), pol, db, false)
	if !ok {
		t.Fatalf("manager: %s", stderr.String())
	}
	for _, ip := range []string{"10.61.190.241", "10.61.100.241"} {
		rs, err := m.Intake(context.Background(), []alert.Alert{{Format: "generic", Source: "ids", ID: ip, Severity: "critical",
			Addresses: []netip.Addr{netip.MustParseAddr(ip)}, Raw: []byte("{}")}})
		if err != nil || !rs[0].Held || rs[0].QuarantineID == 0 {
			t.Fatalf("alert for %s: %+v %v; want held", ip, rs, err)
		}
	}
	m.Close()
	st.Close()
	if code, out, errs := runWard(t, "quarantine", "pump-netlab-01", "-level", "isolate", "-policy", pol, "-db", db); code != 0 || !strings.Contains(out, "waits for approval") {
		t.Fatalf("ward quarantine: %d %s %s", code, out, errs)
	}

	list := func(args ...string) []quarantine.Listed {
		t.Helper()
		code, out, errs := runWard(t, append([]string{"quarantines", "-json", "-policy", pol, "-db", db}, args...)...)
		if code != 0 {
			t.Fatalf("ward quarantines %v: %d %s", args, code, errs)
		}
		var l []quarantine.Listed
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("ward quarantines %v: %v\n%s", args, err, out)
		}
		return l
	}
	pending := list("-status", "pending")
	statuses := map[string]string{}
	for _, q := range pending {
		statuses[q.Device] = q.Status + "/" + q.Level + "/" + q.PendingLevel
	}
	if len(pending) != 3 || statuses["tv-netlab-01"] != "pending/notify/isolate" || statuses["pump-netlab-01"] != "active/restrict/isolate" {
		t.Fatalf("ward quarantines -status pending: %v; want the two held alerts and the pump", statuses)
	}

	// Release dismisses a held one; approve -all-pending takes the rest.
	if code, out, errs := runWard(t, "release", "ws-netlab-01", "-policy", pol, "-db", db); code != 0 {
		t.Fatalf("ward release: %d %s %s", code, out, errs)
	}
	if code, _, errs := runWard(t, "approve", "1", "-all-pending", "-policy", pol, "-db", db); code != 2 || !strings.Contains(errs, "not both") {
		t.Errorf("ward approve ID -all-pending: %d %s; want a usage error", code, errs)
	}
	code, out, errs := runWard(t, "approve", "-all-pending", "-reason", "SOC reviewed the storm", "-policy", pol, "-db", db)
	if code != 0 || strings.Count(out, "approved:") != 2 {
		t.Fatalf("ward approve -all-pending: %d\n%s\n%s", code, out, errs)
	}
	if left := list("-status", "pending"); len(left) != 0 {
		t.Errorf("still pending after approving all: %+v", left)
	}
	levels := map[string]string{}
	for _, q := range list() {
		levels[q.Device] = q.Status + "/" + q.Level
	}
	if len(levels) != 2 || levels["tv-netlab-01"] != "active/isolate" || levels["pump-netlab-01"] != "active/isolate" {
		t.Errorf("open quarantines after approval: %v; want the TV and the pump isolated", levels)
	}
	if code, out, _ := runWard(t, "approve", "-all-pending", "-policy", pol, "-db", db); code != 0 || !strings.Contains(out, "No quarantine waits") {
		t.Errorf("a second ward approve -all-pending: %d %s", code, out)
	}
	if code, _, errs := runWard(t, "release", "ws-netlab-01", "-policy", pol, "-db", db); code != 1 || !strings.Contains(errs, "no open quarantine") {
		t.Errorf("releasing a dismissed quarantine again: %d %s", code, errs)
	}
}
