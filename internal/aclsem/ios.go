package aclsem

import (
	"fmt"
	"strconv"
	"strings"
)

// iosDialect is how IOS-XE writes extended ACL entries.
//
// Port names: the acl-port-type enumeration of the IOS-XE native YANG
// model (Cisco-IOS-XE-acl.yang,
// https://github.com/YangModels/yang/blob/main/vendor/cisco/xe/17121/Cisco-IOS-XE-acl.yang),
// with the well-known numbers IOS gives them; IOS prints a port it has a
// name for by that name ("eq www", "eq domain"), whatever was typed.
// ICMP message names: the same model's icmp message enumeration
// (type, and code where the name is a code of a type).
func iosDialect() *dialect {
	return &dialect{
		os: "cisco_iosxe",
		tcpPorts: map[string]int{
			"bgp": 179, "chargen": 19, "cmd": 514, "daytime": 13, "discard": 9, "domain": 53,
			"echo": 7, "exec": 512, "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70,
			"hostname": 101, "ident": 113, "irc": 194, "klogin": 543, "kshell": 544, "login": 513,
			"lpd": 515, "msrpc": 135, "nntp": 119, "pim-auto-rp": 496, "pop2": 109, "pop3": 110,
			"smtp": 25, "sunrpc": 111, "tacacs": 49, "talk": 517, "telnet": 23, "time": 37,
			"uucp": 540, "whois": 43, "www": 80,
		},
		udpPorts: map[string]int{
			"biff": 512, "bootpc": 68, "bootps": 67, "discard": 9, "dnsix": 195, "domain": 53,
			"echo": 7, "isakmp": 500, "mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138,
			"netbios-ns": 137, "netbios-ss": 139, "non500-isakmp": 4500, "ntp": 123,
			"pim-auto-rp": 496, "rip": 520, "snmp": 161, "snmptrap": 162, "sunrpc": 111,
			"syslog": 514, "tacacs": 49, "talk": 517, "tftp": 69, "time": 37, "who": 513, "xdmcp": 177,
		},
		icmpNames:    ciscoICMPNames(),
		objectGroups: true,
		logWords:     []string{"log", "log-input"},
	}
}

// ciscoICMPNames are the ICMP message names of IOS-XE (and, the same
// words, of EOS): type and code, -1 for any code. Types and codes are
// IANA's "ICMP Type Numbers".
func ciscoICMPNames() map[string][2]int {
	return map[string][2]int{
		"echo-reply": {0, -1}, "unreachable": {3, -1}, "net-unreachable": {3, 0},
		"host-unreachable": {3, 1}, "protocol-unreachable": {3, 2}, "port-unreachable": {3, 3},
		"packet-too-big": {3, 4}, "source-route-failed": {3, 5}, "network-unknown": {3, 6},
		"host-unknown": {3, 7}, "host-isolated": {3, 8}, "dod-net-prohibited": {3, 9},
		"dod-host-prohibited": {3, 10}, "net-tos-unreachable": {3, 11}, "host-tos-unreachable": {3, 12},
		"administratively-prohibited": {3, 13}, "host-precedence-unreachable": {3, 14},
		"precedence-unreachable": {3, 15}, "source-quench": {4, -1}, "redirect": {5, -1},
		"net-redirect": {5, 0}, "host-redirect": {5, 1}, "net-tos-redirect": {5, 2},
		"host-tos-redirect": {5, 3}, "alternate-address": {6, -1}, "echo": {8, -1},
		"router-advertisement": {9, -1}, "router-solicitation": {10, -1}, "time-exceeded": {11, -1},
		"ttl-exceeded": {11, 0}, "reassembly-timeout": {11, 1}, "parameter-problem": {12, -1},
		"general-parameter-problem": {12, 0}, "option-missing": {12, 1}, "no-room-for-option": {12, 2},
		"timestamp-request": {13, -1}, "timestamp-reply": {14, -1}, "information-request": {15, -1},
		"information-reply": {16, -1}, "mask-request": {17, -1}, "mask-reply": {18, -1},
		"traceroute": {30, -1}, "conversion-error": {31, -1}, "mobile-redirect": {32, -1},
	}
}

// netGroup is an IOS network object-group before its nested groups are
// resolved.
type netGroup struct {
	ws       []wildcard
	includes []string
}

