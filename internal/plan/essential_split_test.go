package plan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
)

// Two firewalls carry the same ruleset. An inventory edit re-zones a pump
// (its essential pump_telemetry pairs are lost once no firewall carries
// them). Planned per target, each plan sees the other firewall still
// carrying the pairs and loses nothing. Applied one after the other, the
// second plan made before the first apply (ward apply's "yes" prompt, or
// two operators), both were pushed and the pairs lost with no approval.
// The second is now refused as stale, and made again it loses the pairs
// and needs a person's approval.
func TestEssentialLostAcrossTwoTargetPlans(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	f.edit("targets.hcl", func(s string) string {
		return s + `
target "edge-fw" {
  driver      = "linux_nftables"
  address     = "10.250.61.9"
  username    = "ward"
  credential  = "edge-fw"
  known_hosts = "/etc/ward/known_hosts"
  role        = "firewall"
}
`
	})
	f.apply(f.plan())
	edgeDials := dialsTo(f.rec, "edge-fw")
	b, err := os.ReadFile("../../examples/hospital/inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	const from = "pump-netlab-01,00:1a:2b:3c:4e:a7,10.61.210.241,infusion_pump,BD,"
	edited := filepath.Join(t.TempDir(), "inventory.csv")
	os.WriteFile(edited, []byte(strings.Replace(string(b), from, strings.Replace(from, ",BD,", ",Acme Medical,", 1), 1)), 0o644)
	if _, err := inventory.ImportFile(context.Background(), f.st, edited, inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if whole := f.plan("core-fw", "edge-fw"); !whole.LosesEssential() {
		t.Fatal("re-zoning the pump on both firewalls loses nothing")
	}
	pA, pB := f.plan("core-fw"), f.plan("edge-fw")
	for _, p := range []*Plan{pA, pB} {
		if err := Gate(p, false, "", "test"); err != nil {
			t.Fatalf("each plan alone loses nothing (the other firewall carries the pairs): %v", err)
		}
	}
	ctx := context.Background()
	resA, err := ApplyWith(ctx, pA, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "alice"})
	if err != nil || len(resA) != 1 || resA[0].Status != "applied" {
		t.Fatalf("apply of core-fw: %+v, %v", resA, err)
	}
	resB, err := ApplyWith(ctx, pB, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "bob"})
	if !errors.Is(err, store.ErrPlanStale) || !strings.Contains(err.Error(), "core-fw: applied by apply run") {
		t.Fatalf("apply of edge-fw, planned before core-fw was applied: %+v, %v; want refused as stale (store.ErrPlanStale), naming core-fw", resB, err)
	}
	if n := dialsTo(f.rec, "edge-fw"); n != edgeDials {
		t.Fatalf("%d session(s) opened to edge-fw by the refused apply, want none", n-edgeDials)
	}
	again := f.plan("edge-fw")
	if !again.LosesEssential() {
		t.Fatal("planned again after core-fw's apply, edge-fw's plan loses nothing: the pump's essential pairs are on no firewall after it")
	}
	lost := false
	for _, l := range again.EssentialLoss {
		lost = lost || l.Device == "pump-netlab-01"
	}
	if !lost {
		t.Errorf("the plan made again loses %v, not pump-netlab-01's pairs", again.EssentialLoss)
	}
	if err := Gate(again, false, "", "test"); err == nil {
		t.Fatal("Gate lets edge-fw's plan made again through without a person's approval")
	}
	if err := Gate(again, true, "pump moved to the vendor's network; checked with pharmacy", "cli:carol"); err != nil || again.Approval == nil {
		t.Fatalf("with an approval: %v, %+v", err, again.Approval)
	}
	// The approval is audited with the apply it approves, in the start's
	// transaction: a start refused (here: pB, stale, approved by a person
	// too) leaves no approval of an apply that never ran.
	if err := Gate(pB, true, "approved on a stale plan", "cli:dave"); err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyWith(ctx, pB, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "dave"}); !errors.Is(err, store.ErrPlanStale) {
		t.Fatalf("the stale plan, approved: %v; want refused as stale", err)
	}
	if res, err := ApplyWith(ctx, again, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "carol"}); err != nil || len(res) != 1 || res[0].Status != "applied" {
		t.Fatalf("the approved plan: %+v, %v", res, err)
	}
	events, err := f.st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var approvals []string
	for _, e := range events {
		if e.Action == "apply.allow_essential_change" {
			approvals = append(approvals, e.Actor)
		}
	}
	if !slices.Equal(approvals, []string{"cli:carol"}) {
		t.Errorf("approvals audited: %v; want carol's only (dave's apply was refused)", approvals)
	}
}

// dialsTo counts the sessions opened to target.
func dialsTo(r *recorder, target string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, d := range r.dials {
		if d == target {
			n++
		}
	}
	return n
}
