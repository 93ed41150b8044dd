package nftables

import (
	"errors"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/localsession"
)

// realNft returns a session in a throwaway network namespace, where nft
// changes nothing on the host. Without root or nft the test is skipped
// (failed with CI=true).
func realNft(t *testing.T) drivers.Session {
	t.Helper()
	s, _ := realNftIn(t)
	return s
}

// realNftIn is realNft, also returning the namespace, for tests that open
// more sessions to it.
func realNftIn(t *testing.T) (drivers.Session, string) {
	t.Helper()
	drivertest.NeedRoot(t, "nft in a network namespace")
	drivertest.NeedCommand(t, "nft", "nftables")
	ns := drivertest.Netns(t)
	// A terminal line holds 4096 characters: no command may need more.
	s := localsession.New(localsession.Options{Netns: ns, MaxLine: 4096})
	t.Cleanup(func() { s.Close() })
	return s, ns
}

// breakRule makes the script refer to a set it does not declare, which only
// the kernel's check (nft -c) notices: the script still parses.
func breakRule(c drivers.Config) drivers.Config {
	c.Text = strings.Replace(c.Text, "ct state invalid drop\n", "ct state invalid drop\n\t\tip saddr @no_such_set_v4 accept\n", 1)
	return c
}

func TestConformance(t *testing.T) {
	s := realNft(t)
	// A small chunk size makes Apply copy the script in many pieces.
	d := New(Options{ChunkSize: 500})
	drivertest.TestDriverWith(t, d, s, []drivertest.Case{
		{Name: "hospital", Target: hospital()},
		{Name: "permissive", Target: permissive()},
		{Name: "unknown-set", Target: hospital(), Corrupt: breakRule},
		{Name: "syntax-error", Target: permissive(), Corrupt: func(c drivers.Config) drivers.Config {
			c.Text = strings.Replace(c.Text, "policy accept;", "policy acept;", 1)
			return c
		}},
	}, drivertest.Options{QuarantineAddr: "10.61.210.12"})
}

// TestApplyIsAtomic checks, with nft's own listing rather than the driver's,
// that a script nft refuses leaves the table exactly as it was.
func TestApplyIsAtomic(t *testing.T) {
	s := realNft(t)
	// A temporary directory of the test's own: other tests (the lab's
	// firewall namespace shares this host's /tmp) write theirs in /tmp.
	tmp := t.TempDir()
	d := New(Options{TempDir: tmp})
	ctx := t.Context()
	good := mustRender(t, d, hospital())
	if err := d.Apply(ctx, s, good); err != nil {
		t.Fatal(err)
	}
	before, err := s.Run(ctx, "nft list table inet ward")
	if err != nil {
		t.Fatal(err)
	}
	bad := mustRender(t, d, permissive())
	err = d.Apply(ctx, s, breakRule(bad))
	if !errors.Is(err, drivers.ErrCheckFailed) {
		t.Fatalf("Apply of a broken script: err = %v, want ErrCheckFailed", err)
	}
	for _, want := range []string{"nft -c -f", "no_such_set_v4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q (the step and the device's output)", err, want)
		}
	}
	after, err := s.Run(ctx, "nft list table inet ward")
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("a refused script changed the table (-before +after):\n%s", drivertest.Diff(before, after))
	}
	if out, _ := s.Run(ctx, "ls -d "+tmp+"/ward-nft.* 2>/dev/null"); out != "" {
		t.Errorf("Apply left its temporary files behind: %s", out)
	}
}

func TestQuarantineSets(t *testing.T) {
	s := realNft(t)
	d := New(Options{})
	su := d.(drivers.SetUpdater)
	ctx := t.Context()
	cfg := mustRender(t, d, hospital())
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	members := func(set string) string {
		t.Helper()
		out, err := s.Run(ctx, "nft list set inet ward "+set)
		if err != nil {
			t.Fatal(err)
		}
		_, elems, _ := strings.Cut(out, "elements = {")
		elems, _, _ = strings.Cut(elems, "}")
		return strings.Join(strings.Fields(elems), " ")
	}

	if err := su.AddToSet(ctx, s, "quarantine_isolate", []string{"10.61.210.12", "2001:db8:61:210::12", "::ffff:10.61.210.13"}); err != nil {
		t.Fatal(err)
	}
	if err := su.AddToSet(ctx, s, "quarantine_isolate", []string{"10.61.210.12"}); err != nil {
		t.Fatalf("adding a member again: %v", err)
	}
	if got, want := members("quarantine_isolate_v4"), "10.61.210.12, 10.61.210.13"; got != want {
		t.Errorf("quarantine_isolate_v4 = %q, want %q", got, want)
	}
	if got, want := members("quarantine_isolate_v6"), "2001:db8:61:210::12"; got != want {
		t.Errorf("quarantine_isolate_v6 = %q, want %q", got, want)
	}

	// A full apply keeps the quarantine, and reports the members it kept.
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatalf("Apply with quarantined addresses: %v", err)
	}
	if got, want := members("quarantine_isolate_v4"), "10.61.210.12, 10.61.210.13"; got != want {
		t.Errorf("after Apply, quarantine_isolate_v4 = %q, want the members kept: %q", got, want)
	}
	running, err := d.Running(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if running != cfg {
		t.Errorf("Running with quarantined addresses differs from the applied configuration (quarantine is not drift):\n%s", drivertest.Diff(cfg.Text, running.Text))
	}
	q, err := d.(drivers.QuarantineReader).ReadQuarantine(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(q.Sets["quarantine_isolate"], " "), "10.61.210.12 10.61.210.13 2001:db8:61:210::12"; got != want || len(q.Sets) != 1 {
		t.Errorf("ReadQuarantine = %v, want quarantine_isolate: %s", q.Sets, want)
	}

	if err := su.RemoveFromSet(ctx, s, "quarantine_isolate", []string{"10.61.210.12", "10.61.210.99", "2001:db8:61:210::12"}); err != nil {
		t.Fatalf("RemoveFromSet (one address not a member): %v", err)
	}
	if got, want := members("quarantine_isolate_v4"), "10.61.210.13"; got != want {
		t.Errorf("after RemoveFromSet, quarantine_isolate_v4 = %q, want %q", got, want)
	}

	err = su.AddToSet(ctx, s, "no_such_set", []string{"10.0.0.1"})
	if err == nil || !strings.Contains(err.Error(), "no_such_set_v4") {
		t.Errorf("AddToSet to a missing set: err = %v, want one naming no_such_set_v4", err)
	}
	if err := su.AddToSet(ctx, s, "quarantine_isolate", []string{"pump-12"}); err == nil {
		t.Error("AddToSet of a name that is no address succeeded")
	}
}

// mustRender renders tg with d, failing the test on an error.
func mustRender(t testing.TB, d drivers.Driver, tg *intent.Target) drivers.Config {
	t.Helper()
	cfg, err := d.Render(tg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
