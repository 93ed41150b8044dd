package juniperjunos

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Documents the grammar below follows (the same pages junosfake's rules cite).
const (
	docPrefixList   = "Junos prefix-list (policy-options): https://www.juniper.net/documentation/en_US/junos/topics/reference/configuration-statement/prefix-list-edit-policy-options.html"
	docFilterMatch  = "Firewall Filter Match Conditions for IPv4 Traffic: https://www.juniper.net/documentation/us/en/software/junos/routing-policy/topics/concept/firewall-filter-match-conditions-for-ipv4-traffic.html"
	docFirewallHier = "firewall hierarchy (term from / then accept, count, discard): https://juniper.net/documentation/en_US/junos12.1x47/topics/reference/statement-hierarchy/firewall-hierarchy-security.html"
	docFilterLog    = "then count NAME log accept: https://www.juniper.net/documentation/us/en/software/junos/routing-policy/topics/example/filter-match-ipv6-configuring-cli.html"
	docIRB          = "irb (interfaces): https://juniper.net/documentation/en_US/junos13.2/topics/reference/configuration-statement/irb-edit-interfaces.html"
	docELS          = "family ethernet-switching (ELS): https://networkingdocs.hpe.com/documentation/us/en/software/junos/cli-reference/topics/ref/statement/family-ethernet-switching-edit-interfaces-qfx-series-els.html"
	docEthSwitching = "family ethernet-switching vlan members (names or VLAN ids): https://juniper.net/documentation/en_US/junos9.6/topics/reference/configuration-statement/family-ethernet-switching-edit-interfaces-ex-series.html"
	docDescription  = "description (EX interfaces; text with spaces needs quotes): https://juniper.net/documentation/en_US/junos9.2/topics/reference/configuration-statement/description-interfaces-ex-series.html"
	docAddressMatch = "Specifying Address Filter Match Conditions (each list has an implicit 0/0 except: what is not listed does not match): https://www.juniper.net/documentation/en_US/release-independent/downloads/juniper-dvd-junos93.tgz:/tmp/tarfile_extract_tas6znfz/dvd-sw/techpubs/software/swconfig-policy/specifying-address-filter-match-conditions.html"
)

// config is the part of a Junos configuration Ward manages, as statements:
// what Render builds from the model and what Parse reads set commands into.
// It prints itself in one canonical order (print), so the text Render
// writes and the text Running reads back are the same for the same state.
type config struct {
	lists   map[string][]netip.Prefix // policy-options prefix-list NAME: its prefixes
	filters map[string][]*term        // firewall family inet filter NAME: its terms, in order
	irb     map[int]string            // interfaces irb unit N family inet filter input NAME
	ports   map[string]*port          // interfaces IF (Ward's access ports)
}

func newConfig() *config {
	return &config{lists: map[string][]netip.Prefix{}, filters: map[string][]*term{}, irb: map[int]string{}, ports: map[string]*port{}}
}

// term is one firewall filter term (docFilterMatch, docFirewallHier):
// the match conditions of from (all must match; within one, any value),
// then the action and its modifiers.
type term struct {
	name           string
	srcLists       []string // from source-prefix-list
	dstLists       []string // from destination-prefix-list
	protocols      []string // from protocol
	srcPorts       []string // from source-port
	dstPorts       []string // from destination-port
	icmpTypes      []string // from icmp-type
	tcpEstablished bool     // from tcp-established
	count          string   // then count NAME
	log            bool     // then log
	action         string   // then accept | discard
}

// port is an access port Ward manages: its description marks it as Ward's
// and records the VLAN it belongs in (see portDescription).
type port struct {
	desc  string
	mode  string   // unit 0 family ethernet-switching interface-mode
	vlans []string // unit 0 family ethernet-switching vlan members
}

// word is what Ward accepts as one word of a configuration line: no
// quotes, spaces, braces, semicolons or shell metacharacters, so nothing
// of a line reaches the device except words of this grammar.
var word = regexp.MustCompile(`^[A-Za-z0-9_./:-]+$`)

// name is a prefix-list, filter, term or counter name Ward writes: the
// fake's (and every release's) identifier characters, at most 64.
var name = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// parseConfig reads set commands (Render's output, or what `show
// configuration | display set` prints of the managed part) into a config.
// `set version` is ignored; any other line outside the grammar is an error.
func parseConfig(text string) (*config, error) {
	c := newConfig()
	terms := map[string]map[string]*term{}
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		for _, w := range f {
			if !word.MatchString(w) {
				return nil, fmt.Errorf("line %d %q: %q is not a word this driver writes (letters, digits and _./:- only)", i+1, line, w)
			}
		}
		if f[0] != "set" {
			return nil, fmt.Errorf("line %d %q: want a set command", i+1, line)
		}
		if len(f) >= 2 && f[1] == "version" {
			continue
		}
		if err := c.parseLine(f[1:], terms); err != nil {
			return nil, fmt.Errorf("line %d %q: %w", i+1, line, err)
		}
	}
	return c, nil
}

