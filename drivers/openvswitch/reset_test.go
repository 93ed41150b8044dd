package openvswitch

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/localsession"
)

// refuseDryRun answers every ovs-vsctl --dry-run the way the switch does
// when ovsdb rejects the transaction: exit status 1, nothing committed.
type refuseDryRun struct{ drivers.Session }

func (r refuseDryRun) Run(ctx context.Context, command string) (string, error) {
	if strings.Contains(command, "--dry-run") {
		msg := "ovs-vsctl: transaction error: {\"details\":\"refused\",\"error\":\"constraint violation\"}\n"
		return msg, &drivers.ExitError{Command: command, Status: 1, Output: msg}
	}
	return r.Session.Run(ctx, command)
}

// TestFenceResetReportedOnlyWhenCommitted: a push from another database
// that the switch refuses leaves the switch's fence as it was, so it must
// not report a reset (internal/jobs.Owner audits each report as
// target.fence_reset); the push that does commit reports it once.
func TestFenceResetReportedOnlyWhenCommitted(t *testing.T) {
	br, p := bridge(t)
	ctx := t.Context()
	s := localsession.New(localsession.Options{})
	d := New(Options{Bridge: br, Timeout: 2 * time.Second})
	cfg := mustRender(t, d, ward(p[0], p[1], p[2]))
	if err := d.Apply(drivers.WithFenceDomain(ctx, "sw", "db-a", 5), s, cfg); err != nil {
		t.Fatal(err)
	}
	var resets []drivers.FenceReset
	ctx = drivers.OnFenceReset(ctx, func(r drivers.FenceReset) { resets = append(resets, r) })
	fromB := drivers.WithFenceDomain(ctx, "sw", "db-b", 1)
	fenceDB := func() string {
		t.Helper()
		out, err := exec.Command("ovs-vsctl", "--timeout=30", "get", "bridge", br, "external_ids:ward-fence-db").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return strings.Trim(strings.TrimSpace(string(out)), `"`)
	}

	if err := d.Apply(fromB, refuseDryRun{s}, mustRender(t, d, other(p[0], p[2]))); err == nil {
		t.Fatal("Apply whose dry run the switch refused succeeded")
	}
	if got := fenceDB(); got != "db-a" {
		t.Fatalf("after a refused push from db-b, ward-fence-db is %q, want db-a", got)
	}
	if len(resets) != 0 {
		t.Errorf("a refused push reported %d fence resets, want none (the switch's fence did not change): %+v", len(resets), resets)
	}

	// db-a's holder pushes after db-b's read: db-b's wait-until never
	// holds, and ovs-vsctl gives up at its --timeout having committed
	// nothing.
	race := &raceSession{Session: s, t: t, br: br, theirs: 6, db: "db-a"}
	if err := d.Apply(fromB, race, mustRender(t, d, other(p[0], p[2]))); err == nil {
		t.Fatal("Apply from db-b committed although db-a moved the fence after it was read")
	}
	if got := fenceDB(); got != "db-a" {
		t.Fatalf("after a push from db-b that timed out, ward-fence-db is %q, want db-a", got)
	}
	if len(resets) != 0 {
		t.Errorf("a push that timed out on its wait-until reported %d fence resets, want none: %+v", len(resets), resets)
	}

	if err := d.(drivers.VLANSetter).SetPortVLAN(fromB, s, p[0], 999); err != nil {
		t.Fatal(err)
	}
	if got := fenceDB(); got != "db-b" {
		t.Fatalf("after db-b's push, ward-fence-db is %q, want db-b", got)
	}
	if n := len(resets); n != 1 || resets[n-1].Database != "db-b" || resets[n-1].Seen != 6 {
		t.Errorf("fence resets reported: %+v, want one (db-b's token 1 over db-a's token 6)", resets)
	}
}
