package nftables

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
)

// TestEmptyFenceSetsHaveNoCompare: with a fence set present but empty
// (flushed by hand), a holder that read it with token 5 must still be
// refused when another holder of the same database pushed token 6 after
// that read. The other holder's push and the host's fence stay as it left
// them, and the refused push reports no reset.
func TestEmptyFenceSetsHaveNoCompare(t *testing.T) {
	cases := []struct {
		name    string
		flush   string // nft commands run before the stale push reads
		between string // nft commands run after it read, before the other push
	}{
		{"both sets", "flush set inet ward_fence epoch; flush set inet ward_fence db", ""},
		{"epoch only", "flush set inet ward_fence epoch", ""},
		{"db only", "flush set inet ward_fence db", ""},
		// Set handles count from 1 in each table: a table made again has
		// sets with the handles the stale push read.
		{"table made again", "flush set inet ward_fence epoch; flush set inet ward_fence db", "delete table inet ward_fence"},
	}
	for _, tc := range cases {
		for _, via := range []string{"add-to-set", "apply"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				staleAfterOther(t, tc.flush, tc.between, via)
			})
		}
	}
}

func staleAfterOther(t *testing.T, flush, between, via string) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	su := d.(drivers.SetUpdater)
	ctx := t.Context()
	if err := d.Apply(drivers.WithFenceDomain(ctx, "fw", "db-a", 1), s, mustRender(t, d, hospital())); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Run(ctx, "nft '"+flush+"'"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var before string
	prefix := map[string]string{"add-to-set": "nft '", "apply": "nft -f "}[via]
	hs := &hookSession{Session: s, prefix: prefix, before: func() {
		if between != "" {
			if out, err := s.Run(ctx, "nft '"+between+"'"); err != nil {
				t.Errorf("%v %s", err, out)
			}
		}
		if err := su.AddToSet(drivers.WithFenceDomain(ctx, "fw", "db-a", 6), s, "quarantine_isolate", []string{"10.61.210.13"}); err != nil {
			t.Error(err)
		}
		var err error
		if before, err = s.Run(ctx, "nft list table inet ward"); err != nil {
			t.Error(err)
		}
	}}
	var resets []drivers.FenceReset
	stale := drivers.OnFenceReset(drivers.WithFenceDomain(ctx, "fw", "db-a", 5), func(r drivers.FenceReset) { resets = append(resets, r) })
	var err error
	if via == "apply" {
		err = d.Apply(stale, hs, mustRender(t, d, permissive()))
	} else {
		err = su.AddToSet(stale, hs, "quarantine_isolate", []string{"10.61.210.12"})
	}
	if !hs.done {
		t.Fatalf("the push never ran a command starting %q", prefix)
	}
	out, lerr := s.Run(ctx, "nft list table inet ward_fence")
	if lerr != nil {
		t.Fatal(lerr)
	}
	var fe *drivers.FencedError
	if !errors.As(err, &fe) || fe.Mine != 5 || fe.Seen != 6 {
		t.Fatalf("token 5 pushed after token 6 of the same database: %v, want a FencedError (5, seen 6); fence:\n%s", err, out)
	}
	if len(resets) != 0 {
		t.Errorf("the refused push reported resets: %+v", resets)
	}
	wantFence(t, out, 6, "db-a")
	after, err := s.Run(ctx, "nft list table inet ward")
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the refused push changed the table:\n%s", drivertest.Diff(before, after))
	}
}

// wantFence checks a listing of the fence table holds exactly token and
// db's mark.
func wantFence(t *testing.T, listing string, token int64, db string) {
	t.Helper()
	for set, want := range map[string]int64{"epoch": token, "db": databaseMark(db)} {
		got, err := parseFenceSet(listing, set)
		if err != nil || !slices.Equal(got.elems, []int64{want}) {
			t.Errorf("set %s holds %v (%v), want exactly %d:\n%s", set, got.elems, err, want, listing)
		}
	}
}

