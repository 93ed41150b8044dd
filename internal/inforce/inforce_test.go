package inforce

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/policy"
)

// policyDir copies the example policy to a directory of the test's own, so
// the test can break and change it.
func policyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../../examples/hospital/policy/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("example policy not found: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loader(dir string) func() (*policy.Config, hcl.Diagnostics) {
	return func() (*policy.Config, hcl.Diagnostics) {
		// The drivers the example names (as cmd/ward registers them).
		both := []string{"firewall", "access_switch"}
		drivers := map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"},
			"cisco_iosxe": both, "arista_eos": both, "juniper_junos": both}
		return policy.NewParser(policy.WithDrivers(drivers)).LoadDir(dir)
	}
}

func TestInforceReload(t *testing.T) {
	ctx := context.Background()
	dir := policyDir(t)
	load := loader(dir)
	cfg, diags := load()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h := New(cfg, load, nil)
	first := h.Load()
	if first == nil || first.Gen != 1 || first.Hash != cfg.ContentHash() || first.Config != cfg {
		t.Fatalf("first policy in force = %+v", first)
	}

	// A broken policy leaves the one in force, with the diagnostics.
	if err := os.WriteFile(filepath.Join(dir, "broken.hcl"), []byte("zone \"x\" {\n  criticality = \n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags, err := h.Reload(ctx); !errors.Is(err, ErrInvalid) || !diags.HasErrors() {
		t.Fatalf("reload of a broken policy: err %v, diags %v", err, diags)
	}
	if h.Load() != first {
		t.Fatal("a broken policy replaced the one in force")
	}
	os.Remove(filepath.Join(dir, "broken.hcl"))

	// A failing check keeps the old policy; the error names the check's reason.
	refuse := true
	h.AddCheck(func(ctx context.Context, cfg *policy.Config) error {
		if refuse {
			return errors.New("the quarantine decision does not compile")
		}
		return nil
	})
	if _, _, err := h.Reload(ctx); err == nil || h.Load() != first {
		t.Fatalf("reload refused by a check: err %v, in force gen %d", err, h.Load().Gen)
	}
	refuse = false
	p, _, err := h.Reload(ctx)
	if err != nil || p.Gen != 2 || h.Load() != p || p == first {
		t.Fatalf("reload: %v, gen %d", err, p.Gen)
	}
}

func TestInforceWithoutPolicy(t *testing.T) {
	h := New(nil, nil, nil)
	if h.Load() != nil {
		t.Fatal("a holder started without a policy has one")
	}
	if _, _, err := h.Reload(context.Background()); err == nil {
		t.Fatal("a holder without a directory reloaded")
	}
	cfg, diags := loader(policyDir(t))()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if p, err := h.Set(context.Background(), cfg); err != nil || p.Gen != 1 {
		t.Fatalf("Set: %v", err)
	}
}

// Readers never see a torn policy and generations only grow, with reloads
// racing readers (run with -race).
func TestInforceConcurrentReaders(t *testing.T) {
	dir := policyDir(t)
	cfg, diags := loader(dir)()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h := New(cfg, loader(dir), nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			var last uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := h.Load()
				if p.Gen < last || p.Config == nil || p.Hash != p.Config.ContentHash() {
					t.Errorf("reader saw gen %d after %d, or a policy without its hash", p.Gen, last)
					return
				}
				last = p.Gen
			}
		})
	}
	for range 5 {
		if _, _, err := h.Reload(context.Background()); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if g := h.Load().Gen; g != 6 {
		t.Fatalf("after 5 reloads gen = %d, want 6", g)
	}
}
