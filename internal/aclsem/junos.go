package aclsem

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Junos statements are a tree (the configuration hierarchy); "set" lines
// and the brace form are two writings of it (Junos CLI User Guide, "Display
// Set Command", https://juniper.net/documentation/en_US/junos12.3/topics/reference/command-summary/show-cli.html,
// and "Configuration statements and identifiers").
type jnode struct {
	name     string
	children []*jnode
}

func (n *jnode) child(name string) *jnode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (n *jnode) add(path []string) {
	cur := n
	for _, p := range path {
		c := cur.child(p)
		if c == nil {
			c = &jnode{name: p}
			cur.children = append(cur.children, c)
		}
		cur = c
	}
}

func (n *jnode) remove(path []string) {
	cur := n
	for i, p := range path {
		c := cur.child(p)
		if c == nil {
			return
		}
		if i == len(path)-1 {
			for k, x := range cur.children {
				if x == c {
					cur.children = append(cur.children[:k], cur.children[k+1:]...)
					return
				}
			}
		}
		cur = c
	}
}

func (n *jnode) get(path ...string) *jnode {
	cur := n
	for _, p := range path {
		if cur = cur.child(p); cur == nil {
			return nil
		}
	}
	return cur
}

// junosWords splits a line into words, a double-quoted string being one.
func junosWords(line string) ([]string, error) {
	var out []string
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quoted string")
			}
			out = append(out, line[i+1:i+1+j])
			i += j + 2
		case c == '{' || c == '}' || c == ';' || c == '[' || c == ']':
			out = append(out, string(c))
			i++
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t\"{};[]", rune(line[j])) {
				j++
			}
			out = append(out, line[i:j])
			i = j
		}
	}
	return out, nil
}

// junosTree reads set/delete lines or the brace form into the tree.
func junosTree(text string) (*jnode, error) {
	lines := strings.Split(text, "\n")
	setForm := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		setForm = strings.HasPrefix(t, "set ") || strings.HasPrefix(t, "delete ")
		break
	}
	if setForm {
		return junosSetTree(lines)
	}
	return junosBraceTree(lines)
}

// junosBraceTree reads the brace form: statements end with ";",
// containers open with "{", "[ a b ]" lists several values.
func junosBraceTree(lines []string) (*jnode, error) {
	root := &jnode{}
	var words []string
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if k := strings.Index(t, "/*"); k >= 0 {
			return nil, fmt.Errorf("line %d: comments /* */ are not read", i+1)
		}
		w, err := junosWords(t)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", i+1, t, err)
		}
		words = append(words, w...)
	}
	var stack [][]string
	var pending []string
	path := func() []string {
		var p []string
		for _, s := range stack {
			p = append(p, s...)
		}
		return p
	}
	for k := 0; k < len(words); k++ {
		switch w := words[k]; w {
		case "{":
			stack = append(stack, pending)
			pending = nil
		case "}":
			if len(stack) == 0 || len(pending) > 0 {
				return nil, fmt.Errorf("unbalanced braces")
			}
			stack = stack[:len(stack)-1]
		case ";":
			if len(pending) > 0 {
				root.add(append(path(), pending...))
			}
			pending = nil
		case "[":
			end := k + 1
			for end < len(words) && words[end] != "]" {
				end++
			}
			if end == len(words) {
				return nil, fmt.Errorf("unterminated [ list")
			}
			for _, v := range words[k+1 : end] {
				root.add(append(append(path(), pending...), v))
			}
			k = end
			if k+1 < len(words) && words[k+1] == ";" {
				k++
			}
			pending = nil
		default:
			if strings.HasPrefix(w, "inactive:") {
				return nil, fmt.Errorf("inactive statements are not read")
			}
			pending = append(pending, w)
		}
	}
	if len(stack) > 0 || len(pending) > 0 {
		return nil, fmt.Errorf("unbalanced braces")
	}
	return root, nil
}

// junosSetTree reads set and delete lines (display set form).
func junosSetTree(lines []string) (*jnode, error) {
	root := &jnode{}
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		w, err := junosWords(t)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", i+1, t, err)
		}
		switch w[0] {
		case "set":
			root.add(w[1:])
		case "delete":
			root.remove(w[1:])
		default:
			return nil, fmt.Errorf("line %d %q: neither set nor delete", i+1, t)
		}
	}
	return root, nil
}

