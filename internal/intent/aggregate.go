package intent

import (
	"cmp"
	"math/bits"
	"net/netip"
	"slices"
)

// Aggregate returns the fewest prefixes that cover exactly the addresses of
// ps: IPv4 prefixes first, then IPv6, each sorted by address, disjoint, with
// contained prefixes dropped and adjacent ones merged. Host bits are
// ignored (10.0.0.5/24 is 10.0.0.0/24) and invalid prefixes skipped; an
// IPv4-mapped IPv6 prefix stays IPv6. It runs in O(n log n): 100,000 /32s
// take milliseconds.
func Aggregate(ps []netip.Prefix) []netip.Prefix {
	b := setBuilder{v4: make([]span, 0, len(ps))}
	for _, p := range ps {
		b.addPrefix(p)
	}
	s := b.build()
	return append(s.v4.prefixes(true), s.v6.prefixes(false)...)
}

// The rest of this file is interval arithmetic on addresses: a set of
// addresses is a sorted list of disjoint, non-adjacent inclusive spans, one
// list per family. Union, difference and conversion back to prefixes are
// linear in the spans, so zone sets of 100,000 devices stay cheap.

// u128 is an address as a number: IPv4 in the low 32 bits of lo.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) add1() u128 {
	lo, carry := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + carry, lo}
}

func (a u128) sub1() u128 {
	lo, borrow := bits.Sub64(a.lo, 1, 0)
	return u128{a.hi - borrow, lo}
}

func (a u128) sub(b u128) u128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	return u128{a.hi - b.hi - borrow, lo}
}

func (a u128) or(b u128) u128 { return u128{a.hi | b.hi, a.lo | b.lo} }

func (a u128) isZero() bool { return a.hi == 0 && a.lo == 0 }

func (a u128) trailingZeros() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	return 64 + bits.TrailingZeros64(a.hi) // 128 for zero
}

// log2 is the index of the highest bit set; -1 for zero.
func (a u128) log2() int {
	if a.hi != 0 {
		return 127 - bits.LeadingZeros64(a.hi)
	}
	return 63 - bits.LeadingZeros64(a.lo)
}

