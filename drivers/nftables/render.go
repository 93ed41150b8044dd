package nftables

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// addrSet is one intent address set, split by family.
type addrSet struct {
	name   string
	v4, v6 []element // sorted
	// dynamic sets (quarantine) are filled between applies, so rules on
	// them are rendered even while they are empty.
	dynamic bool
}

func (s *addrSet) empty(f family) bool { return !s.dynamic && len(f.prefixes(s)) == 0 }

// Render writes the whole inet ward table for a firewall target.
func (d *driver) Render(t *intent.Target) (drivers.Config, error) {
	tb, err := buildTable(t)
	if err != nil {
		name := "<nil>"
		if t != nil {
			name = t.Name
		}
		return drivers.Config{}, fmt.Errorf("linux_nftables: target %q: %w", name, err)
	}
	return drivers.Config{Text: tb.script()}, nil
}

// renderer holds what rendering one target needs to look up.
type renderer struct {
	fw   *intent.Firewall
	sets map[string]*addrSet
}

func buildTable(t *intent.Target) (*table, error) {
	if t == nil || t.Firewall == nil {
		return nil, fmt.Errorf("no firewall intent: linux_nftables enforces firewall targets only")
	}
	fw := t.Firewall
	policy, ok := policies[fw.DefaultAction]
	if !ok {
		return nil, fmt.Errorf("default action %q: want drop or accept", fw.DefaultAction)
	}
	r := &renderer{fw: fw, sets: map[string]*addrSet{}}
	if err := r.addSets(); err != nil {
		return nil, err
	}

	tb := &table{}
	names := make([]string, 0, len(r.sets))
	for n := range r.sets {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := r.sets[n]
		for _, f := range families {
			ns := &set{name: s.name + f.suffix, attrs: []string{"type " + f.setType, "flags interval"}, elems: f.prefixes(s)}
			if s.dynamic {
				// Members of a quarantine set are state, changed by
				// AddToSet and RemoveFromSet: never configuration.
				ns.attrs = append(ns.attrs, quoteComment(quarantineComment))
				ns.elems = nil
			}
			tb.sets = append(tb.sets, ns)
		}
	}

	forward := &block{kind: "chain", name: forwardChain, lines: []string{fmt.Sprintf(forwardHook, policy)}}
	isolate, restrict, err := r.quarantineRules()
	if err != nil {
		return nil, err
	}
	forward.lines = append(forward.lines, isolate...)
	forward.lines = append(forward.lines, restrict...)
	forward.lines = append(forward.lines, "ct state established,related accept", "ct state invalid drop")
	var essential []string
	for i, rule := range fw.Rules {
		lines, replies, err := r.rule(rule)
		if err != nil {
			return nil, fmt.Errorf("rule %d (flow %q, service %q): %w", i+1, rule.Flow, rule.Service, err)
		}
		forward.lines = append(forward.lines, lines...)
		if rule.Essential {
			for j := range lines {
				essential = append(essential, lines[j], replies[j])
			}
		}
	}
	monitor, err := r.monitorRules()
	if err != nil {
		return nil, err
	}
	forward.lines = append(forward.lines, monitor...)
	tb.blocks = append(tb.blocks, forward)

	if fw.Quarantine.RestrictSet != "" {
		restricted := &block{kind: "chain", name: restrictedChain, lines: []string{
			"ct state invalid drop",
			// ICMP errors about the flows still allowed (path MTU).
			"meta l4proto { icmp, ipv6-icmp } ct state related accept",
		}}
		restricted.lines = append(restricted.lines, essential...)
		restricted.lines = append(restricted.lines, "drop "+quoteComment("quarantine restrict: only essential flows"))
		tb.blocks = append(tb.blocks, restricted)
	}
	return tb, nil
}

// identifier is what Ward accepts as a set name: nft takes more, but set
// names come from intent.SetNames, which writes [A-Za-z0-9_].
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func checkName(name string) error {
	if !identifier.MatchString(name) || len(name)+len("_v4") > maxName {
		return fmt.Errorf("set name %q: want letters, digits and _, not starting with a digit, at most %d characters", name, maxName-3)
	}
	return nil
}

