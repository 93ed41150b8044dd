package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
)

// BenchmarkLabApply pushes the example policy's firewall table to the lab
// firewall over SSH (core-fw), as ward apply does: dial (login, prompt),
// copy the script, nft -c, nft -f, read back. "apply-only" reuses one open
// session. Needs root and the lab; the lab is brought up if it is down.
func BenchmarkLabApply(b *testing.B) {
	ctx := context.Background()
	needLab(b)
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	cfg, diags := c.loadPolicy(examplePolicy)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	dir := b.TempDir()
	st, ok := c.openStore(ctx, "sqlite://"+dir+"/ward.db")
	if !ok {
		b.Fatal("store")
	}
	defer st.Close()
	if code, _, errs := runWard(b, "inventory", "import", exampleInventory, "-db", "sqlite://"+dir+"/ward.db"); code != 0 {
		b.Fatal(errs)
	}
	p, _, ok := c.makePlan(ctx, st, examplePolicy, []string{"core-fw"}, false)
	if !ok || len(p.Changed()) != 1 {
		b.Fatal("plan for core-fw")
	}
	tp := p.Changed()[0]
	info, _ := newRegistry().Lookup(tp.Driver)
	d, err := info.Open(tp.Intent.Options)
	if err != nil {
		b.Fatal(err)
	}
	dial := dialer(cfg)
	applyOnce := func(s drivers.Session) {
		if err := d.Apply(ctx, s, drivers.Config{Text: tp.Config}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("dial+apply", func(b *testing.B) {
		for b.Loop() {
			s, err := dial(ctx, "core-fw")
			if err != nil {
				b.Fatal(err)
			}
			applyOnce(s)
			s.Close()
		}
	})
	b.Run("apply-only", func(b *testing.B) {
		s, err := dial(ctx, "core-fw")
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for b.Loop() {
			applyOnce(s)
		}
	})
}
