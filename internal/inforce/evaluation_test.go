package inforce_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// The evaluation is made once for a policy and an inventory, made again
// when the inventory changes or after Forget, and refused without a policy.
func TestEvaluateCaches(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := inforce.New(nil, nil, nil).Evaluate(ctx, st); !errors.Is(err, inforce.ErrNoPolicy) {
		t.Fatalf("no policy: %v", err)
	}
	if _, err := inventory.ImportFile(ctx, st, "../../examples/hospital/inventory.csv", inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	roles := map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"}}
	for _, n := range []string{"cisco_iosxe", "arista_eos", "juniper_junos"} {
		roles[n] = []string{"firewall", "access_switch"}
	}
	cfg, diags := policy.NewParser(policy.WithDrivers(roles)).LoadDir("../../examples/hospital/policy")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h := inforce.New(cfg, nil, nil)
	a, err := h.Evaluate(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Devices) == 0 || len(a.Result.Zone) == 0 || a.Policy != h.Load() {
		t.Fatalf("evaluation: %d devices, %d placed", len(a.Devices), len(a.Result.Zone))
	}
	if b, _ := h.Evaluate(ctx, st); b != a {
		t.Error("the same policy and inventory evaluated twice")
	}
	h.Forget()
	b, _ := h.Evaluate(ctx, st)
	if b == a {
		t.Error("Forget kept the evaluation")
	}
	if err := inventory.Remove(ctx, st, a.Devices[0].Name, "test"); err != nil {
		t.Fatal(err)
	}
	c, err := h.Evaluate(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if c == b || len(c.Devices) != len(b.Devices)-1 {
		t.Errorf("after a removal: %d devices, was %d", len(c.Devices), len(b.Devices))
	}
}
