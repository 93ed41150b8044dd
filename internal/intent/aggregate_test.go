package intent

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func prefixes(s string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.Fields(s) {
		if !strings.Contains(f, "/") {
			a := netip.MustParseAddr(f)
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		out = append(out, netip.MustParsePrefix(f))
	}
	return out
}

func TestAggregate(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"one address", "10.0.0.1", "10.0.0.1/32"},
		{"adjacent pair", "10.0.0.0 10.0.0.1", "10.0.0.0/31"},
		{"unaligned pair stays", "10.0.0.1 10.0.0.2", "10.0.0.1/32 10.0.0.2/32"},
		{"four make a /30", "10.0.0.3 10.0.0.1 10.0.0.2 10.0.0.0", "10.0.0.0/30"},
		{"contained dropped", "10.0.0.0/24 10.0.0.5 10.0.0.128/25", "10.0.0.0/24"},
		{"duplicates", "10.0.0.5 10.0.0.5/32 10.0.0.5", "10.0.0.5/32"},
		{"halves merge", "10.0.1.0/25 10.0.0.0/24 10.0.1.128/25", "10.0.0.0/23"},
		{"merge cascades", "10.0.0.0/26 10.0.0.64/26 10.0.0.128/25 10.0.1.0/24 10.0.2.0/23", "10.0.0.0/22"},
		{"adjacent but not siblings", "10.0.1.0/24 10.0.2.0/24", "10.0.1.0/24 10.0.2.0/24"},
		{"host bits ignored", "10.0.0.77/24", "10.0.0.0/24"},
		{"everything v4", "0.0.0.0/1 128.0.0.0/1", "0.0.0.0/0"},
		{"top of v4", "255.255.255.255 255.255.255.254", "255.255.255.254/31"},
		{"families split, v4 first", "2001:db8::1 10.0.0.1 2001:db8::0 10.0.0.0/32", "10.0.0.0/31 2001:db8::/127"},
		{"everything v6", "::/1 8000::/1", "::/0"},
		{"top of v6", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"},
		{"across the 64-bit boundary", "2001:db8::/65 2001:db8:0:0:8000::/65", "2001:db8::/64"},
		{"mapped stays v6", "::ffff:10.0.0.0/128 10.0.0.0", "10.0.0.0/32 ::ffff:10.0.0.0/128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := prefixes(tt.in)
			if got := prefixText(Aggregate(in)); got != tt.want {
				t.Errorf("Aggregate(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
	if got := Aggregate([]netip.Prefix{{}}); len(got) != 0 {
		t.Errorf("invalid prefix kept: %v", got)
	}
}

// TestAggregateProperty checks Aggregate against a brute force on small
// random inputs: the output covers exactly the input's addresses, is
// sorted and disjoint, and is the canonical fewest-prefix cover (every
// prefix is a largest aligned block inside the set).
func TestAggregateProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for iter := range 3000 {
		v4 := iter%2 == 0
		// Prefixes inside one /22 (or /118), so the space can be enumerated.
		const spaceBits = 10
		var base netip.Addr
		if v4 {
			base = netip.MustParseAddr("10.1.4.0")
		} else {
			base = netip.MustParseAddr("2001:db8::400")
		}
		width := base.BitLen()
		var in []netip.Prefix
		for range r.IntN(12) {
			bitsLen := width - r.IntN(spaceBits+1)
			off := r.Uint64N(1 << spaceBits)
			in = append(in, netip.PrefixFrom(offsetAddr(base, off), bitsLen).Masked())
		}
		got := Aggregate(in)

		want := make([]bool, 1<<spaceBits)
		for _, p := range in {
			for off := range want {
				if p.Contains(offsetAddr(base, uint64(off))) {
					want[off] = true
				}
			}
		}
		have := make([]bool, 1<<spaceBits)
		for i, p := range got {
			if i > 0 && (got[i-1].Addr().Compare(p.Addr()) >= 0 || got[i-1].Overlaps(p)) {
				t.Fatalf("%v: output not sorted and disjoint: %v", in, got)
			}
			for off := range have {
				if p.Contains(offsetAddr(base, uint64(off))) {
					have[off] = true
				}
			}
		}
		if !slices.Equal(have, want) {
			t.Fatalf("%v: Aggregate = %v covers other addresses", in, got)
		}
		if canon := canonicalCover(base, want, spaceBits); prefixText(got) != prefixText(canon) {
			t.Fatalf("%v: Aggregate = %v, want the fewest prefixes %v", in, got, canon)
		}
	}
}

// canonicalCover is the brute-force fewest-prefix cover of the addresses
// set in in: every aligned block wholly inside, not inside a bigger one.
func canonicalCover(base netip.Addr, in []bool, spaceBits int) []netip.Prefix {
	var out []netip.Prefix
	covered := make([]bool, len(in))
	for size := spaceBits; size >= 0; size-- {
		block := 1 << size
		for start := 0; start < len(in); start += block {
			full, done := true, true
			for off := start; off < start+block; off++ {
				full = full && in[off]
				done = done && covered[off]
			}
			if full && !done {
				out = append(out, netip.PrefixFrom(offsetAddr(base, uint64(start)), base.BitLen()-size))
				for off := start; off < start+block; off++ {
					covered[off] = true
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
}

func offsetAddr(base netip.Addr, off uint64) netip.Addr {
	n := addrNum(base)
	n.lo += off // the bases leave room below 2^64
	return numAddr(n, base.Is4())
}

func TestSpansMinus(t *testing.T) {
	set := func(s string) addrSet {
		var b setBuilder
		for _, p := range prefixes(s) {
			b.addPrefix(p)
		}
		return b.build()
	}
	tests := []struct{ a, b, want string }{
		{"10.0.0.0/24", "", "10.0.0.0/24"},
		{"", "10.0.0.0/24", ""},
		{"10.0.0.0/24", "10.0.0.0/24", ""},
		{"10.0.0.0/24", "10.0.0.0/8", ""},
		{"10.0.0.0/24", "10.0.0.0/25", "10.0.0.128/25"},
		{"10.0.0.0/24", "10.0.0.128/25", "10.0.0.0/25"},
		{"10.0.0.0/30", "10.0.0.1 10.0.0.2", "10.0.0.0/32 10.0.0.3/32"},
		{"10.0.0.0/24 10.0.2.0/24", "10.0.0.255 10.0.1.0/24 10.0.2.0", "10.0.0.0/25 10.0.0.128/26 10.0.0.192/27 10.0.0.224/28 10.0.0.240/29 10.0.0.248/30 10.0.0.252/31 10.0.0.254/32 " +
			"10.0.2.1/32 10.0.2.2/31 10.0.2.4/30 10.0.2.8/29 10.0.2.16/28 10.0.2.32/27 10.0.2.64/26 10.0.2.128/25"},
		{"::/0", "::/1", "8000::/1"},
		{"10.0.0.0/24 2001:db8::/64", "10.0.0.0/24", "2001:db8::/64"},
	}
	for _, tt := range tests {
		got := set(tt.a).minus(set(tt.b))
		if s := prefixText(append(got.v4.prefixes(true), got.v6.prefixes(false)...)); s != tt.want {
			t.Errorf("%s minus %s = %s, want %s", tt.a, tt.b, s, tt.want)
		}
	}
}

// A zone set of 100,000 scattered devices must aggregate in milliseconds
// (BenchmarkAggregate100k measures it); the bound here only catches a
// quadratic slip, with room for a loaded machine or -race.
func TestAggregate100kIsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	in := hosts(100_000)
	start := time.Now()
	got := Aggregate(in)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Aggregate of 100,000 /32s took %v", d)
	}
	if len(got) != len(in) {
		t.Errorf("%d prefixes from %d scattered /32s", len(got), len(in))
	}
}

// hosts returns n /32s, every third address of 10.0.0.0/8 in random order,
// so they do not collapse into a few prefixes.
func hosts(n int) []netip.Prefix {
	r := rand.New(rand.NewPCG(3, 5))
	out := make([]netip.Prefix, n)
	for i := range out {
		off := uint64(3 * i)
		out[i] = netip.PrefixFrom(offsetAddr(netip.MustParseAddr("10.0.0.0"), off), 32)
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func BenchmarkAggregate100k(b *testing.B) {
	in := hosts(100_000)
	for b.Loop() {
		Aggregate(in)
	}
}

func FuzzAggregate(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 24, 10, 0, 1, 0, 24})
	f.Fuzz(func(t *testing.T, data []byte) {
		var in []netip.Prefix
		for ; len(data) >= 5; data = data[5:] {
			in = append(in, netip.PrefixFrom(netip.AddrFrom4([4]byte(data[:4])), int(data[4])%33))
		}
		got := Aggregate(in)
		if again := Aggregate(got); prefixText(again) != prefixText(got) {
			t.Fatalf("not a fixed point: %v then %v", got, again)
		}
		for _, p := range in {
			if !slices.ContainsFunc(got, func(q netip.Prefix) bool { return q.Bits() <= p.Bits() && q.Contains(p.Addr()) }) {
				t.Fatalf("%v is not covered by %v", p, got)
			}
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].Overlaps(got[i]) {
				t.Fatalf("%v and %v overlap", got[i-1], got[i])
			}
		}
	})
}

func ExampleAggregate() {
	fmt.Println(Aggregate([]netip.Prefix{
		netip.MustParsePrefix("10.61.210.12/32"),
		netip.MustParsePrefix("2001:db8::/64"),
		netip.MustParsePrefix("10.61.210.0/25"),
		netip.MustParsePrefix("10.61.210.128/25"),
		netip.MustParsePrefix("10.61.211.7/32"),
	}))
	// Output: [10.61.210.0/24 10.61.211.7/32 2001:db8::/64]
}

func TestUnion(t *testing.T) {
	set := func(s string) addrSet {
		var b setBuilder
		for _, p := range prefixes(s) {
			b.addPrefix(p)
		}
		return b.build()
	}
	r := rand.New(rand.NewPCG(9, 9))
	for range 500 {
		var a, b []string
		for range r.IntN(6) {
			a = append(a, fmt.Sprintf("10.0.%d.%d/%d", r.IntN(4), r.IntN(256), 22+r.IntN(11)))
		}
		for range r.IntN(6) {
			b = append(b, fmt.Sprintf("10.0.%d.%d/%d", r.IntN(4), r.IntN(256), 22+r.IntN(11)))
		}
		as, bs := strings.Join(a, " "), strings.Join(b, " ")
		got := set(as).union(set(bs))
		want := Aggregate(prefixes(as + " " + bs))
		if g := prefixText(got.v4.prefixes(true)); g != prefixText(want) {
			t.Fatalf("%s ∪ %s = %s, want %s", as, bs, g, prefixText(want))
		}
	}
}
