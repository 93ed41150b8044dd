package nftables

import (
	"errors"
	"testing"

	"github.com/wardnet/ward/drivers"
)

// TestFenceResetReportedOnlyWhenCommitted: a push from another database
// that the host refuses (nft -c rejects the script; a set that does not
// exist) leaves the host's fence as it was, so it must not report a reset
// (internal/jobs.Owner audits each report as target.fence_reset); the
// push that does commit reports it once.
func TestFenceResetReportedOnlyWhenCommitted(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	ctx := t.Context()
	cfg := mustRender(t, d, hospital())
	if err := d.Apply(drivers.WithFenceDomain(ctx, "core-fw", "db-a", 5), s, cfg); err != nil {
		t.Fatal(err)
	}
	var resets []drivers.FenceReset
	ctx = drivers.OnFenceReset(ctx, func(r drivers.FenceReset) { resets = append(resets, r) })
	fromB := drivers.WithFenceDomain(ctx, "core-fw", "db-b", 1)
	fenceDB := func() []int64 {
		t.Helper()
		out, err := s.Run(ctx, "nft list table inet ward_fence")
		if err != nil {
			t.Fatal(err)
		}
		st, err := parseFenceSet(out, fenceDBSet)
		if err != nil {
			t.Fatal(err)
		}
		return st.elems
	}

	if err := d.Apply(fromB, s, breakRule(cfg)); !errors.Is(err, drivers.ErrCheckFailed) {
		t.Fatalf("Apply of a script nft -c rejects: %v, want drivers.ErrCheckFailed", err)
	}
	if err := d.(drivers.SetUpdater).AddToSet(fromB, s, "no_such_set", []string{"10.61.210.12"}); err == nil {
		t.Fatal("AddToSet to a set the table does not have succeeded")
	}
	if got := fenceDB(); len(got) != 1 || got[0] != databaseMark("db-a") {
		t.Fatalf("after two refused pushes from db-b the host's set db holds %v, want db-a's mark only", got)
	}
	if len(resets) != 0 {
		t.Errorf("refused pushes reported %d fence resets, want none (the host's fence did not change): %+v", len(resets), resets)
	}

	if err := d.Apply(fromB, s, cfg); err != nil {
		t.Fatal(err)
	}
	if got := fenceDB(); len(got) != 1 || got[0] != databaseMark("db-b") {
		t.Fatalf("after db-b's push the host's set db holds %v, want db-b's mark", got)
	}
	if n := len(resets); n != 1 || resets[n-1].Database != "db-b" || resets[n-1].Seen != 5 {
		t.Errorf("fence resets reported: %+v, want one (db-b's token 1 over token 5)", resets)
	}
}