// ParseIOS reads the ACLs of an IOS-XE configuration (running-config
// form: top-level commands at column 0, their sub-commands indented) and
// the ACLs bound on its VLAN interfaces:
//
//	object-group network NAME       host A | A.B.C.D NETMASK | A.B.C.D/LEN | any | group-object NAME | description ...
//	object-group service NAME       tcp|udp|tcp-udp [source OP PORTS] [OP PORTS] | icmp [TYPE] | ip | description ...
//	ip access-list extended NAME    [SEQ] permit|deny|remark ...
//	ip access-list standard NAME    [SEQ] permit|deny SOURCE [log]
//	interface VlanN                 ip access-group NAME in|out
//
// Other top-level commands and their sub-commands are not filters and are
// skipped; a line inside an ACL or object-group that is not one of these
// forms is an error, so nothing unread can change the verdicts.
func ParseIOS(text string) (*Filters, error) {
	d := iosDialect()
	f := newFilters(d.os)
	netGroups := map[string]*netGroup{}
	svcGroups := map[string][]svcEntry{}
	var lists []*accessList
	type context struct {
		kind string // acl, std, netgroup, svcgroup, vlan, skip
		name string
		vlan int
	}
	cur := context{kind: "skip"}
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimRight(raw, " \r\t")
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "!") || trim == "end" {
			continue
		}
		w := strings.Fields(trim)
		fail := func(err error) error { return fmt.Errorf("line %d %q: %w", i+1, trim, err) }
		if line[0] != ' ' {
			cur = context{kind: "skip"}
			switch {
			case len(w) == 3 && w[0] == "object-group" && w[1] == "network":
				if netGroups[w[2]] == nil {
					netGroups[w[2]] = &netGroup{}
				}
				cur = context{kind: "netgroup", name: w[2]}
			case len(w) == 3 && w[0] == "object-group" && w[1] == "service":
				cur = context{kind: "svcgroup", name: w[2]}
				if _, ok := svcGroups[w[2]]; !ok {
					svcGroups[w[2]] = nil
				}
			case len(w) == 4 && w[0] == "ip" && w[1] == "access-list" && (w[2] == "extended" || w[2] == "standard"):
				kind := "acl"
				if w[2] == "standard" {
					kind = "std"
				}
				if _, dup := f.filters[w[3]]; !dup {
					l := &accessList{name: w[3]}
					f.filters[w[3]] = l
					lists = append(lists, l)
				}
				cur = context{kind: kind, name: w[3]}
			case len(w) >= 2 && w[0] == "interface" && strings.HasPrefix(strings.Join(w[1:], ""), "Vlan"):
				n, err := strconv.Atoi(strings.TrimPrefix(strings.Join(w[1:], ""), "Vlan"))
				if err != nil || n < 1 || n > 4094 {
					return nil, fail(fmt.Errorf("not a VLAN interface"))
				}
				cur = context{kind: "vlan", vlan: n}
			case len(w) >= 2 && w[0] == "ip" && w[1] == "access-list":
				return nil, fail(fmt.Errorf("an access list this evaluator does not read"))
			}
			continue
		}
		if err := d.iosSubCommand(f, cur.kind, cur.name, cur.vlan, w, trim, netGroups, svcGroups); err != nil {
			return nil, fail(err)
		}
	}
	if err := resolveGroups(lists, netGroups, svcGroups); err != nil {
		return nil, err
	}
	return f, f.check()
}