// jaddr is an address condition: prefixes, some marked except, matched by
// the longest prefix that contains the address, with an implicit
// "0.0.0.0/0 except" at the end. Junos "Specifying Address Filter Match
// Conditions" (Policy Framework Configuration Guide,
// http://www.juniper.net/techpubs/software/junos/junos82/swconfig82-policy/html/firewall-config12.html):
// "If prefixes overlap, longest-match rules are used ... Each list of
// prefixes contains an implicit 0/0 except statement, which means that any
// prefix that does not match any prefix in the list is explicitly
// considered not to match." So an empty prefix-list matches no address;
// Batfish's model of Junos filters reads it the same way
// (batfish/batfish, projects/batfish/src/main/java/org/batfish/representation/juniper/FwFromSourcePrefixList.java:
// "if referenced prefix list is empty, it should not match anything").
type jaddr struct {
	prefixes []netip.Prefix
	except   []bool
}

func (a *jaddr) match(addr netip.Addr) bool {
	best, hit := -1, false
	for i, p := range a.prefixes {
		if p.Contains(addr) && p.Bits() > best {
			best, hit = p.Bits(), !a.except[i]
		}
	}
	return hit
}

type jterm struct {
	name                 string
	text                 string
	src, dst, either     *jaddr
	protos               []int
	sports, dports, port []portRange
	tcpEstablished       bool
	tcpInitial           bool
	icmpTypes            []int
	action               string // accept, discard, reject, next
	logged               bool
}

func inRanges(rs []portRange, v int) bool {
	for _, r := range rs {
		if v >= r.lo && v <= r.hi {
			return true
		}
	}
	return false
}

