package nftables

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/localsession"
)

// members lists a set's elements with nft's own JSON output (not the
// driver's parser), as addresses.
func members(t *testing.T, s drivers.Session, set string) []string {
	t.Helper()
	out, err := s.Run(t.Context(), "nft -j list set inet ward "+set)
	if err != nil {
		t.Fatalf("listing set %s: %v", set, err)
	}
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft -j list set %s printed %q: %v", set, out, err)
	}
	var addrs []string
	for _, o := range doc.Nftables {
		if o.Set == nil {
			continue
		}
		for _, e := range o.Set.Elem {
			var a string
			if err := json.Unmarshal(e, &a); err != nil {
				t.Fatalf("set %s: element %s is not a single address", set, e)
			}
			addrs = append(addrs, a)
		}
	}
	slices.Sort(addrs)
	return addrs
}

// variant is hospital() with a real change numbered i: the guest zone's
// addresses, a rule that comes and goes, and the default action.
func variant(i int) *intent.Target {
	t := hospital()
	fw := t.Firewall
	fw.Sets[2].V4 = []netip.Prefix{netip.MustParsePrefix("10.61.250.0/24"), netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 62, byte(i), 0}), 24)}
	if i%2 == 1 {
		fw.Rules = fw.Rules[1:]
	}
	if i%3 == 0 {
		fw.DefaultAction = "accept"
	}
	return t
}

// quarantiner adds and removes addresses in the quarantine sets from a
// session of its own, as ward serve does, and remembers what it believes
// each set holds. mu is held during each change and its record, so a
// checker holding it sees the sets at rest.
type quarantiner struct {
	d     drivers.SetUpdater
	s     drivers.Session
	mu    sync.Mutex
	in    map[string]string // address -> set it is in
	ops   int
	fails []error
}

func (q *quarantiner) step(ctx context.Context, r *rand.Rand) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var a string
	if r.IntN(2) == 0 {
		a = netip.AddrFrom4([4]byte{10, 99, 0, byte(r.IntN(64))}).String()
	} else {
		a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x99, 15: byte(r.IntN(64))}).String()
	}
	set := []string{"quarantine_isolate", "quarantine_restrict"}[r.IntN(2)]
	var err error
	if cur, ok := q.in[a]; ok {
		err = q.d.RemoveFromSet(ctx, q.s, cur, []string{a})
		if err == nil {
			delete(q.in, a)
		}
	} else {
		err = q.d.AddToSet(ctx, q.s, set, []string{a})
		if err == nil {
			q.in[a] = set
		}
	}
	if err != nil && ctx.Err() == nil {
		q.fails = append(q.fails, err)
	}
	q.ops++
}

// check compares the sets on the device with what the quarantiner
// believes, both ways.
func (q *quarantiner) check(t *testing.T, s drivers.Session, round int) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, set := range []string{"quarantine_isolate", "quarantine_restrict"} {
		var want []string
		for a, in := range q.in {
			if in == set {
				want = append(want, a)
			}
		}
		slices.Sort(want)
		got := append(members(t, s, set+"_v4"), members(t, s, set+"_v6")...)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			var lost, back []string
			for _, a := range want {
				if !slices.Contains(got, a) {
					lost = append(lost, a)
				}
			}
			for _, a := range got {
				if !slices.Contains(want, a) {
					back = append(back, a)
				}
			}
			t.Fatalf("after apply %d, set %s: quarantined addresses lost %v, released addresses back %v", round, set, lost, back)
		}
	}
}