// lowMask is 2^k - 1.
func lowMask(k int) u128 {
	switch {
	case k <= 0:
		return u128{}
	case k < 64:
		return u128{0, 1<<k - 1}
	case k < 128:
		return u128{1<<(k-64) - 1, ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

func addrNum(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var n u128
	for i := range 8 {
		n.hi = n.hi<<8 | uint64(b[i])
		n.lo = n.lo<<8 | uint64(b[8+i])
	}
	return n
}

func numAddr(n u128, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(n.lo >> 24), byte(n.lo >> 16), byte(n.lo >> 8), byte(n.lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(n.hi >> (8 * i))
		b[15-i] = byte(n.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// span is an inclusive range of addresses of one family.
type span struct{ lo, hi u128 }

func prefixSpan(p netip.Prefix) span {
	p = p.Masked()
	lo := addrNum(p.Addr())
	return span{lo, lo.or(lowMask(p.Addr().BitLen() - p.Bits()))}
}

// spans is a normalised address set of one family: sorted, disjoint, and
// no two spans adjacent.
type spans []span

// normalize sorts and merges s in place.
func normalize(s []span) spans {
	if len(s) == 0 {
		return nil
	}
	sortSpans(s)
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		// x starts inside last or right after it (last.hi+1 overflows only
		// when last runs to the top, which x cannot start after).
		if x.lo.cmp(last.hi) <= 0 || x.lo == last.hi.add1() {
			if x.hi.cmp(last.hi) > 0 {
				last.hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// sortSpans sorts by start. IPv4 spans, the big sets, are packed into one
// integer each (start<<32 | length) and sorted without a comparison
// function, three times faster than comparing u128s.
func sortSpans(s []span) {
	small := true
	for _, x := range s {
		if x.hi.hi != 0 || x.hi.lo > 0xffffffff {
			small = false
			break
		}
	}
	if !small {
		slices.SortFunc(s, func(a, b span) int { return a.lo.cmp(b.lo) })
		return
	}
	keys := make([]uint64, len(s))
	for i, x := range s {
		keys[i] = x.lo.lo<<32 | (x.hi.lo - x.lo.lo)
	}
	slices.Sort(keys)
	for i, k := range keys {
		lo := k >> 32
		s[i] = span{u128{0, lo}, u128{0, lo + k&0xffffffff}}
	}
}

func union(a, b spans) spans {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	// Merge the two sorted lists, then join what overlaps or touches.
	merged := make([]span, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var x span
		if j == len(b) || (i < len(a) && a[i].lo.cmp(b[j].lo) <= 0) {
			x, i = a[i], i+1
		} else {
			x, j = b[j], j+1
		}
		if n := len(merged); n > 0 && (x.lo.cmp(merged[n-1].hi) <= 0 || x.lo == merged[n-1].hi.add1()) {
			if x.hi.cmp(merged[n-1].hi) > 0 {
				merged[n-1].hi = x.hi
			}
			continue
		}
		merged = append(merged, x)
	}
	return merged
}

// minus returns the addresses of a not in b.
func (a spans) minus(b spans) spans {
	if len(a) == 0 || len(b) == 0 {
		return a
	}
	var out spans
	for _, x := range a {
		// The first span of b that ends at or after x starts.
		j, _ := slices.BinarySearchFunc(b, x.lo, func(s span, lo u128) int { return s.hi.cmp(lo) })
		lo := x.lo
		done := false
		for ; j < len(b) && b[j].lo.cmp(x.hi) <= 0; j++ {
			if b[j].lo.cmp(lo) > 0 {
				out = append(out, span{lo, b[j].lo.sub1()})
			}
			if b[j].hi.cmp(x.hi) >= 0 {
				done = true
				break
			}
			lo = b[j].hi.add1()
		}
		if !done {
			out = append(out, span{lo, x.hi})
		}
	}
	return out
}

// intersects reports whether a and b share an address.
func (a spans) intersects(b spans) bool {
	for _, x := range a {
		j, _ := slices.BinarySearchFunc(b, x.lo, func(s span, lo u128) int { return s.hi.cmp(lo) })
		if j < len(b) && b[j].lo.cmp(x.hi) <= 0 {
			return true
		}
	}
	return false
}

// prefixes converts the set to its fewest prefixes: each span splits into
// the largest aligned blocks it holds, and since spans are neither
// adjacent nor overlapping, no block of one could merge with another's.
func (a spans) prefixes(v4 bool) []netip.Prefix {
	width := 128
	if v4 {
		width = 32
	}
	out := make([]netip.Prefix, 0, len(a))
	for _, x := range a {
		lo := x.lo
		for {
			// The block size 2^k is bounded by lo's alignment and by the
			// span's remaining length hi-lo+1.
			k := min(lo.trailingZeros(), width)
			if d := x.hi.sub(lo); d == lowMask(128) {
				k = min(k, 128)
			} else {
				k = min(k, d.add1().log2())
			}
			out = append(out, netip.PrefixFrom(numAddr(lo, v4), width-k))
			end := lo.or(lowMask(k))
			if end == x.hi {
				break
			}
			lo = end.add1()
		}
	}
	return out
}

// addrSet is a set of IPv4 and IPv6 addresses.
type addrSet struct{ v4, v6 spans }

func (s addrSet) union(t addrSet) addrSet {
	return addrSet{union(s.v4, t.v4), union(s.v6, t.v6)}
}

func (s addrSet) minus(t addrSet) addrSet {
	return addrSet{s.v4.minus(t.v4), s.v6.minus(t.v6)}
}

func (s addrSet) intersects(t addrSet) bool {
	return s.v4.intersects(t.v4) || s.v6.intersects(t.v6)
}

func (s addrSet) empty() bool { return len(s.v4) == 0 && len(s.v6) == 0 }

// setOf is the address set of aggregated prefix lists (an AddressSet's).
func setOf(v4, v6 []netip.Prefix) addrSet {
	var b setBuilder
	for _, p := range v4 {
		b.addPrefix(p)
	}
	for _, p := range v6 {
		b.addPrefix(p)
	}
	return b.build()
}

// setBuilder collects addresses and prefixes, then normalises once.
type setBuilder struct{ v4, v6 []span }

func (b *setBuilder) addPrefix(p netip.Prefix) {
	if !p.IsValid() {
		return
	}
	if p.Addr().Is4() {
		b.v4 = append(b.v4, prefixSpan(p))
	} else {
		b.v6 = append(b.v6, prefixSpan(p))
	}
}

func (b *setBuilder) addAddr(a netip.Addr) {
	if !a.IsValid() {
		return
	}
	a = a.WithZone("")
	n := addrNum(a)
	if a.Is4() {
		b.v4 = append(b.v4, span{n, n})
	} else {
		b.v6 = append(b.v6, span{n, n})
	}
}

func (b *setBuilder) build() addrSet {
	return addrSet{normalize(b.v4), normalize(b.v6)}
}