// TestFenceSeveralElements drives a host whose fence sets hold more than
// one element (as the empty-set hole left them, or a hand edit): the
// greatest token counts, a database whose mark is among several is held to
// it, and a push that passes deletes every element it read.
func TestFenceSeveralElements(t *testing.T) {
	h := newFenceHost(t)
	s, d, ctx, cfg := h.s, h.d, h.ctx, h.cfg
	add := func(set string, v int64) string {
		return "add element inet ward_fence " + set + " { " + itoa(v) + " }"
	}
	steps := []struct {
		name  string
		setup []string
		db    string
		token int64
		seen  int64   // the FencedError's Seen; 0: the push passes
		reset []int64 // the marks a reset names; nil: none reported
	}{
		{"two tokens, older", []string{"create table inet ward_fence", "create set inet ward_fence db { type mark; }", "create set inet ward_fence epoch { type mark; }", add("db", databaseMark("db-a")), add("epoch", 5), add("epoch", 6)}, "db-a", 5, 6, nil},
		{"two tokens, the greater", nil, "db-a", 6, 0, nil},
		{"two marks, ours among them, older", []string{add("db", databaseMark("db-b")), add("epoch", 9)}, "db-a", 7, 9, nil},
		{"two marks, neither ours", nil, "db-c", 1, 0, sorted(databaseMark("db-a"), databaseMark("db-b"))},
		{"two marks, ours among them, newer", []string{add("db", databaseMark("db-a"))}, "db-a", 10, 0, sorted(databaseMark("db-a"), databaseMark("db-c"))},
	}
	for _, st := range steps {
		if len(st.setup) > 0 {
			if out, err := s.Run(ctx, "nft '"+strings.Join(st.setup, "; ")+"'"); err != nil {
				t.Fatalf("%s: setup: %v %s", st.name, err, out)
			}
		}
		before, err := s.Run(ctx, "nft list table inet ward_fence")
		if err != nil {
			t.Fatal(err)
		}
		n := len(h.resets)
		err = d.Apply(drivers.WithFenceDomain(ctx, "fw", st.db, st.token), s, cfg)
		out, lerr := s.Run(ctx, "nft list table inet ward_fence")
		if lerr != nil {
			t.Fatal(lerr)
		}
		if st.seen > 0 {
			var fe *drivers.FencedError
			if !errors.As(err, &fe) || fe.Mine != st.token || fe.Seen != st.seen {
				t.Fatalf("%s: push of %d from %s: %v, want a FencedError (seen %d)", st.name, st.token, st.db, err, st.seen)
			}
			if out != before {
				t.Errorf("%s: the refused push changed the fence:\n%s", st.name, drivertest.Diff(before, out))
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: push of %d from %s: %v", st.name, st.token, st.db, err)
		}
		wantFence(t, out, st.token, st.db)
		switch got := h.resets[n:]; {
		case st.reset == nil && len(got) != 0:
			t.Errorf("%s: resets reported: %+v, want none", st.name, got)
		case st.reset != nil && (len(got) != 1 || !slices.Equal(resetMarks(t, got[0].SeenDatabase), st.reset)):
			t.Errorf("%s: resets reported: %+v, want one from marks %x", st.name, got, st.reset)
		}
	}
}

// resetMarks reads back the marks a reset names ("mark 0x…, 0x…"),
// sorted: nft lists a set's elements in no fixed order.
func resetMarks(t *testing.T, seenDatabase string) []int64 {
	t.Helper()
	var out []int64
	for _, m := range strings.Split(strings.TrimPrefix(seenDatabase, "mark "), ", ") {
		v, err := strconv.ParseInt(m, 0, 64)
		if err != nil {
			t.Fatalf("reset names %q: %v", seenDatabase, err)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func sorted(v ...int64) []int64 { slices.Sort(v); return v }

// TestFenceEmptySetBesideOther: with a fence set empty the push would
// replace the fence table, so it refuses while the table holds anything
// else (put there by hand), which replacing it would delete.
func TestFenceEmptySetBesideOther(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	ctx := t.Context()
	cfg := mustRender(t, d, hospital())
	if err := d.Apply(drivers.WithFenceDomain(ctx, "fw", "db-a", 1), s, cfg); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Run(ctx, "nft 'flush set inet ward_fence epoch; add chain inet ward_fence kept'"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	before, err := s.Run(ctx, "nft list ruleset")
	if err != nil {
		t.Fatal(err)
	}
	err = d.Apply(drivers.WithFenceDomain(ctx, "fw", "db-a", 2), s, mustRender(t, d, permissive()))
	if err == nil || errors.Is(err, drivers.ErrFenced) || !strings.Contains(err.Error(), "chain kept") {
		t.Fatalf("push with an empty fence set beside a chain: %v, want an error naming chain kept", err)
	}
	after, err := s.Run(ctx, "nft list ruleset")
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the refused push changed the ruleset:\n%s", drivertest.Diff(before, after))
	}
}

// TestFenceCommands: the commands that lead a push, for each state the
// fence can be read in.
func TestFenceCommands(t *testing.T) {
	const (
		t1 = "create table inet ward_fence"
		d0 = "create set inet ward_fence db { type mark; }"
		e0 = "create set inet ward_fence epoch { type mark; }"
		ad = "add element inet ward_fence db { 77 }"
		ae = "add element inet ward_fence epoch { 8 }"
	)
	set := func(elems ...int64) fenceSetState { return fenceSetState{present: true, elems: elems} }
	cases := []struct {
		name      string
		fresh     bool
		epoch, db fenceSetState
		want      []string
	}{
		{"no table", true, fenceSetState{}, fenceSetState{}, []string{t1, d0, e0, ad, ae}},
		{"one each", false, set(7), set(77), []string{"delete element inet ward_fence db { 77 }", "delete element inet ward_fence epoch { 7 }", ad, ae}},
		{"several", false, set(5, 6), set(77, 78), []string{
			"delete element inet ward_fence db { 77 }", "delete element inet ward_fence db { 78 }",
			"delete element inet ward_fence epoch { 5 }", "delete element inet ward_fence epoch { 6 }", ad, ae}},
		{"db missing", false, set(7), fenceSetState{}, []string{d0, "delete element inet ward_fence epoch { 7 }", ad, ae}},
		{"both missing", false, fenceSetState{}, fenceSetState{}, []string{d0, e0, ad, ae}},
		{"epoch empty", false, set(), set(77), []string{"delete table inet handle 42", t1, d0, e0, ad, ae}},
		{"db empty", false, set(7), set(), []string{"delete table inet handle 42", t1, d0, e0, ad, ae}},
		{"db empty, epoch missing", false, fenceSetState{}, set(), []string{"delete table inet handle 42", t1, d0, e0, ad, ae}},
	}
	for _, tc := range cases {
		f := &fence{mine: 8, mineDB: 77, fresh: tc.fresh, handle: 42, epoch: tc.epoch, db: tc.db}
		if got := f.commands(); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if got := (*fence)(nil).commands(); got != nil {
		t.Errorf("no fence: %q, want none", got)
	}
}
