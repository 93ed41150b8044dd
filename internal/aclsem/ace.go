package aclsem

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file holds what IOS-XE extended ACLs and EOS IP access lists have
// in common: an ordered list of entries, each "[SEQ] permit|deny PROTOCOL
// SOURCE [PORTS] DESTINATION [PORTS] [OPTIONS]", evaluated first match
// wins with an implicit deny at the end. The two dialects differ in how
// addresses, names of ports and ICMP messages are written (dialect).

// dialect is one OS's way of writing ACL entries.
type dialect struct {
	os        string
	tcpPorts  map[string]int
	udpPorts  map[string]int
	icmpNames map[string][2]int // name -> type, code (-1: any code)
	// objectGroups: addresses and protocols may name object-groups (IOS).
	objectGroups bool
	// prefixes: addresses may be written A.B.C.D/LEN (EOS).
	prefixes bool
	// logWords are the options that log a match.
	logWords []string
}

// addrSpec is one side of an entry: any, a list of wildcards, or an
// object-group resolved once the whole configuration is read.
type addrSpec struct {
	any   bool
	group string
	ws    []wildcard
}

func (a *addrSpec) match(p Packet, dst bool) bool {
	if a.any {
		return true
	}
	addr := p.Src
	if dst {
		addr = p.Dst
	}
	for _, w := range a.ws {
		if w.match(addr) {
			return true
		}
	}
	return false
}

// svcEntry is one line of an IOS service object-group.
type svcEntry struct {
	proto        int // -1: any IP protocol
	sport, dport *portMatch
	icmpType     int
	icmpCode     int
}

// ace is one entry of an access list.
type ace struct {
	text        string
	seq         int
	permit      bool
	proto       int    // -1: ip (every protocol)
	svcGroup    string // IOS: "permit object-group SVC ..."
	svc         []svcEntry
	src, dst    addrSpec
	sport       *portMatch
	dport       *portMatch
	icmpType    int // -1: any
	icmpCode    int // -1: any
	established bool
	log         bool
}

func (e *ace) match(p Packet) bool {
	if e.svcGroup != "" {
		if !matchService(e.svc, p) {
			return false
		}
	} else if e.proto >= 0 && p.Proto != e.proto {
		return false
	}
	if !e.src.match(p, false) || !e.dst.match(p, true) {
		return false
	}
	if e.proto == TCP || e.proto == UDP {
		if !e.sport.match(p.SrcPort) || !e.dport.match(p.DstPort) {
			return false
		}
	}
	if e.proto == ICMP {
		if e.icmpType >= 0 && p.ICMPType != e.icmpType {
			return false
		}
		if e.icmpCode >= 0 && p.ICMPCode != e.icmpCode {
			return false
		}
	}
	// "established": the TCP segment has ACK or RST set, so it is not the
	// first of a connection. Cisco, "IP Access List Overview" (Security
	// Configuration Guide: Access Control Lists), and the Cisco 850/870
	// Software Configuration Guide, Appendix B "Access Lists": "The
	// established keyword filters TCP packets based on whether the ACK or
	// RST bits are set" (http://www.manualowl.com/m/Cisco/CISCO876-SEC-I-K9/Manual/290416?page=175).
	// EOS documents the same keyword for TCP rules (EOS User Manual, "ACLs
	// and Route Maps", https://www.arista.com/en/um-eos/eos-acls-and-route-maps).
	if e.established && !established(p) {
		return false
	}
	return true
}

func matchService(entries []svcEntry, p Packet) bool {
	for _, s := range entries {
		if s.proto >= 0 && p.Proto != s.proto {
			continue
		}
		if s.proto == -2 && p.Proto != TCP && p.Proto != UDP { // tcp-udp
			continue
		}
		switch p.Proto {
		case TCP, UDP:
			if !s.sport.match(p.SrcPort) || !s.dport.match(p.DstPort) {
				continue
			}
		case ICMP:
			if (s.icmpType >= 0 && p.ICMPType != s.icmpType) || (s.icmpCode >= 0 && p.ICMPCode != s.icmpCode) {
				continue
			}
		}
		return true
	}
	return false
}

// accessList is a named ACL of IOS or EOS.
type accessList struct {
	name    string
	entries []ace
}