func (r *renderer) addSets() error {
	for _, as := range r.fw.Sets {
		if err := checkName(as.Name); err != nil {
			return err
		}
		if r.sets[as.Name] != nil {
			return fmt.Errorf("set %q is declared twice", as.Name)
		}
		s := &addrSet{name: as.Name}
		var err error
		if s.v4, err = prefixes(as.Name, as.V4, false); err != nil {
			return err
		}
		if s.v6, err = prefixes(as.Name, as.V6, true); err != nil {
			return err
		}
		r.sets[as.Name] = s
	}
	q := r.fw.Quarantine
	if q.IsolateSet != "" && q.IsolateSet == q.RestrictSet {
		return fmt.Errorf("quarantine isolate and restrict sets are both %q; they must differ", q.IsolateSet)
	}
	for _, name := range []string{q.IsolateSet, q.RestrictSet} {
		if name == "" {
			continue
		}
		if err := checkName(name); err != nil {
			return fmt.Errorf("quarantine %w", err)
		}
		// The intent may list a quarantine set among its sets (with the
		// members it knows of): it is the same set.
		if r.sets[name] == nil {
			r.sets[name] = &addrSet{name: name}
		}
		r.sets[name].dynamic = true
	}
	return nil
}

// prefixes checks one family of a set's prefixes and sorts them; nft
// refuses overlapping elements in an interval set, so they are an error
// here, where the intent can be named.
func prefixes(set string, ps []netip.Prefix, v6 bool) ([]element, error) {
	family := map[bool]string{false: "v4", true: "v6"}[v6]
	out := make([]element, 0, len(ps))
	for _, p := range ps {
		if !p.IsValid() || p.Addr().Is4() == v6 || p.Addr().Is4In6() {
			return nil, fmt.Errorf("set %q: %s is not an IP%s prefix", set, p, family)
		}
		out = append(out, element{prefix: p.Masked()})
	}
	out = sortElements(out)
	for i := 1; i < len(out); i++ {
		if prev := out[i-1].prefix; prev.Contains(out[i].prefix.Addr()) {
			return nil, fmt.Errorf("set %q: %s overlaps %s; the intent must hold disjoint prefixes", set, prev, out[i].prefix)
		}
	}
	return out, nil
}

func (r *renderer) set(name, what string) (*addrSet, error) {
	s := r.sets[name]
	if s == nil {
		return nil, fmt.Errorf("%s %q is not an address set of the intent", what, name)
	}
	return s, nil
}

// rule renders one intent rule: a line per family it applies to, and for
// each the matching reply line (used in the restricted chain).
func (r *renderer) rule(rule intent.Rule) (lines, replies []string, err error) {
	from, err := r.set(rule.From, "from")
	if err != nil {
		return nil, nil, err
	}
	to, err := r.set(rule.To, "to")
	if err != nil {
		return nil, nil, err
	}
	comment := quoteComment(sanitizeComment("flow " + rule.Flow + " service " + rule.Service))
	replyComment := quoteComment(sanitizeComment("reply: flow " + rule.Flow + " service " + rule.Service))
	for _, f := range families {
		match, reply, applies, err := l4Match(rule, f)
		if err != nil {
			return nil, nil, err
		}
		if !applies || from.empty(f) || to.empty(f) {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s saddr @%s%s %s daddr @%s%s %s accept %s",
			f.addr, from.name, f.suffix, f.addr, to.name, f.suffix, match, comment))
		replies = append(replies, fmt.Sprintf("%s saddr @%s%s %s daddr @%s%s %s ct state established accept %s",
			f.addr, to.name, f.suffix, f.addr, from.name, f.suffix, reply, replyComment))
	}
	return lines, replies, nil
}

// l4Match is a rule's protocol match in family f, and the match of its
// replies; applies is false when the protocol is the other family's ICMP.
func l4Match(rule intent.Rule, f family) (match, reply string, applies bool, err error) {
	if proto, ok := l4Protos[rule.Proto]; ok {
		if len(rule.ICMPTypes) > 0 {
			return "", "", false, fmt.Errorf("protocol %s with ICMP types", rule.Proto)
		}
		if len(rule.Ports) == 0 {
			return "meta l4proto " + proto, "meta l4proto " + proto, true, nil
		}
		ports, err := portSet(rule.Ports)
		if err != nil {
			return "", "", false, err
		}
		return proto + " dport " + ports, proto + " sport " + ports, true, nil
	}
	var icmp *family
	for i := range families {
		if families[i].icmpProto == rule.Proto {
			icmp = &families[i]
		}
	}
	switch {
	case icmp == nil:
		return "", "", false, fmt.Errorf("protocol %q: want tcp, udp, icmp or icmpv6", rule.Proto)
	case len(rule.Ports) > 0:
		return "", "", false, fmt.Errorf("protocol %s with ports", rule.Proto)
	}
	types, err := icmpTypeSet(*icmp, rule.ICMPTypes)
	if err != nil || icmp.icmpProto != f.icmpProto {
		return "", "", false, err
	}
	reply = "meta l4proto " + f.icmpL4
	if types == "" {
		return reply, reply, true, nil
	}
	return f.icmpMatch + " type " + types, reply, true, nil
}