func (c *config) parseLine(f []string, terms map[string]map[string]*term) error {
	switch {
	case has(f, "policy-options", "prefix-list") && len(f) >= 3:
		// docPrefixList: prefix-list name { ip-addresses; }; /32 when the length is omitted.
		if !name.MatchString(f[2]) {
			return fmt.Errorf("prefix-list name %q", f[2])
		}
		list, ok := c.lists[f[2]]
		if !ok {
			list = []netip.Prefix{}
		}
		switch len(f) {
		case 3:
		case 4:
			p, err := parsePrefix(f[3])
			if err != nil {
				return err
			}
			if !slices.Contains(list, p) {
				list = append(list, p)
			}
		default:
			return fmt.Errorf("a prefix-list entry is one prefix")
		}
		c.lists[f[2]] = list
		return nil
	case has(f, "firewall", "family", "inet", "filter") && len(f) >= 8 && f[5] == "term":
		return c.parseTerm(f[4], f[6], f[7:], terms)
	case has(f, "interfaces", "irb", "unit") && len(f) == 9 && has(f[4:], "family", "inet", "filter", "input"):
		// docIRB: irb unit N family inet filter input NAME.
		unit, err := strconv.Atoi(f[3])
		if err != nil || unit < 1 || unit > 4094 {
			return fmt.Errorf("irb unit %q: Ward binds units 1-4094 (the zone VLANs)", f[3])
		}
		if !name.MatchString(f[8]) {
			return fmt.Errorf("filter name %q", f[8])
		}
		c.irb[unit] = f[8]
		return nil
	case len(f) >= 3 && f[0] == "interfaces":
		ifname, err := canonicalInterface(f[1])
		if err != nil {
			return err
		}
		p := c.ports[ifname]
		if p == nil {
			p = &port{}
			c.ports[ifname] = p
		}
		rest := f[2:]
		switch {
		case len(rest) == 2 && rest[0] == "description": // docDescription
			p.desc = rest[1]
		case len(rest) == 6 && has(rest, "unit", "0", "family", "ethernet-switching", "interface-mode"): // docELS
			p.mode = rest[5]
		case len(rest) == 7 && has(rest, "unit", "0", "family", "ethernet-switching", "vlan", "members"): // docEthSwitching
			if !slices.Contains(p.vlans, rest[6]) {
				p.vlans = append(p.vlans, rest[6])
			}
		default:
			return fmt.Errorf("not a statement of an access port Ward writes (description, unit 0 family ethernet-switching interface-mode / vlan members)")
		}
		return nil
	}
	return fmt.Errorf("not a statement this driver writes")
}

func (c *config) parseTerm(filter, tname string, f []string, terms map[string]map[string]*term) error {
	if !name.MatchString(filter) || !name.MatchString(tname) {
		return fmt.Errorf("filter %q term %q: names are letters, digits, _ . - (at most 64)", filter, tname)
	}
	if terms[filter] == nil {
		terms[filter] = map[string]*term{}
	}
	t := terms[filter][tname]
	if t == nil {
		t = &term{name: tname}
		terms[filter][tname] = t
		c.filters[filter] = append(c.filters[filter], t)
	}
	add := func(list *[]string, v string) {
		if !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	switch {
	case len(f) == 3 && f[0] == "from": // docFilterMatch
		v := f[2]
		switch f[1] {
		case "source-prefix-list", "destination-prefix-list":
			if !name.MatchString(v) {
				return fmt.Errorf("prefix-list name %q", v)
			}
			if f[1] == "source-prefix-list" {
				add(&t.srcLists, v)
			} else {
				add(&t.dstLists, v)
			}
		case "protocol":
			add(&t.protocols, v)
		case "source-port":
			add(&t.srcPorts, v)
		case "destination-port":
			add(&t.dstPorts, v)
		case "icmp-type":
			add(&t.icmpTypes, v)
		default:
			return fmt.Errorf("match condition %q is not one Ward writes", f[1])
		}
	case len(f) == 2 && f[0] == "from" && f[1] == "tcp-established":
		t.tcpEstablished = true
	case len(f) == 2 && f[0] == "then" && (f[1] == "accept" || f[1] == "discard"): // docFirewallHier
		t.action = f[1]
	case len(f) == 2 && f[0] == "then" && f[1] == "log": // docFilterLog
		t.log = true
	case len(f) == 3 && f[0] == "then" && f[1] == "count":
		if !name.MatchString(f[2]) {
			return fmt.Errorf("counter name %q", f[2])
		}
		t.count = f[2]
	default:
		return fmt.Errorf("term statement %q is not one Ward writes", strings.Join(f, " "))
	}
	return nil
}

func has(f []string, prefix ...string) bool {
	if len(f) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		if f[i] != p {
			return false
		}
	}
	return true
}