// iosSubCommand reads one indented line under the top-level command
// kind (acl, std, netgroup, svcgroup, vlan; skip reads nothing).
func (d *dialect) iosSubCommand(f *Filters, kind, name string, vlan int, w []string, trim string,
	netGroups map[string]*netGroup, svcGroups map[string][]svcEntry) error {
	switch kind {
	case "acl", "std":
		l := f.filters[name].(*accessList)
		var e ace
		var ok bool
		var err error
		if kind == "acl" {
			e, ok, err = d.parseEntry(trim, w)
		} else {
			e, ok, err = d.parseStandard(trim, w)
		}
		if err != nil {
			return err
		}
		if ok {
			if err := l.add(e); err != nil {
				return err
			}
		}
	case "netgroup":
		if err := parseNetMember(netGroups[name], w); err != nil {
			return err
		}
	case "svcgroup":
		if w[0] == "description" {
			return nil
		}
		s, err := d.parseService(w)
		if err != nil {
			return err
		}
		svcGroups[name] = append(svcGroups[name], s)
	case "vlan":
		// "ip access-group NAME in|out" applies an ACL to the
		// interface (Cisco, "IP Access List Overview", "Applying an
		// access list to an interface"); other interface commands do
		// not filter.
		if len(w) >= 2 && w[0] == "ip" && w[1] == "access-group" {
			if len(w) != 4 || (w[3] != "in" && w[3] != "out") {
				return fmt.Errorf("ip access-group NAME in|out expected")
			}
			if err := f.bind(vlan, w[3], w[2]); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveGroups replaces the object-groups entries name by their members,
// once every group has been read.
func resolveGroups(lists []*accessList, netGroups map[string]*netGroup, svcGroups map[string][]svcEntry) error {
	for _, l := range lists {
		for k := range l.entries {
			e := &l.entries[k]
			for _, a := range []*addrSpec{&e.src, &e.dst} {
				if a.group == "" {
					continue
				}
				ws, err := resolveNetGroup(netGroups, a.group, nil)
				if err != nil {
					return fmt.Errorf("access list %s, entry %q: %w", l.name, e.text, err)
				}
				a.ws = ws
			}
			if e.svcGroup != "" {
				s, ok := svcGroups[e.svcGroup]
				if !ok {
					return fmt.Errorf("access list %s, entry %q: no object-group service %s", l.name, e.text, e.svcGroup)
				}
				e.svc = s
			}
		}
	}
	return nil
}

// parseStandard reads an entry of a standard ACL: source address only.
func (d *dialect) parseStandard(text string, w []string) (ace, bool, error) {
	e := ace{text: text, seq: -1, proto: -1, icmpType: -1, icmpCode: -1, dst: addrSpec{any: true}}
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
	// A standard entry's source may be a bare address (wildcard 0.0.0.0).
	if len(w) == 1 || (len(w) == 2 && contains(d.logWords, w[1])) {
		if a, err := parseIPv4(w[0]); err == nil {
			w = append([]string{"host", a.String()}, w[1:]...)
		}
	}
	var err error
	if e.src, w, err = d.address(w); err != nil {
		return e, false, err
	}
	for _, opt := range w {
		if !contains(d.logWords, opt) {
			return e, false, fmt.Errorf("option %q is not one this evaluator knows", opt)
		}
		e.log = true
	}
	return e, true, nil
}

// parseNetMember reads one line of an object-group network. Members are
// hosts, networks with a network mask (not wildcard bits) or a prefix
// length, or nested groups (Cisco, "Object Groups for ACLs", "Objects
// Allowed in Network Object Groups",
// https://cisco.com/c/en/us/td/docs/routers/ios/config/17-x/sec-vpn/b-security-vpn/m_sec_zbf_ogacl-xe.html).
func parseNetMember(g *netGroup, w []string) error {
	switch {
	case w[0] == "description":
		return nil
	case w[0] == "any" && len(w) == 1:
		g.ws = append(g.ws, wildcard{0, ^uint32(0)})
		return nil
	case w[0] == "host" && len(w) == 2:
		a, err := parseIPv4(w[1])
		if err != nil {
			return err
		}
		g.ws = append(g.ws, wildcard{u32(a), 0})
		return nil
	case w[0] == "group-object" && len(w) == 2:
		g.includes = append(g.includes, w[1])
		return nil
	case len(w) == 1 && strings.Contains(w[0], "/"):
		p, err := parsePrefix(w[0])
		if err != nil {
			return err
		}
		g.ws = append(g.ws, prefixWildcard(p))
		return nil
	case len(w) == 2:
		a, err := parseIPv4(w[0])
		if err != nil {
			return err
		}
		m, err := parseIPv4(w[1])
		if err != nil {
			return err
		}
		mask := u32(m)
		if mask != 0 && (^mask)&(^mask+1) != 0 {
			return fmt.Errorf("%s is not a network mask (object-group members take a mask, not wildcard bits)", w[1])
		}
		g.ws = append(g.ws, wildcard{u32(a), ^mask})
		return nil
	}
	return fmt.Errorf("not an object-group network member this evaluator knows")
}

func resolveNetGroup(groups map[string]*netGroup, name string, seen []string) ([]wildcard, error) {
	g, ok := groups[name]
	if !ok {
		return nil, fmt.Errorf("no object-group network %s", name)
	}
	if contains(seen, name) {
		return nil, fmt.Errorf("object-group %s includes itself", name)
	}
	out := append([]wildcard(nil), g.ws...)
	for _, inc := range g.includes {
		ws, err := resolveNetGroup(groups, inc, append(seen, name))
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

// parseService reads one line of an object-group service: a protocol,
// with ports for tcp, udp and tcp-udp (destination ports unless after
// "source"), or an ICMP message for icmp (Cisco, "Object Groups for
// ACLs", "Objects Allowed in Service Object Groups").
func (d *dialect) parseService(w []string) (svcEntry, error) {
	s := svcEntry{icmpType: -1, icmpCode: -1}
	protos := []int{}
	switch w[0] {
	case "tcp-udp":
		protos = []int{TCP, UDP}
	default:
		p, err := protocol(w[0])
		if err != nil {
			return s, err
		}
		protos = []int{p}
	}
	w = w[1:]
	if len(protos) == 2 {
		// tcp-udp: the port names must be valid for both; read as TCP.
		s.proto = -2
	} else {
		s.proto = protos[0]
	}
	readPorts := func(w []string) (*portMatch, []string, error) {
		proto := TCP
		if s.proto == UDP {
			proto = UDP
		}
		return d.ports(proto, w)
	}
	var err error
	switch {
	case s.proto == ICMP:
		if len(w) > 0 {
			tc, ok := d.icmpNames[w[0]]
			if !ok {
				return s, fmt.Errorf("unknown ICMP message %q", w[0])
			}
			s.icmpType, s.icmpCode, w = tc[0], tc[1], w[1:]
		}
	case s.proto == TCP || s.proto == UDP || s.proto == -2:
		if len(w) > 0 && w[0] == "source" {
			if s.sport, w, err = readPorts(w[1:]); err != nil || s.sport == nil {
				return s, fmt.Errorf("source ports: %v", err)
			}
		}
		if s.dport, w, err = readPorts(w); err != nil {
			return s, err
		}
	}
	if len(w) > 0 {
		return s, fmt.Errorf("unexpected %q", strings.Join(w, " "))
	}
	return s, nil
}