// eval runs the entries in order; the first that matches decides, and a
// packet no entry matches is denied. Cisco, "IP Access List Overview"
// (http://www.cisco.com/en/US/docs/ios-xml/ios/sec_data_acl/configuration/15-2mt/sec-access-list-ov.html):
// entries are tested in order, the first match decides, and every access
// list ends with an implicit deny. EOS: "An access control list (ACL) is
// an ordered set of rules" and a packet matching no rule is denied (EOS
// User Manual, "ACLs and Route Maps", Access Control Lists,
// https://www.arista.com/en/um-eos/eos-acls-and-route-maps).
func (l *accessList) eval(p Packet) Verdict {
	for i := range l.entries {
		e := &l.entries[i]
		if e.match(p) {
			return Verdict{Permit: e.permit, Logged: e.log, Filter: l.name, Line: e.text}
		}
	}
	return Verdict{Permit: false, Filter: l.name, Line: "implicit deny"}
}

// add appends an entry. One without a sequence number goes last, numbered
// 10 past the highest so far; sort then orders the list by sequence
// number, the order the device evaluates it in (Cisco, "IP Access List
// Entry Sequence Numbering", Security Configuration Guide: Access Control
// Lists, Cisco IOS XE: "if no sequence number is specified, the entry is
// added at the end with a number 10 greater than the last"; EOS User
// Manual, "ACLs and Route Maps": rules are ordered by sequence number).
func (l *accessList) add(e ace) error {
	last := 0
	for _, x := range l.entries {
		last = max(last, x.seq)
	}
	if e.seq < 0 {
		e.seq = last + 10
	}
	for _, x := range l.entries {
		if x.seq == e.seq {
			return fmt.Errorf("sequence number %d is used twice in %s", e.seq, l.name)
		}
	}
	l.entries = append(l.entries, e)
	slices.SortStableFunc(l.entries, func(a, b ace) int { return a.seq - b.seq })
	return nil
}

// parseEntry reads one entry of an ACL (the line's words). It returns
// ok=false for a remark.
func (d *dialect) parseEntry(text string, w []string) (ace, bool, error) {
	e := ace{text: text, seq: -1, icmpType: -1, icmpCode: -1}
	if len(w) > 0 {
		if n, err := strconv.Atoi(w[0]); err == nil {
			e.seq, w = n, w[1:]
		}
	}
	if len(w) == 0 {
		return e, false, fmt.Errorf("empty entry")
	}
	switch w[0] {
	case "remark":
		return e, false, nil
	case "permit":
		e.permit = true
	case "deny":
	default:
		return e, false, fmt.Errorf("unknown entry %q", w[0])
	}
	w = w[1:]
	if len(w) == 0 {
		return e, false, fmt.Errorf("no protocol")
	}
	var err error
	if w[0] == "object-group" && d.objectGroups {
		if len(w) < 2 {
			return e, false, fmt.Errorf("object-group without a name")
		}
		e.svcGroup, e.proto, w = w[1], -1, w[2:]
	} else {
		if e.proto, err = protocol(w[0]); err != nil {
			return e, false, err
		}
		w = w[1:]
	}
	if e.src, w, err = d.address(w); err != nil {
		return e, false, fmt.Errorf("source: %w", err)
	}
	if e.proto == TCP || e.proto == UDP {
		if e.sport, w, err = d.ports(e.proto, w); err != nil {
			return e, false, fmt.Errorf("source port: %w", err)
		}
	}
	if e.dst, w, err = d.address(w); err != nil {
		return e, false, fmt.Errorf("destination: %w", err)
	}
	if e.proto == TCP || e.proto == UDP {
		if e.dport, w, err = d.ports(e.proto, w); err != nil {
			return e, false, fmt.Errorf("destination port: %w", err)
		}
	}
	if e.proto == ICMP && len(w) > 0 {
		if tc, ok := d.icmpNames[w[0]]; ok {
			e.icmpType, e.icmpCode, w = tc[0], tc[1], w[1:]
		} else if n, err := strconv.Atoi(w[0]); err == nil && n >= 0 && n <= 255 {
			e.icmpType, w = n, w[1:]
			if len(w) > 0 {
				if c, err := strconv.Atoi(w[0]); err == nil && c >= 0 && c <= 255 {
					e.icmpCode, w = c, w[1:]
				}
			}
		}
	}
	for _, opt := range w {
		switch {
		case opt == "established" && e.proto == TCP:
			e.established = true
		case contains(d.logWords, opt):
			e.log = true
		default:
			return e, false, fmt.Errorf("option %q is not one this evaluator knows", opt)
		}
	}
	return e, true, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// protocol reads the protocol word of an entry: ip (every protocol), a
// name, or a number 0-255.
func protocol(tok string) (int, error) {
	switch tok {
	case "ip":
		return -1, nil
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	case "icmp":
		return ICMP, nil
	}
	n, err := strconv.Atoi(tok)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("unknown protocol %q", tok)
	}
	return n, nil
}