// parsePrefix reads an IPv4 prefix as Junos prints it (docPrefixList: no
// length means /32).
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		s += "/32"
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 prefix", s)
	}
	return p.Masked(), nil
}

// interfaceName is a Junos Ethernet interface as ELS switches name them:
// type-fpc/pic/port (ge-0/0/5, xe-, et-, mge-).
var interfaceName = regexp.MustCompile(`^(ge|xe|et|mge)-(\d{1,2})/(\d{1,2})/(\d{1,3})$`)

// canonicalInterface is the name Junos shows for an access port written
// as the inventory may write it: lower case, without the unit (ge-0/0/5.0
// → ge-0/0/5; Ward configures unit 0).
func canonicalInterface(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.TrimSuffix(n, ".0")
	m := interfaceName.FindStringSubmatch(n)
	if m == nil {
		return "", fmt.Errorf("port %q: want a Junos Ethernet interface such as ge-0/0/5, xe-0/1/0 or et-0/0/48 (unit 0)", s)
	}
	var parts []string
	for _, d := range m[2:] {
		v, _ := strconv.Atoi(d)
		parts = append(parts, strconv.Itoa(v))
	}
	return m[1] + "-" + strings.Join(parts, "/"), nil
}

// interfaceKey orders interfaces by type, then numerically.
func interfaceKey(n string) (string, []int) {
	m := interfaceName.FindStringSubmatch(n)
	if m == nil {
		return n, nil
	}
	var num []int
	for _, d := range m[2:] {
		v, _ := strconv.Atoi(d)
		num = append(num, v)
	}
	return m[1], num
}

// print writes c as set commands, one a line, in Ward's canonical order:
// prefix-lists by name (an empty one as the bare statement), filters by
// name with their terms in order, irb bindings by unit, ports by
// interface.
func (c *config) print() string {
	var b strings.Builder
	for _, n := range sortedKeys(c.lists) {
		ps := slices.Clone(c.lists[n])
		slices.SortFunc(ps, func(x, y netip.Prefix) int { return cmp.Or(x.Addr().Compare(y.Addr()), x.Bits()-y.Bits()) })
		if len(ps) == 0 {
			fmt.Fprintf(&b, "set policy-options prefix-list %s\n", n)
		}
		for _, p := range ps {
			fmt.Fprintf(&b, "set policy-options prefix-list %s %s\n", n, p)
		}
	}
	for _, n := range sortedKeys(c.filters) {
		for _, t := range c.filters[n] {
			pre := "set firewall family inet filter " + n + " term " + t.name + " "
			from := func(kw string, vs []string) {
				for _, v := range vs {
					b.WriteString(pre + "from " + kw + " " + v + "\n")
				}
			}
			from("source-prefix-list", t.srcLists)
			from("destination-prefix-list", t.dstLists)
			from("protocol", t.protocols)
			from("source-port", t.srcPorts)
			from("destination-port", t.dstPorts)
			from("icmp-type", t.icmpTypes)
			if t.tcpEstablished {
				b.WriteString(pre + "from tcp-established\n")
			}
			if t.count != "" {
				b.WriteString(pre + "then count " + t.count + "\n")
			}
			if t.log {
				b.WriteString(pre + "then log\n")
			}
			if t.action != "" {
				b.WriteString(pre + "then " + t.action + "\n")
			}
		}
	}
	units := make([]int, 0, len(c.irb))
	for u := range c.irb {
		units = append(units, u)
	}
	slices.Sort(units)
	for _, u := range units {
		fmt.Fprintf(&b, "set interfaces irb unit %d family inet filter input %s\n", u, c.irb[u])
	}
	for _, n := range sortedPorts(c.ports) {
		p := c.ports[n]
		if p.desc != "" {
			fmt.Fprintf(&b, "set interfaces %s description %s\n", n, p.desc)
		}
		if p.mode != "" {
			fmt.Fprintf(&b, "set interfaces %s unit 0 family ethernet-switching interface-mode %s\n", n, p.mode)
		}
		for _, v := range p.vlans {
			fmt.Fprintf(&b, "set interfaces %s unit 0 family ethernet-switching vlan members %s\n", n, v)
		}
	}
	return b.String()
}

func sortedPorts(ports map[string]*port) []string {
	names := sortedKeys(ports)
	slices.SortFunc(names, func(x, y string) int {
		tx, nx := interfaceKey(x)
		ty, ny := interfaceKey(y)
		return cmp.Or(strings.Compare(tx, ty), slices.Compare(nx, ny), strings.Compare(x, y))
	})
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