// portSet writes port ranges as nft prints them: sorted, overlapping and
// adjacent ranges merged, braces only around more than one.
func portSet(ports []intent.Ports) (string, error) {
	merged, err := drivers.MergePorts(ports)
	if err != nil {
		return "", err
	}
	items := make([]string, len(merged))
	for i, p := range merged {
		items[i] = strconv.Itoa(p.From)
		if p.To != p.From {
			items[i] += "-" + strconv.Itoa(p.To)
		}
	}
	return anonSet(items), nil
}

// icmpTypeSet writes ICMP type names as nft prints them: by number, one
// name per number; "" for no types (any).
func icmpTypeSet(f family, names []string) (string, error) {
	var numbers []int
	for _, n := range names {
		i := slices.IndexFunc(f.icmpTypes, func(t icmpType) bool { return t.name == n })
		if i < 0 {
			return "", fmt.Errorf("unknown %s type %q", f.icmpProto, n)
		}
		numbers = append(numbers, f.icmpTypes[i].number)
	}
	slices.Sort(numbers)
	numbers = slices.Compact(numbers)
	items := make([]string, len(numbers))
	for i, num := range numbers {
		j := slices.IndexFunc(f.icmpTypes, func(t icmpType) bool { return t.number == num })
		items[i] = f.icmpTypes[j].name
	}
	return anonSet(items), nil
}

func anonSet(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return "{ " + strings.Join(items, ", ") + " }"
}

// quarantineRules come first in the forward chain, before established
// connections are accepted, so that quarantining a device also cuts the
// connections it already has. An isolated address exchanges traffic with
// the remediation sets only (both ways: remediation tools may connect to
// it); a restricted one goes to the restricted chain, which holds copies of
// the essential rules and their replies, then drops.
func (r *renderer) quarantineRules() (isolate, restrict []string, err error) {
	q := r.fw.Quarantine
	if q.IsolateSet != "" {
		iso := r.sets[q.IsolateSet]
		seen := map[string]bool{}
		var rem []*addrSet
		for _, name := range q.Remediation {
			s, err := r.set(name, "quarantine remediation")
			if err != nil {
				return nil, nil, err
			}
			if !seen[name] {
				seen[name] = true
				rem = append(rem, s)
			}
		}
		for _, f := range families {
			for _, s := range rem {
				if s.empty(f) {
					continue
				}
				c := quoteComment(sanitizeComment("quarantine isolate: remediation " + s.name))
				isolate = append(isolate,
					fmt.Sprintf("%s saddr @%s%s %s daddr @%s%s accept %s", f.addr, iso.name, f.suffix, f.addr, s.name, f.suffix, c),
					fmt.Sprintf("%s saddr @%s%s %s daddr @%s%s accept %s", f.addr, s.name, f.suffix, f.addr, iso.name, f.suffix, c))
			}
			c := quoteComment("quarantine isolate")
			isolate = append(isolate,
				fmt.Sprintf("%s saddr @%s%s drop %s", f.addr, iso.name, f.suffix, c),
				fmt.Sprintf("%s daddr @%s%s drop %s", f.addr, iso.name, f.suffix, c))
		}
	}
	if q.RestrictSet != "" {
		c := quoteComment("quarantine restrict")
		for _, f := range families {
			restrict = append(restrict,
				fmt.Sprintf("%s saddr @%s%s jump %s %s", f.addr, q.RestrictSet, f.suffix, restrictedChain, c),
				fmt.Sprintf("%s daddr @%s%s jump %s %s", f.addr, q.RestrictSet, f.suffix, restrictedChain, c))
		}
	}
	return isolate, restrict, nil
}

// monitorRules log and accept what no rule accepted from or to a zone in
// monitor mode. Only new connections get this far, so each is logged once.
func (r *renderer) monitorRules() ([]string, error) {
	var lines []string
	for _, name := range r.fw.Monitor {
		s, err := r.set(name, "monitor set")
		if err != nil {
			return nil, err
		}
		c := quoteComment(sanitizeComment("monitor " + name))
		for _, f := range families {
			if s.empty(f) {
				continue
			}
			lines = append(lines,
				fmt.Sprintf("%s saddr @%s%s %s accept %s", f.addr, name, f.suffix, monitorLog, c),
				fmt.Sprintf("%s daddr @%s%s %s accept %s", f.addr, name, f.suffix, monitorLog, c))
		}
	}
	return lines, nil
}

// sanitizeComment keeps a comment to what nft stores and prints back
// unchanged: printable ASCII without quotes or backslashes, at most
// maxComment bytes.
func sanitizeComment(c string) string {
	b := []byte(c)
	for i, ch := range b {
		if ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' {
			b[i] = '_'
		}
	}
	if len(b) > maxComment {
		b = b[:maxComment]
	}
	return string(b)
}
