package nftables

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
)

func TestFencingConformance(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	first := mustRender(t, d, hospital())
	second := mustRender(t, d, permissive())
	drivertest.TestFencing(t, d, s, drivertest.FenceCase{First: first, Second: second, QuarantineAddr: "10.61.210.12", Set: "quarantine_isolate"})
}

// TestFenceMovedDuringPush moves the host's token past the push's after
// the driver read it and before nft commits, the way a holder that took the
// target over meanwhile would: the compare-and-set fails, the push is
// refused with ErrFenced, and nft's own listing shows nothing changed.
// Without a token, no fence table is made.
func TestFenceMovedDuringPush(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	ctx := t.Context()
	cfg := mustRender(t, d, hospital())
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Run(ctx, "nft list tables"); err != nil || strings.Contains(out, "ward_fence") {
		t.Fatalf("an apply without a fencing token made the fence table: %q %v", out, err)
	}
	other := mustRender(t, d, permissive())
	at := func(token int64) context.Context { return drivers.WithFence(ctx, "core-fw", token) }
	cases := []struct {
		name   string
		prefix string // the command before which the other holder acts
	}{
		{"apply-before-check", "nft -c -f"},
		{"apply-before-commit", "nft -f"},
		{"add-to-set", "nft '"},
	}
	token := int64(1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := d.Apply(at(token), s, cfg); err != nil {
				t.Fatal(err)
			}
			before, err := s.Run(ctx, "nft list table inet ward")
			if err != nil {
				t.Fatal(err)
			}
			mine, theirs := token+1, token+2
			token += 2
			hs := &hookSession{Session: s, prefix: tc.prefix, before: func() {
				if _, err := s.Run(ctx, "nft 'flush set inet ward_fence epoch; add element inet ward_fence epoch { "+itoa(theirs)+" }'"); err != nil {
					t.Error(err)
				}
			}}
			d := New(Options{TempDir: t.TempDir()})
			var push func(context.Context) error
			switch tc.prefix {
			case "nft '":
				push = func(ctx context.Context) error {
					return d.(drivers.SetUpdater).AddToSet(ctx, hs, "quarantine_isolate", []string{"10.61.210.12"})
				}
			default:
				push = func(ctx context.Context) error { return d.Apply(ctx, hs, other) }
			}
			err = push(at(mine))
			var fe *drivers.FencedError
			if !errors.As(err, &fe) || fe.Mine != mine || fe.Seen != theirs {
				t.Fatalf("push with token %d after the host saw %d: %v, want a FencedError naming both", mine, theirs, err)
			}
			after, err := s.Run(ctx, "nft list table inet ward")
			if err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Fatalf("the refused push changed the table:\n%s", drivertest.Diff(before, after))
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// fenceHost is a real nft host, the driver with the hospital's
// configuration rendered for it, and a context whose pushes record every
// fence reset they report in resets.
type fenceHost struct {
	s      drivers.Session
	d      drivers.Driver
	ctx    context.Context
	cfg    drivers.Config
	resets []drivers.FenceReset
}

func newFenceHost(t *testing.T) *fenceHost {
	t.Helper()
	h := &fenceHost{s: realNft(t), d: New(Options{TempDir: t.TempDir()})}
	h.cfg = mustRender(t, h.d, hospital())
	h.ctx = drivers.OnFenceReset(t.Context(), func(r drivers.FenceReset) { h.resets = append(h.resets, r) })
	return h
}

// TestFenceDatabases drives the host's fence through the cases a database
// id tells apart, each from the state the one before left: the push
// carries (database, token) and succeeds or is refused; a reset is
// reported. The host's sets are then listed and must hold exactly the
// push's mark and token when it succeeded.
func TestFenceDatabases(t *testing.T) {
	h := newFenceHost(t)
	s, d, ctx, cfg := h.s, h.d, h.ctx, h.cfg
	steps := []struct {
		name   string
		setup  string // nft commands run first; "" none
		db     string
		token  int64
		ok     bool
		resets int // resets reported by this push
	}{
		// A host fenced before database ids existed: set epoch only.
		{"legacy host", "create table inet ward_fence; add set inet ward_fence epoch { type mark; }; add element inet ward_fence epoch { 7 }", "db-a", 1, true, 1},
		{"same database, newer", "", "db-a", 2, true, 0},
		{"same database, equal", "", "db-a", 2, true, 0},
		{"same database, older (restored backup)", "", "db-a", 1, false, 0},
		{"new database, lower token", "", "db-b", 1, true, 1},
		{"first database again, its old token", "", "db-a", 2, true, 1},
		{"empty db set (cleared by hand)", "flush set inet ward_fence db", "db-a", 1, true, 1},
	}
	for _, st := range steps {
		if st.setup != "" {
			if out, err := s.Run(ctx, "nft '"+st.setup+"'"); err != nil {
				t.Fatalf("%s: setup: %v %s", st.name, err, out)
			}
		}
		n := len(h.resets)
		err := d.Apply(drivers.WithFenceDomain(ctx, "core-fw", st.db, st.token), s, cfg)
		if st.ok != (err == nil) || (!st.ok && !errors.Is(err, drivers.ErrFenced)) {
			t.Fatalf("%s: push of token %d from %s: %v, want ok=%v (else ErrFenced)", st.name, st.token, st.db, err, st.ok)
		}
		if got := len(h.resets) - n; got != st.resets {
			t.Errorf("%s: %d resets reported, want %d: %+v", st.name, got, st.resets, h.resets[n:])
		}
		if !st.ok {
			continue
		}
		out, err := s.Run(ctx, "nft list table inet ward_fence")
		if err != nil {
			t.Fatal(err)
		}
		for set, want := range map[string]int64{"epoch": st.token, "db": databaseMark(st.db)} {
			got, err := parseFenceSet(out, set)
			if err != nil || len(got.elems) != 1 || got.elems[0] != want {
				t.Errorf("%s: set %s holds %v (%v), want exactly %d:\n%s", st.name, set, got.elems, err, want, out)
			}
		}
	}
}

// TestFenceResetDuringPush: another database resets the host's fence
// (to its token 1, lower than the push's) after the push read it and
// before nft commits: the compare-and-set fails, nothing of the push takes
// effect, and the other database's fence stays.
func TestFenceResetDuringPush(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	ctx := t.Context()
	cfg := mustRender(t, d, hospital())
	other := mustRender(t, d, permissive())
	cases := []struct{ name, prefix string }{
		{"apply-before-commit", "nft -f"},
		{"add-to-set", "nft '"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mine := int64(10 * (i + 1))
			if err := d.Apply(drivers.WithFenceDomain(ctx, "core-fw", "db-a", mine-1), s, cfg); err != nil {
				t.Fatal(err)
			}
			before, err := s.Run(ctx, "nft list table inet ward")
			if err != nil {
				t.Fatal(err)
			}
			theirs := "flush set inet ward_fence epoch; flush set inet ward_fence db; add element inet ward_fence db { " + itoa(databaseMark("db-b")) + " }; add element inet ward_fence epoch { 1 }"
			hs := &hookSession{Session: s, prefix: tc.prefix, before: func() {
				if out, err := s.Run(ctx, "nft '"+theirs+"'"); err != nil {
					t.Errorf("%v %s", err, out)
				}
			}}
			push := func(ctx context.Context) error { return d.Apply(ctx, hs, other) }
			if tc.prefix == "nft '" {
				push = func(ctx context.Context) error {
					return d.(drivers.SetUpdater).AddToSet(ctx, hs, "quarantine_isolate", []string{"10.61.210.12"})
				}
			}
			if err := push(drivers.WithFenceDomain(ctx, "core-fw", "db-a", mine)); err == nil {
				t.Fatal("push committed although another database reset the fence after it was read")
			}
			after, err := s.Run(ctx, "nft list table inet ward")
			if err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Fatalf("the failed push changed the table:\n%s", drivertest.Diff(before, after))
			}
			out, err := s.Run(ctx, "nft list table inet ward_fence")
			if err != nil {
				t.Fatal(err)
			}
			if db, _ := parseFenceSet(out, "db"); len(db.elems) != 1 || db.elems[0] != databaseMark("db-b") {
				t.Errorf("the other database's fence did not stay:\n%s", out)
			}
		})
	}
}