// TestApplyRacesQuarantine runs a quarantiner adding and removing addresses
// in the quarantine sets, from its own session, while Apply replaces the
// table 60 times with real changes: after every Apply, every address the
// quarantiner added is there and none it removed is back. The old Apply
// (read the members, then replace the whole table with them) lost
// additions and undid removals made in its window.
func TestApplyRacesQuarantine(t *testing.T) {
	s, ns := realNftIn(t)
	d := New(Options{TempDir: t.TempDir()})
	ctx := t.Context()
	first := mustRender(t, d, variant(0))
	if err := d.Apply(ctx, s, first); err != nil {
		t.Fatal(err)
	}
	q := &quarantiner{d: d.(drivers.SetUpdater), s: localsession.New(localsession.Options{Netns: ns}), in: map[string]string{}}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
				q.step(ctx, r)
			}
		}
	}()
	defer func() { close(stop); <-done }()

	const rounds = 60
	opsBefore := 0
	for i := 1; i <= rounds; i++ {
		cfg, err := d.Render(variant(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(ctx, s, cfg); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
		q.check(t, s, i)
		if i == rounds/2 {
			q.mu.Lock()
			opsBefore = q.ops
			q.mu.Unlock()
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.fails) > 0 {
		t.Fatalf("the quarantiner's own changes failed %d times, first: %v", len(q.fails), q.fails[0])
	}
	if q.ops-opsBefore < rounds/2 {
		t.Fatalf("the quarantiner made %d changes during the last %d applies: too few to race them", q.ops-opsBefore, rounds/2)
	}
	t.Logf("%d quarantine changes raced %d applies", q.ops, rounds)
}

// hookSession runs before just before the first command that starts with
// prefix, then passes every command to the session it wraps.
type hookSession struct {
	drivers.Session
	prefix string
	before func()
	done   bool
}

func (h *hookSession) Run(ctx context.Context, command string) (string, error) {
	if !h.done && strings.HasPrefix(command, h.prefix) {
		h.done = true
		h.before()
	}
	return h.Session.Run(ctx, command)
}

// TestQuarantineBetweenCheckAndCommit quarantines an address and releases
// another after nft -c passed and before nft -f commits: both changes
// survive the commit.
func TestQuarantineBetweenCheckAndCommit(t *testing.T) {
	s, ns := realNftIn(t)
	d := New(Options{TempDir: t.TempDir()})
	su := d.(drivers.SetUpdater)
	ctx := t.Context()
	cfg := mustRender(t, d, hospital())
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	if err := su.AddToSet(ctx, s, "quarantine_isolate", []string{"10.61.210.20"}); err != nil {
		t.Fatal(err)
	}
	other := localsession.New(localsession.Options{Netns: ns})
	h := &hookSession{Session: s, prefix: "nft -f ", before: func() {
		if err := su.AddToSet(ctx, other, "quarantine_isolate", []string{"10.61.210.21", "2001:db8:61:210::21"}); err != nil {
			t.Error(err)
		}
		if err := su.RemoveFromSet(ctx, other, "quarantine_isolate", []string{"10.61.210.20"}); err != nil {
			t.Error(err)
		}
	}}
	next := mustRender(t, d, variant(1))
	if err := d.Apply(ctx, h, next); err != nil {
		t.Fatal(err)
	}
	if !h.done {
		t.Fatal("Apply ran no nft -f command: the test did not get between check and commit")
	}
	if got, want := members(t, s, "quarantine_isolate_v4"), []string{"10.61.210.21"}; !slices.Equal(got, want) {
		t.Errorf("quarantine_isolate_v4 = %v, want %v: the quarantine made between check and commit is lost, or the release undone", got, want)
	}
	if got, want := members(t, s, "quarantine_isolate_v6"), []string{"2001:db8:61:210::21"}; !slices.Equal(got, want) {
		t.Errorf("quarantine_isolate_v6 = %v, want %v", got, want)
	}
	if running, err := d.Running(ctx, s); err != nil || running != next {
		t.Errorf("Running after the apply = %v; want the applied configuration:\n%s", err, drivertest.Diff(next.Text, running.Text))
	}
}

// TestQuarantineSetRedeclared: a quarantine set on the device declared
// otherwise than the configuration says (no interval flag, as an older
// Ward might have written) is recreated when empty, and Apply refuses,
// changing nothing, while it holds an address. The same holds for a
// quarantine set the configuration drops.
func TestQuarantineSetRedeclared(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	ctx := t.Context()
	cfg := mustRender(t, d, hospital())
	old := strings.Replace(cfg.Text, "set quarantine_isolate_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n", "set quarantine_isolate_v4 {\n\t\ttype ipv4_addr\n", 1)
	if old == cfg.Text {
		t.Fatal("the test could not change the set's declaration")
	}
	file := filepath.Join(t.TempDir(), "old.nft")
	if err := os.WriteFile(file, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Run(ctx, "nft -f "+file); err != nil {
		t.Fatalf("installing the old table: %v: %s", err, out)
	}
	if _, err := s.Run(ctx, "nft add element inet ward quarantine_isolate_v4 '{ 10.61.210.30 }'"); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Run(ctx, "nft list table inet ward")
	err := d.Apply(ctx, s, cfg)
	if err == nil || !strings.Contains(err.Error(), "quarantine set quarantine_isolate_v4 holds 1 addresses") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("Apply redeclaring a quarantine set with a member: err = %v; want a refusal naming the set and its member count", err)
	}
	if after, _ := s.Run(ctx, "nft list table inet ward"); after != before {
		t.Fatalf("the refused apply changed the table:\n%s", drivertest.Diff(before, after))
	}

	// Empty, it is recreated with the new declaration.
	if _, err := s.Run(ctx, "nft flush set inet ward quarantine_isolate_v4"); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, s, cfg); err != nil {
		t.Fatalf("Apply redeclaring an empty quarantine set: %v", err)
	}
	if running, err := d.Running(ctx, s); err != nil || running != cfg {
		t.Fatalf("after redeclaring, Running = %v:\n%s", err, drivertest.Diff(cfg.Text, running.Text))
	}

	// A configuration without quarantine sets while one holds an address.
	if err := d.(drivers.SetUpdater).AddToSet(ctx, s, "quarantine_restrict", []string{"10.61.220.9"}); err != nil {
		t.Fatal(err)
	}
	none := mustRender(t, d, permissive())
	err = d.Apply(ctx, s, none)
	if err == nil || !strings.Contains(err.Error(), "quarantine_restrict_v4 holds 1 addresses") || !strings.Contains(err.Error(), "no longer has it") {
		t.Fatalf("Apply dropping a quarantine set with a member: err = %v; want a refusal", err)
	}
	// Nor does the empty configuration remove the table under it.
	err = d.Apply(ctx, s, drivers.Config{})
	if err == nil || !strings.Contains(err.Error(), "quarantine_restrict_v4 holds 1 addresses") || !strings.Contains(err.Error(), "removes the table") {
		t.Fatalf("Apply of the empty configuration with a quarantined address: err = %v; want a refusal", err)
	}
	if got := members(t, s, "quarantine_restrict_v4"); len(got) != 1 {
		t.Fatalf("after the refusals, quarantine_restrict_v4 = %v, want the address kept", got)
	}
	// Released, the table goes.
	if err := d.(drivers.SetUpdater).RemoveFromSet(ctx, s, "quarantine_restrict", []string{"10.61.220.9"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, s, drivers.Config{}); err != nil {
		t.Fatalf("Apply of the empty configuration with empty quarantine sets: %v", err)
	}
	if out, _ := s.Run(ctx, "nft list tables"); strings.Contains(out, "ward") {
		t.Errorf("after applying the empty configuration, nft lists %q", out)
	}
}

// TestApplyParsesBeforeSending hands Apply configurations that are not a
// table as Render writes it (injection attempts among them): each is
// refused with drivers.ErrInvalidConfig before a single command is sent.
func TestApplyParsesBeforeSending(t *testing.T) {
	good, err := New(Options{}).Render(hospital())
	if err != nil {
		t.Fatal(err)
	}
	rule := "ct state invalid drop\n"
	replace := func(old, new string) string {
		t.Helper()
		out := strings.Replace(good.Text, old, new, 1)
		if out == good.Text {
			t.Fatalf("the test's edit of %q did not apply", old)
		}
		return out
	}
	for _, c := range []struct{ name, text, want string }{
		{"statement separator", replace(rule, rule+"\t\tip saddr 10.0.0.1 accept; flush ruleset\n"), `"accept;"`},
		{"closing the chain", replace(rule, rule+"\t\taccept } } table ip nat { chain x { accept\n"), "braces"},
		{"include", replace(rule, rule+"\t\tinclude \"/etc/shadow\"\n"), `"include"`},
		{"variable", replace(rule, rule+"\t\tip saddr $evil accept\n"), `"$evil"`},
		{"shell text", replace(rule, rule+"\t\tip saddr `reboot` accept\n"), "`reboot`"},
		{"text before the table", "flush ruleset\n" + good.Text, "expected the table"},
		{"a second table", good.Text + "table ip filter {\n}\n", "after the end of the table"},
		{"set attribute", replace("\t\tflags interval\n", "\t\tflags interval; flush ruleset\n"), "flags interval; flush ruleset"},
		{"element", replace("elements = { 10.10.0.0/16 }", "elements = { 10.10.0.0/16, $(reboot) }"), "$(reboot)"},
		{"element family", replace("elements = { 10.10.0.0/16 }", "elements = { 2001:db8::1 }"), "not of type ipv4_addr"},
		{"quarantine members", replace("comment \"ward quarantine: apply keeps its members\"\n", "comment \"ward quarantine: apply keeps its members\"\n\t\telements = { 10.61.210.5 }\n"), "are state"},
		{"hook", replace("policy drop;", "policy drop; flush ruleset;"), "not a word"},
		{"map", replace("\tchain restricted {", "\tmap m {\n\t}\n\n\tchain restricted {"), "sets and chains only"},
		{"garbage", "rm -rf /\n", "expected the table"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &drivertest.Recorder{}
			err := New(Options{}).Apply(t.Context(), r, drivers.Config{Text: c.text})
			if !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Apply: err = %v; want drivers.ErrInvalidConfig mentioning %q", err, c.want)
			}
			if len(r.Commands) > 0 {
				t.Errorf("Apply sent %d commands before refusing, first %q", len(r.Commands), r.Commands[0])
			}
		})
	}

	r := &drivertest.Recorder{}
	err = New(Options{Nft: "nft; rm -rf /"}).Apply(t.Context(), r, good)
	if err == nil || len(r.Commands) > 0 {
		t.Errorf("an nft path with shell characters: err = %v, %d commands sent; want a refusal and none", err, len(r.Commands))
	}
	// The good configuration does reach the session.
	r = &drivertest.Recorder{}
	New(Options{}).Apply(t.Context(), r, good)
	if len(r.Commands) == 0 {
		t.Error("Apply of the rendered configuration sent nothing: the recorder sees no commands at all")
	}
}

// TestListingStable: nft lists a table's sets in the order they were made,
// and Apply keeps the quarantine sets while it makes the others anew; the
// table as nft lists it must still be the same after another apply and
// back, so that an operator's diff of two listings shows changes only.
func TestListingStable(t *testing.T) {
	s := realNft(t)
	d := New(Options{TempDir: t.TempDir()})
	ctx := t.Context()
	a := mustRender(t, d, hospital())
	b := mustRender(t, d, variant(1))
	if err := d.Apply(ctx, s, a); err != nil {
		t.Fatal(err)
	}
	first, err := s.Run(ctx, "nft list table inet ward")
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []drivers.Config{b, a} {
		if err := d.Apply(ctx, s, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if again, _ := s.Run(ctx, "nft list table inet ward"); again != first {
		t.Errorf("the same configuration, applied again after another, lists differently (-first +again):\n%s", drivertest.Diff(first, again))
	}
}
