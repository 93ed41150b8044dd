package aclsem

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
const (
	ICMP = 1
	TCP  = 6
	UDP  = 17
)

// TCP flag bits (RFC 9293, section 3.1).
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// Packet is what a filter looks at: the IPv4 header's addresses and
// protocol, the TCP or UDP ports, the TCP flags and the ICMP type.
type Packet struct {
	Src, Dst         netip.Addr
	Proto            int
	SrcPort, DstPort int // TCP and UDP only
	Flags            int // TCP only
	ICMPType         int // ICMP only
	ICMPCode         int
}

// String is a one-line description for a disagreement table.
func (p Packet) String() string {
	switch p.Proto {
	case TCP:
		var f []string
		for _, b := range []struct {
			bit  int
			name string
		}{{SYN, "SYN"}, {ACK, "ACK"}, {RST, "RST"}, {FIN, "FIN"}, {PSH, "PSH"}} {
			if p.Flags&b.bit != 0 {
				f = append(f, b.name)
			}
		}
		return fmt.Sprintf("tcp %s:%d > %s:%d [%s]", p.Src, p.SrcPort, p.Dst, p.DstPort, strings.Join(f, ","))
	case UDP:
		return fmt.Sprintf("udp %s:%d > %s:%d", p.Src, p.SrcPort, p.Dst, p.DstPort)
	case ICMP:
		return fmt.Sprintf("icmp %s > %s type %d code %d", p.Src, p.Dst, p.ICMPType, p.ICMPCode)
	}
	return fmt.Sprintf("proto %d %s > %s", p.Proto, p.Src, p.Dst)
}

// Verdict is what one filter, or a path through two, decided.
type Verdict struct {
	Permit bool
	// Logged: the deciding entry logs or counts the packet (IOS and EOS
	// log, Junos count, log or syslog).
	Logged bool
	// Filter is the filter that decided ("" when none was bound).
	Filter string
	// Line is the deciding entry as the configuration writes it, or
	// "implicit deny" / "no filter bound".
	Line string
}

// filter is one named ACL or firewall filter, ready to evaluate.
type filter interface {
	eval(Packet) Verdict
}

// Filters is what a configuration filters on its VLAN interfaces: the
// named filters and which is bound, in which direction, on which VLAN.
type Filters struct {
	OS      string
	filters map[string]filter
	in, out map[int]string // VLAN -> filter name
}

func newFilters(os string) *Filters {
	return &Filters{OS: os, filters: map[string]filter{}, in: map[int]string{}, out: map[int]string{}}
}

// Inbound returns the name of the filter bound inbound on VLAN vlan.
func (f *Filters) Inbound(vlan int) (string, bool) {
	n, ok := f.in[vlan]
	return n, ok
}

// Forward evaluates a packet routed from VLAN inVLAN to VLAN outVLAN: the
// inbound filter of the first, then the outbound filter of the second. A
// VLAN of 0 is a routed port outside the zone VLANs (an uplink towards the
// data centre), which the configuration does not filter. An interface
// with no filter bound forwards everything.
func (f *Filters) Forward(inVLAN, outVLAN int, p Packet) Verdict {
	v := Verdict{Permit: true, Line: "no filter bound"}
	if name, ok := f.in[inVLAN]; ok && inVLAN != 0 {
		v = f.filters[name].eval(p)
		if !v.Permit {
			return v
		}
	}
	if name, ok := f.out[outVLAN]; ok && outVLAN != 0 {
		w := f.filters[name].eval(p)
		if !w.Permit || v.Filter == "" {
			return w
		}
		v.Logged = v.Logged || w.Logged
	}
	return v
}

// bind records an access-group or filter input/output statement.
func (f *Filters) bind(vlan int, dir, name string) error {
	m := f.in
	if dir == "out" {
		m = f.out
	}
	if prev, ok := m[vlan]; ok && prev != name {
		return fmt.Errorf("VLAN %d has two %sbound filters, %s and %s", vlan, dir, prev, name)
	}
	m[vlan] = name
	return nil
}

// check reports a binding that names a filter the configuration lacks.
// IOS and EOS accept an access-group naming an absent ACL and then filter
// nothing, which is never what Ward means, so it is an error here.
func (f *Filters) check() error {
	for _, m := range []map[int]string{f.in, f.out} {
		for vlan, name := range m {
			if _, ok := f.filters[name]; !ok {
				return fmt.Errorf("VLAN %d is bound to filter %q, which the configuration does not define", vlan, name)
			}
		}
	}
	return nil
}

// portRange is an inclusive range of ports.
type portRange struct{ lo, hi int }

// portMatch is an IOS/EOS port operator, or nil for any port.
type portMatch struct {
	op     string // eq, neq, lt, gt, range
	values []int
}

func (m *portMatch) match(port int) bool {
	if m == nil {
		return true
	}
	switch m.op {
	case "eq":
		for _, v := range m.values {
			if port == v {
				return true
			}
		}
		return false
	case "neq":
		for _, v := range m.values {
			if port == v {
				return false
			}
		}
		return true
	case "lt":
		return port < m.values[0]
	case "gt":
		return port > m.values[0]
	case "range":
		return port >= m.values[0] && port <= m.values[1]
	}
	return false
}

// wildcard is an address and wildcard bits (1 = ignore), the form both
// IOS and EOS addresses reduce to; a prefix is the wildcard of its
// inverted mask.
type wildcard struct{ addr, bits uint32 }

func (w wildcard) match(a netip.Addr) bool {
	return (u32(a) &^ w.bits) == (w.addr &^ w.bits)
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func prefixWildcard(p netip.Prefix) wildcard {
	bits := uint32(0)
	if p.Bits() < 32 {
		bits = ^uint32(0) >> p.Bits()
	}
	return wildcard{u32(p.Addr()), bits}
}

func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	return a, nil
}

// portNumber reads a port as a number 0-65535 or a name of names.
func portNumber(tok string, names map[string]int) (int, error) {
	if n, err := strconv.Atoi(tok); err == nil {
		if n < 0 || n > 65535 {
			return 0, fmt.Errorf("port %d is outside 0-65535", n)
		}
		return n, nil
	}
	if n, ok := names[tok]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("unknown port %q", tok)
}

// established is the stateless "established" test of IOS and EOS and
// Junos' tcp-established: a TCP segment with ACK or RST set, that is any
// segment but the first of a connection.
func established(p Packet) bool {
	return p.Proto == TCP && p.Flags&(ACK|RST) != 0
}