// match: every from condition must hold; a condition given several
// values holds when one does ("Understanding Firewall Filter Match
// Conditions": "All conditions must match for the action to occur";
// https://www.juniper.net/documentation/ru/ru/software/junos/routing-policy/topics/concept/firewall-filter-qfx-series-match-understanding.html).
// A term without from matches every packet.
func (t *jterm) match(p Packet) bool {
	if t.src != nil && !t.src.match(p.Src) {
		return false
	}
	if t.dst != nil && !t.dst.match(p.Dst) {
		return false
	}
	if t.either != nil && !t.either.match(p.Src) && !t.either.match(p.Dst) {
		return false
	}
	if len(t.protos) > 0 && !containsInt(t.protos, p.Proto) {
		return false
	}
	ported := p.Proto == TCP || p.Proto == UDP
	if len(t.sports) > 0 && (!ported || !inRanges(t.sports, p.SrcPort)) {
		return false
	}
	if len(t.dports) > 0 && (!ported || !inRanges(t.dports, p.DstPort)) {
		return false
	}
	if len(t.port) > 0 && (!ported || (!inRanges(t.port, p.SrcPort) && !inRanges(t.port, p.DstPort))) {
		return false
	}
	// tcp-established: "(ack | rst)", every TCP segment but the first of
	// a connection; tcp-initial: "(syn & !ack)". Junos "Firewall Filter
	// Match Conditions Based on Bit-Field Values", Table 2
	// (https://juniper.net/documentation/us/en/software/junos/routing-policy/topics/concept/firewall-filter-stateless-match-conditions-bit-field-values.html).
	// Only TCP segments carry the flags.
	if t.tcpEstablished && !established(p) {
		return false
	}
	if t.tcpInitial && !(p.Proto == TCP && p.Flags&SYN != 0 && p.Flags&ACK == 0) {
		return false
	}
	if len(t.icmpTypes) > 0 && (p.Proto != ICMP || !containsInt(t.icmpTypes, p.ICMPType)) {
		return false
	}
	return true
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

type jfilter struct {
	name  string
	terms []*jterm
}

// eval runs the terms in order; the first matching term with a
// terminating action decides (accept; discard or reject drop the packet);
// a matching term without one accepts, unless its action is "next term".
// A packet no term takes is discarded: "Each firewall filter in Junos OS
// has an implicit discard action at the end of the filter" (Junos
// "Example: Adding a Final then accept Term to a Firewall",
// https://juniper.net/documentation/us/en/software/junos/automation-scripting/topics/example/junos-script-automation-commit-script-adding-firewall-final-accept-term.html;
// "Understanding How Firewall Filters Are Evaluated" for EX switches,
// http://www.juniper.net/techpubs/en_US/junos/topics/concept/firewall-filter-ex-series-evaluation-understanding.html).
func (f *jfilter) eval(p Packet) Verdict {
	for _, t := range f.terms {
		if !t.match(p) {
			continue
		}
		switch t.action {
		case "next":
			continue
		case "discard", "reject":
			return Verdict{Permit: false, Logged: t.logged, Filter: f.name, Line: t.text}
		}
		return Verdict{Permit: true, Logged: t.logged, Filter: f.name, Line: t.text}
	}
	return Verdict{Permit: false, Filter: f.name, Line: "implicit discard"}
}

// junosPorts: the text synonyms Junos accepts for destination-port and
// source-port, from "Firewall Filter Match Conditions for IPv4 Traffic"
// (https://www.juniper.net/documentation/us/en/software/junos/routing-policy/topics/concept/firewall-filter-match-conditions-for-ipv4-traffic.html).
func junosPorts() map[string]int {
	return map[string]int{
		"afs": 1483, "bgp": 179, "biff": 512, "bootpc": 68, "bootps": 67, "cmd": 514,
		"cvspserver": 2401, "dhcp": 67, "domain": 53, "eklogin": 2105, "ekshell": 2106,
		"exec": 512, "finger": 79, "ftp": 21, "ftp-data": 20, "http": 80, "https": 443,
		"ident": 113, "imap": 143, "kerberos-sec": 88, "klogin": 543, "kpasswd": 761,
		"krb-prop": 754, "krbupdate": 760, "kshell": 544, "ldap": 389, "ldp": 646,
		"login": 513, "mobileip-agent": 434, "mobilip-mn": 435, "msdp": 639,
		"netbios-dgm": 138, "netbios-ns": 137, "netbios-ssn": 139, "nfsd": 2049,
		"nntp": 119, "ntalk": 518, "ntp": 123, "pop3": 110, "pptp": 1723, "printer": 515,
		"radacct": 1813, "radius": 1812, "rip": 520, "rkinit": 2108, "smtp": 25, "snmp": 161,
		"snmptrap": 162, "snpp": 444, "socks": 1080, "ssh": 22, "sunrpc": 111, "syslog": 514,
		"tacacs": 49, "tacacs-ds": 65, "talk": 517, "telnet": 23, "tftp": 69, "timed": 525,
		"who": 513, "xdmcp": 177,
	}
}

// junosICMP: icmp-type text synonyms, same document.
func junosICMP() map[string]int {
	return map[string]int{
		"echo-reply": 0, "unreachable": 3, "source-quench": 4, "redirect": 5, "echo-request": 8,
		"router-advertisement": 9, "router-solicit": 10, "time-exceeded": 11,
		"parameter-problem": 12, "timestamp": 13, "timestamp-reply": 14, "info-request": 15,
		"info-reply": 16, "mask-request": 17, "mask-reply": 18,
	}
}

func junosPortRange(v string) (portRange, error) {
	names := junosPorts()
	lo, hi, isRange := strings.Cut(v, "-")
	a, err := portNumber(lo, names)
	if err != nil {
		return portRange{}, err
	}
	b := a
	if isRange {
		if b, err = portNumber(hi, names); err != nil {
			return portRange{}, err
		}
	}
	if a > b {
		return portRange{}, fmt.Errorf("port range %s runs backwards", v)
	}
	return portRange{a, b}, nil
}

// ParseJunos reads the IPv4 firewall filters of a Junos configuration,
// in "set" form (display set) or brace form, and the filters bound on its
// irb units:
//
//	policy-options prefix-list NAME [PREFIX]
//	firewall family inet filter NAME term T from source-prefix-list|destination-prefix-list|prefix-list L [except]
//	    from source-address|destination-address|address P [except]
//	    from protocol P; from destination-port|source-port|port V (N, N-M or a name)
//	    from tcp-established; from tcp-initial; from icmp-type T
//	    then accept|discard|reject|next term; then count C|log|syslog
//	interfaces irb unit N family inet filter input|output NAME
//
// An irb unit routes the VLAN whose l3-interface it is (vlans NAME vlan-id
// V l3-interface irb.N); without such a statement unit N is taken for VLAN
// N, the convention Ward's configurations follow. Anything else under a
// filter or prefix-list is an error.
func ParseJunos(text string) (*Filters, error) {
	root, err := junosTree(text)
	if err != nil {
		return nil, err
	}
	f := newFilters("juniper_junos")
	lists, err := junosPrefixLists(root)
	if err != nil {
		return nil, err
	}
	if inet := root.get("firewall", "family", "inet"); inet != nil {
		for _, fl := range inet.children {
			if fl.name != "filter" {
				return nil, fmt.Errorf("firewall family inet %s: not read", fl.name)
			}
			for _, fn := range fl.children {
				jf, err := junosFilter(fn, lists)
				if err != nil {
					return nil, fmt.Errorf("filter %s: %w", fn.name, err)
				}
				f.filters[fn.name] = jf
			}
		}
	}
	if root.get("firewall", "filter") != nil {
		return nil, fmt.Errorf("firewall filter outside family inet is not read")
	}
	if err := junosBindings(root, f); err != nil {
		return nil, err
	}
	return f, f.check()
}

// junosPrefixLists reads policy-options prefix-list NAME PREFIX...; an
// address without a length is a /32.
func junosPrefixLists(root *jnode) (map[string][]netip.Prefix, error) {
	lists := map[string][]netip.Prefix{}
	if po := root.get("policy-options"); po != nil {
		for _, pl := range po.children {
			if pl.name != "prefix-list" {
				continue
			}
			for _, l := range pl.children {
				lists[l.name] = []netip.Prefix{}
				for _, m := range l.children {
					if m.name == "apply-path" {
						return nil, fmt.Errorf("prefix-list %s: apply-path is not read", l.name)
					}
					p, err := netip.ParsePrefix(m.name)
					if err != nil {
						a, err2 := netip.ParseAddr(m.name)
						if err2 != nil || !a.Is4() {
							return nil, fmt.Errorf("prefix-list %s: %q is not an IPv4 prefix", l.name, m.name)
						}
						p = netip.PrefixFrom(a, 32)
					}
					lists[l.name] = append(lists[l.name], p.Masked())
				}
			}
		}
	}
	return lists, nil
}

// junosBindings reads the filters bound on irb units: an irb unit routes
// the VLAN whose l3-interface it is (vlans NAME vlan-id V l3-interface
// irb.N; "Configuring IRB Interfaces on Switches",
// https://juniper.net/documentation/en_US/junos13.2/topics/reference/configuration-statement/l3-interface-edit-vlans-qfx-series.html),
// and without such a statement unit N is taken for VLAN N.
func junosBindings(root *jnode, f *Filters) error {
	l3 := map[int]int{} // irb unit -> VLAN
	if vlans := root.get("vlans"); vlans != nil {
		for _, v := range vlans.children {
			id, l3if := v.get("vlan-id"), v.get("l3-interface")
			if id == nil || l3if == nil || len(id.children) != 1 || len(l3if.children) != 1 {
				continue
			}
			vid, err1 := strconv.Atoi(id.children[0].name)
			unit, err2 := strconv.Atoi(strings.TrimPrefix(l3if.children[0].name, "irb."))
			if err1 == nil && err2 == nil {
				l3[unit] = vid
			}
		}
	}
	if irb := root.get("interfaces", "irb", "unit"); irb != nil {
		for _, u := range irb.children {
			unit, err := strconv.Atoi(u.name)
			if err != nil {
				return fmt.Errorf("irb unit %q", u.name)
			}
			vlan := unit
			if v, ok := l3[unit]; ok {
				vlan = v
			}
			fil := u.get("family", "inet", "filter")
			if fil == nil {
				continue
			}
			for _, dir := range fil.children {
				if len(dir.children) != 1 || (dir.name != "input" && dir.name != "output") {
					return fmt.Errorf("irb unit %d: filter %s is not read", unit, dir.name)
				}
				d := "in"
				if dir.name == "output" {
					d = "out"
				}
				if err := f.bind(vlan, d, dir.children[0].name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func junosFilter(fn *jnode, lists map[string][]netip.Prefix) (*jfilter, error) {
	jf := &jfilter{name: fn.name}
	for _, tn := range fn.children {
		switch tn.name {
		case "interface-specific":
			continue // counters per interface; no effect on verdicts
		case "term":
		default:
			return nil, fmt.Errorf("%s is not read", tn.name)
		}
		for _, t := range tn.children {
			jt, err := junosTerm(t, lists)
			if err != nil {
				return nil, fmt.Errorf("term %s: %w", t.name, err)
			}
			jt.text = "term " + t.name
			jf.terms = append(jf.terms, jt)
		}
	}
	return jf, nil
}

func junosTerm(t *jnode, lists map[string][]netip.Prefix) (*jterm, error) {
	jt := &jterm{name: t.name}
	ports := false
	for _, part := range t.children {
		switch part.name {
		case "from":
			for _, c := range part.children {
				if err := jt.from(c, lists); err != nil {
					return nil, err
				}
				ports = ports || strings.Contains(c.name, "port")
			}
		case "then":
			for _, c := range part.children {
				switch c.name {
				case "accept", "discard", "reject":
					if jt.action != "" {
						return nil, fmt.Errorf("two terminating actions")
					}
					jt.action = c.name
				case "next":
					if c.child("term") == nil {
						return nil, fmt.Errorf("then next %v", c.children)
					}
					jt.action = "next"
				case "count", "log", "syslog":
					// Non-terminating actions: they record the packet
					// and leave the verdict to the terminating action
					// ("Firewall Filter Nonterminating Actions").
					jt.logged = true
				default:
					return nil, fmt.Errorf("action %s is not read", c.name)
				}
			}
		default:
			return nil, fmt.Errorf("%s is not read", part.name)
		}
	}
	// "When you configure port-based matches, you must also configure the
	// protocol udp or protocol tcp match statement in the same term"
	// (Firewall Filter Match Conditions for IPv4 Traffic, destination-port).
	if ports && len(jt.protos) == 0 {
		return nil, fmt.Errorf("a port match without protocol")
	}
	return jt, nil
}

func (jt *jterm) from(c *jnode, lists map[string][]netip.Prefix) error {
	addTo := func(a **jaddr, prefixes []netip.Prefix, except bool) {
		if *a == nil {
			*a = &jaddr{}
		}
		for _, p := range prefixes {
			(*a).prefixes = append((*a).prefixes, p)
			(*a).except = append((*a).except, except)
		}
	}
	target := map[string]**jaddr{
		"source-prefix-list": &jt.src, "destination-prefix-list": &jt.dst, "prefix-list": &jt.either,
		"source-address": &jt.src, "destination-address": &jt.dst, "address": &jt.either,
	}
	values := make([]string, 0, len(c.children))
	for _, v := range c.children {
		values = append(values, v.name)
	}
	switch c.name {
	case "source-prefix-list", "destination-prefix-list", "prefix-list":
		for _, v := range c.children {
			l, ok := lists[v.name]
			if !ok {
				return fmt.Errorf("prefix-list %s is not defined", v.name)
			}
			except := v.child("except") != nil
			// An empty list still makes the condition, which then
			// matches no address (the implicit 0/0 except).
			addTo(target[c.name], l, except)
		}
	case "source-address", "destination-address", "address":
		for _, v := range c.children {
			p, err := netip.ParsePrefix(v.name)
			if err != nil {
				a, err2 := netip.ParseAddr(v.name)
				if err2 != nil || !a.Is4() {
					return fmt.Errorf("%s %q is not an IPv4 prefix", c.name, v.name)
				}
				p = netip.PrefixFrom(a, 32)
			}
			addTo(target[c.name], []netip.Prefix{p.Masked()}, v.child("except") != nil)
		}
	case "protocol":
		for _, v := range values {
			n, err := protocol(v)
			if err != nil || n < 0 {
				return fmt.Errorf("protocol %q", v)
			}
			jt.protos = append(jt.protos, n)
		}
	case "destination-port", "source-port", "port":
		for _, v := range values {
			r, err := junosPortRange(v)
			if err != nil {
				return err
			}
			switch c.name {
			case "destination-port":
				jt.dports = append(jt.dports, r)
			case "source-port":
				jt.sports = append(jt.sports, r)
			default:
				jt.port = append(jt.port, r)
			}
		}
	case "tcp-established":
		jt.tcpEstablished = true
	case "tcp-initial":
		jt.tcpInitial = true
	case "icmp-type":
		names := junosICMP()
		for _, v := range values {
			n, ok := names[v]
			if !ok {
				var err error
				if n, err = strconv.Atoi(v); err != nil || n < 0 || n > 255 {
					return fmt.Errorf("icmp-type %q", v)
				}
			}
			jt.icmpTypes = append(jt.icmpTypes, n)
		}
	default:
		return fmt.Errorf("match condition %s is not read", c.name)
	}
	if (c.name == "protocol" || strings.Contains(c.name, "port") || c.name == "icmp-type") && len(values) == 0 {
		return fmt.Errorf("%s without a value", c.name)
	}
	sort.Ints(jt.protos)
	return nil
}