// address reads one address of an entry. Both OSes: any, host A,
// A.B.C.D WILDCARD (wildcard bits: 1 means "ignore this bit"; Cisco, "IP
// Access List Overview", "Source and Destination Addresses" and "Wildcard
// Mask for Addresses in an Access List"). IOS adds object-group NAME
// (Cisco, "Object Groups for ACLs",
// https://cisco.com/c/en/us/td/docs/routers/ios/config/17-x/sec-vpn/b-security-vpn/m_sec_zbf_ogacl-xe.html);
// EOS adds A.B.C.D/LEN (EOS User Manual, "ACLs and Route Maps", ACL rule
// parameters, https://www.arista.com/en/um-eos/eos-acls-and-route-maps).
func (d *dialect) address(w []string) (addrSpec, []string, error) {
	if len(w) == 0 {
		return addrSpec{}, w, fmt.Errorf("missing")
	}
	switch {
	case w[0] == "any":
		return addrSpec{any: true}, w[1:], nil
	case w[0] == "host":
		if len(w) < 2 {
			return addrSpec{}, w, fmt.Errorf("host without an address")
		}
		a, err := parseIPv4(w[1])
		if err != nil {
			return addrSpec{}, w, err
		}
		return addrSpec{ws: []wildcard{{u32(a), 0}}}, w[2:], nil
	case w[0] == "object-group" && d.objectGroups:
		if len(w) < 2 {
			return addrSpec{}, w, fmt.Errorf("object-group without a name")
		}
		return addrSpec{group: w[1]}, w[2:], nil
	case d.prefixes && strings.Contains(w[0], "/"):
		p, err := parsePrefix(w[0])
		if err != nil {
			return addrSpec{}, w, err
		}
		return addrSpec{ws: []wildcard{prefixWildcard(p)}}, w[1:], nil
	}
	a, err := parseIPv4(w[0])
	if err != nil {
		return addrSpec{}, w, err
	}
	if len(w) < 2 {
		return addrSpec{}, w, fmt.Errorf("address %s without wildcard bits", w[0])
	}
	m, err := parseIPv4(w[1])
	if err != nil {
		return addrSpec{}, w, fmt.Errorf("wildcard bits: %w", err)
	}
	return addrSpec{ws: []wildcard{{u32(a), u32(m)}}}, w[2:], nil
}

// ports reads an optional port operator: eq P..., neq P..., lt P, gt P,
// range P1 P2 (Cisco, "IP Access List Overview", and "Named ACL Support
// for Noncontiguous Ports on an Access Control Entry" for several ports
// after eq/neq; EOS User Manual, "ACLs and Route Maps", port operators).
func (d *dialect) ports(proto int, w []string) (*portMatch, []string, error) {
	if len(w) == 0 {
		return nil, w, nil
	}
	names := d.tcpPorts
	if proto == UDP {
		names = d.udpPorts
	}
	op := w[0]
	switch op {
	case "eq", "neq":
		m := &portMatch{op: op}
		rest := w[1:]
		for len(rest) > 0 {
			n, err := portNumber(rest[0], names)
			if err != nil {
				break
			}
			m.values, rest = append(m.values, n), rest[1:]
		}
		if len(m.values) == 0 {
			return nil, w, fmt.Errorf("%s without a port", op)
		}
		return m, rest, nil
	case "lt", "gt":
		if len(w) < 2 {
			return nil, w, fmt.Errorf("%s without a port", op)
		}
		n, err := portNumber(w[1], names)
		if err != nil {
			return nil, w, err
		}
		return &portMatch{op: op, values: []int{n}}, w[2:], nil
	case "range":
		if len(w) < 3 {
			return nil, w, fmt.Errorf("range needs two ports")
		}
		lo, err1 := portNumber(w[1], names)
		hi, err2 := portNumber(w[2], names)
		if err1 != nil || err2 != nil {
			return nil, w, fmt.Errorf("range %s %s: not ports", w[1], w[2])
		}
		if lo > hi {
			return nil, w, fmt.Errorf("range %d %d runs backwards", lo, hi)
		}
		return &portMatch{op: op, values: []int{lo, hi}}, w[3:], nil
	}
	return nil, w, nil
}

// parsePrefix reads an IPv4 A.B.C.D/LEN; host bits are ignored, as the
// length says.
func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 prefix", s)
	}
	return p.Masked(), nil
}
