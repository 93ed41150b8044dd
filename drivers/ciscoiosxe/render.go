package ciscoiosxe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// driverName is the name targets give this driver in the policy.
const driverName = "cisco_iosxe"

// Render writes a target's IOS-XE configuration: object-groups, zone ACLs
// and their bindings for the firewall role, access ports and the
// quarantine VLAN for the access role (both, if the intent holds both).
// The same intent always gives the same text.
func Render(t *intent.Target) (string, error) {
	d, err := build(t)
	if err != nil {
		return "", err
	}
	return d.text(), nil
}

// build turns an intent into the managed configuration.
func build(t *intent.Target) (*device, error) {
	if t == nil {
		return nil, fmt.Errorf("%s: no target intent to render", driverName)
	}
	if t.Firewall == nil && t.Switch == nil {
		return nil, fmt.Errorf("%s: target %q (role %q) has neither a firewall nor an access-switch intent; nothing to render", driverName, t.Name, t.RoleText())
	}
	d := &device{}
	if t.Firewall != nil {
		if err := buildFirewall(d, t.Firewall); err != nil {
			return nil, fmt.Errorf("%s: target %q: %w", driverName, t.Name, err)
		}
	}
	if t.Switch != nil {
		if err := buildSwitch(d, t.Switch); err != nil {
			return nil, fmt.Errorf("%s: target %q: %w", driverName, t.Name, err)
		}
	}
	d.sort()
	return d, nil
}

func checkName(what, name string) error {
	if !setName.MatchString(name) {
		return fmt.Errorf("%s name %q: IOS-XE names here must begin with a letter and hold only letters, digits and _; rename it in the policy", what, name)
	}
	return nil
}

// hash8 is the content hash in the names of Ward's object-groups and ACLs:
// the same content keeps its name (a re-apply changes nothing), other
// content gets a new one (so Apply builds it beside the old and swaps).
func hash8(lines ...string) string {
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:4])
}

// fwBuilder holds what building one firewall needs to look up.
type fwBuilder struct {
	fw     *intent.Firewall
	sets   map[string]*intent.AddressSet
	groups map[string]*group // by set name, quarantine groups included
	final  string
}

func buildFirewall(d *device, fw *intent.Firewall) error {
	b := &fwBuilder{fw: fw, sets: map[string]*intent.AddressSet{}, groups: map[string]*group{}}
	switch fw.DefaultAction {
	case "drop":
		b.final = "deny ip any any log"
	case "accept":
		// What the policy names nothing for is let through, logged, as a
		// monitor zone's traffic is: an ACL never permits silently.
		b.final = "permit ip any any log"
	default:
		return fmt.Errorf("default action %q: want drop or accept", fw.DefaultAction)
	}
	monitor := map[string]bool{}
	for _, m := range fw.Monitor {
		monitor[m] = true
	}
	for i := range fw.Sets {
		s := &fw.Sets[i]
		if err := checkName("address set", s.Name); err != nil {
			return err
		}
		if b.sets[s.Name] != nil {
			return fmt.Errorf("address set %q is declared twice", s.Name)
		}
		if len(s.V6) > 0 {
			return fmt.Errorf("address set %q has IPv6 members (%s): this driver writes IPv4 ACLs only, and an interface without an IPv6 ACL would pass IPv6 unfiltered; remove the IPv6 addresses or use a driver that enforces IPv6", s.Name, s.V6[0])
		}
		if s.Kind != "zone" && s.Kind != "network" {
			return fmt.Errorf("address set %q: kind %q, want zone or network", s.Name, s.Kind)
		}
		if !label.MatchString(s.Of) {
			return fmt.Errorf("address set %q: the %s name %q holds characters an IOS description here cannot", s.Name, s.Kind, s.Of)
		}
		g := &group{set: s.Name, kind: s.Kind, of: s.Of, monitor: monitor[s.Name] && s.Kind == "zone"}
		for _, p := range s.V4 {
			if !p.IsValid() || !p.Addr().Is4() {
				return fmt.Errorf("address set %q: %s is not an IPv4 prefix", s.Name, p)
			}
			g.members = append(g.members, p.Masked())
		}
		sortPrefixes(g.members)
		g.members = slices.Compact(g.members)
		lines := []string{g.description()}
		for _, p := range g.members {
			lines = append(lines, groupEntry(p))
		}
		g.name = s.Name + "-" + hash8(lines...)
		b.sets[s.Name] = s
		b.groups[s.Name] = g
	}
	for m := range monitor {
		if g := b.groups[m]; g == nil || g.kind != "zone" {
			return fmt.Errorf("monitor set %q is not a zone's address set of the intent", m)
		}
	}
	q := fw.Quarantine
	for _, qs := range []struct{ kind, name string }{{"isolate", q.IsolateSet}, {"restrict", q.RestrictSet}} {
		if qs.name == "" {
			continue
		}
		if err := checkName("quarantine "+qs.kind+" set", qs.name); err != nil {
			return err
		}
		if b.groups[qs.name] != nil {
			return fmt.Errorf("quarantine %s set %q is also an address set of the intent: its members are quarantine state, added at quarantine time, never configuration", qs.kind, qs.name)
		}
		b.groups[qs.name] = &group{name: qs.name, set: qs.name, kind: qs.kind, members: []netip.Prefix{netip.MustParsePrefix(placeholder)}}
	}
	if q.IsolateSet != "" && q.IsolateSet == q.RestrictSet {
		return fmt.Errorf("quarantine isolate and restrict sets are both %q", q.IsolateSet)
	}
	if len(q.Remediation) > 0 {
		if q.IsolateSet == "" {
			return fmt.Errorf("remediation sets without an isolate set")
		}
		remed := slices.Sorted(slices.Values(q.Remediation))
		remed = slices.Compact(remed)
		for _, r := range remed {
			if b.sets[r] == nil {
				return fmt.Errorf("remediation set %q is not an address set of the intent", r)
			}
		}
		b.groups[q.IsolateSet].remed = remed
		if len(b.groups[q.IsolateSet].description()) > 200 {
			return fmt.Errorf("the remediation sets' names (%s) do not fit in the 200 characters of an object-group description", strings.Join(remed, ", "))
		}
	}
	for _, g := range b.groups {
		d.groups = append(d.groups, g)
	}

	byZone, err := b.ruleEntries()
	if err != nil {
		return err
	}
	seenVLAN := map[int]string{}
	for _, z := range fw.Zones {
		if z.VLAN < 1 || z.VLAN > 4094 {
			return fmt.Errorf("zone %q: VLAN %d: want 1-4094", z.Name, z.VLAN)
		}
		if other, dup := seenVLAN[z.VLAN]; dup {
			return fmt.Errorf("VLAN %d is given to zones %q and %q; an interface takes one inbound ACL", z.VLAN, other, z.Name)
		}
		seenVLAN[z.VLAN] = z.Name
		base := "vlan" + strconv.Itoa(z.VLAN)
		if z.Set != "" {
			if g := b.groups[z.Set]; g == nil || g.kind != "zone" {
				return fmt.Errorf("zone %q: set %q is not a zone's address set of the intent", z.Name, z.Set)
			}
			base = z.Set
		}
		entries := b.zoneACL(z.Set, byZone[z.Set])
		a := &acl{name: "ward_" + base + "-" + hash8(entries...), entries: entries}
		d.acls = append(d.acls, a)
		d.binds = append(d.binds, bind{vlan: z.VLAN, acl: a.name})
	}
	return nil
}

// usable reports whether set has an object-group with members an ACL
// entry may name: IOS refuses to make a group in use empty (docObjGroup),
// and an empty set matches nothing anyway.
func (b *fwBuilder) usable(set string) bool {
	g := b.groups[set]
	return g != nil && len(g.members) > 0 && g.kind != "isolate" && g.kind != "restrict"
}

func (b *fwBuilder) og(set string) string { return "object-group " + b.groups[set].name }

// zoneRules is what the rules put into one zone's ACL: the entries of
// the essential rules and of the others, each a set (IOS keeps an entry
// typed twice once, docACL, and first match wins, so a repeat says
// nothing).
type zoneRules struct{ essential, other map[string]bool }

// ruleKey is what an IOS entry can say of the rule it comes from: nothing
// in "permit tcp A B eq 443" names a flow or a service, so the rules with
// one key are one rule on the switch (mergeRules).
type ruleKey struct {
	from, to, proto string
	essential       bool
}

// mergeRules checks every rule of the intent (an error names the policy's
// flow and service) and merges the rules with one key: their ports and
// ICMP types joined, a rule with none (all) taking the others in. A
// rule's essential mark counts only with a restrict set, the one thing it
// changes on the switch; without one, Parse could not tell the sections
// apart. Icmpv6 rules are left out: no set has IPv6 members (refused).
func (b *fwBuilder) mergeRules() ([]intent.Rule, error) {
	type merged struct {
		rule               intent.Rule
		allPorts, allTypes bool
	}
	byKey := map[ruleKey]*merged{}
	var keys []ruleKey
	for i, r := range b.fw.Rules {
		if err := b.check(r); err != nil {
			return nil, fmt.Errorf("rule %d (flow %q, service %q): %w", i+1, r.Flow, r.Service, err)
		}
		if r.Proto == "icmpv6" {
			continue
		}
		k := ruleKey{r.From, r.To, r.Proto, r.Essential && b.fw.Quarantine.RestrictSet != ""}
		m := byKey[k]
		if m == nil {
			m = &merged{rule: intent.Rule{From: k.from, To: k.to, Proto: k.proto, Essential: k.essential}}
			byKey[k] = m
			keys = append(keys, k)
		}
		if len(r.Ports) == 0 {
			m.allPorts = true
		}
		m.rule.Ports = append(m.rule.Ports, r.Ports...)
		if len(r.ICMPTypes) == 0 {
			m.allTypes = true
		}
		m.rule.ICMPTypes = append(m.rule.ICMPTypes, r.ICMPTypes...)
	}
	out := make([]intent.Rule, 0, len(keys))
	for _, k := range keys {
		m := byKey[k]
		if m.allPorts {
			m.rule.Ports = nil
		}
		if m.allTypes || k.proto != "icmp" {
			m.rule.ICMPTypes = nil
		}
		m.rule.ICMPTypes = slices.Compact(slices.Sorted(slices.Values(m.rule.ICMPTypes)))
		out = append(out, m.rule)
	}
	return out, nil
}

// ruleEntries computes, once for all zones, what each merged rule puts
// into the ACL of its source zone (its own entries) and of its
// destination zone (the entries for its replies); a rule from z to z
// gives both to z.
func (b *fwBuilder) ruleEntries() (map[string]*zoneRules, error) {
	rules, err := b.mergeRules()
	if err != nil {
		return nil, err
	}
	byZone := map[string]*zoneRules{}
	add := func(set string, essential bool, lines []string) {
		if len(lines) == 0 {
			return
		}
		if g := b.groups[set]; g == nil || g.kind != "zone" {
			return
		}
		z := byZone[set]
		if z == nil {
			z = &zoneRules{essential: map[string]bool{}, other: map[string]bool{}}
			byZone[set] = z
		}
		to := z.other
		if essential {
			to = z.essential
		}
		for _, l := range lines {
			to[l] = true
		}
	}
	for _, rule := range rules {
		fwd, rep, err := b.rule(rule)
		if err != nil {
			return nil, fmt.Errorf("rules from %s to %s (%s): %w", rule.From, rule.To, rule.Proto, err)
		}
		add(rule.From, rule.Essential, fwd)
		add(rule.To, rule.Essential, rep)
	}
	return byZone, nil
}

// check refuses a rule the driver cannot write faithfully.
func (b *fwBuilder) check(rule intent.Rule) error {
	if b.sets[rule.From] == nil {
		return fmt.Errorf("from %q is not an address set of the intent", rule.From)
	}
	if b.sets[rule.To] == nil {
		return fmt.Errorf("to %q is not an address set of the intent", rule.To)
	}
	switch rule.Proto {
	case "tcp", "udp":
		if len(rule.ICMPTypes) > 0 {
			return fmt.Errorf("protocol %s with ICMP types", rule.Proto)
		}
		_, err := drivers.PortOperators(rule.Ports)
		return err
	case "icmp":
		if len(rule.Ports) > 0 {
			return fmt.Errorf("protocol icmp with ports")
		}
		for _, name := range rule.ICMPTypes {
			if _, ok := icmpNames[name]; !ok {
				return fmt.Errorf("ICMP type %q has no IOS-XE name Ward writes (%s)", name, strings.Join(slices.Sorted(mapKeys(icmpNames)), ", "))
			}
		}
	case "icmpv6":
	default:
		return fmt.Errorf("protocol %q: want tcp, udp, icmp or icmpv6", rule.Proto)
	}
	return nil
}

// rule is one merged rule's own entries (for its source zone's ACL) and
// the entries for its replies (for its destination zone's ACL); nil when
// the rule matches nothing here. Nothing marks an entry as a rule's or a
// reply's: Parse tells them apart by their form (readRules).
func (b *fwBuilder) rule(rule intent.Rule) (fwd, rep []string, err error) {
	if !b.usable(rule.From) || !b.usable(rule.To) {
		return nil, nil, nil // an empty set matches nothing
	}
	src, dst := b.og(rule.From), b.og(rule.To)
	switch rule.Proto {
	case "tcp", "udp":
		ops, err := drivers.PortOperators(rule.Ports)
		if err != nil {
			return nil, nil, err
		}
		for _, op := range ops {
			fwd = append(fwd, join("permit", rule.Proto, src, dst, op))
			// Stateless replies (docACL): TCP from the service port with
			// the ACK or RST bit (established); UDP from the service port
			// back to the source, the price of a stateless filter.
			if rule.Proto == "tcp" {
				rep = append(rep, join("permit", rule.Proto, dst, op, src, "established"))
			} else {
				rep = append(rep, join("permit", rule.Proto, dst, op, src))
			}
		}
	case "icmp":
		echo := len(rule.ICMPTypes) == 0
		if echo {
			fwd = append(fwd, join("permit icmp", src, dst))
		}
		for _, name := range rule.ICMPTypes {
			t := icmpNames[name]
			fwd = append(fwd, join("permit icmp", src, dst, t))
			echo = echo || t == "echo"
		}
		if echo {
			rep = append(rep, join("permit icmp", dst, src, "echo-reply"))
		}
	}
	return fwd, rep, nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// zoneACL is the entries of the inbound ACL of the zone with set z ("" for
// a zone with no set), in order: isolate (an isolated address reaches the
// remediation sets only), the essential rules, the restrict denies (a
// restricted address keeps only the essential rules), the other rules,
// monitor permits (logged), the final entry. Each section's entries are
// sorted. No remark: Parse reads the rules from the entries' form and the
// section they are in, the zone and network names from the object-group
// descriptions; flow and service names stay in the plan.
func (b *fwBuilder) zoneACL(z string, rules *zoneRules) []string {
	if rules == nil {
		rules = &zoneRules{}
	}
	var out []string
	q := b.fw.Quarantine
	if iso := q.IsolateSet; iso != "" {
		isoOG := b.og(iso)
		for _, r := range b.groups[iso].remed {
			if b.usable(r) {
				out = append(out, "permit ip "+isoOG+" "+b.og(r))
			}
		}
		if z != "" && b.usable(z) && slices.Contains(b.groups[iso].remed, z) {
			out = append(out, "permit ip "+b.og(z)+" "+isoOG)
		}
		out = append(out, "deny ip "+isoOG+" any log", "deny ip any "+isoOG+" log")
	}
	out = append(out, sortedEntries(rules.essential)...)
	if rs := q.RestrictSet; rs != "" {
		out = append(out, "deny ip "+b.og(rs)+" any log", "deny ip any "+b.og(rs)+" log")
	}
	out = append(out, sortedEntries(rules.other)...)
	if z != "" && b.usable(z) {
		var mons []string
		for _, m := range b.fw.Monitor {
			switch {
			case m == z:
				// Everything from a monitor zone that no rule permits.
				mons = append(mons, "permit ip "+b.og(z)+" any log")
			case b.usable(m):
				// Everything from this zone to a monitor zone, and replies
				// to what the monitor zone sent here.
				mons = append(mons, "permit ip "+b.og(z)+" "+b.og(m)+" log")
			}
		}
		slices.Sort(mons)
		out = append(out, slices.Compact(mons)...)
	}
	return append(out, b.final)
}

// sortedEntries is a section's entries in a fixed order.
func sortedEntries(set map[string]bool) []string {
	return slices.Sorted(maps.Keys(set))
}

func join(words ...string) string {
	var ws []string
	for _, w := range words {
		if w != "" {
			ws = append(ws, w)
		}
	}
	return strings.Join(ws, " ")
}

// icmpNames maps the policy's ICMP type names (nftables' spelling) to the
// IOS icmp-message keywords of the extended ACE (docICMP); icmpIntentName
// reads them back. Ward writes these four only.
var icmpNames = map[string]string{
	"echo-request":            "echo",
	"echo-reply":              "echo-reply",
	"destination-unreachable": "unreachable",
	"time-exceeded":           "time-exceeded",
}

// icmpIntentName is the policy's name for an IOS icmp-message keyword
// that parseACE accepted (one of icmpNames).
func icmpIntentName(ios string) string {
	for name, kw := range icmpNames {
		if kw == ios {
			return name
		}
	}
	return ""
}

// buildSwitch adds each access port (its full interface name, a
// description marking it as Ward's, access mode, its VLAN) and the
// quarantine VLAN.
func buildSwitch(d *device, sw *intent.Switch) error {
	if q := sw.QuarantineVLAN; q != 0 {
		if q < 2 || q > 4094 || (q >= 1002 && q <= 1005) {
			return fmt.Errorf("quarantine VLAN %d: want 2-1001 or 1006-4094 (VLAN 1 and 1002-1005 are the switch's own)", q)
		}
		d.qvlan = q
	}
	seen := make(map[string]string, len(sw.Ports)) // interface → device
	d.ports = make([]*port, 0, len(sw.Ports))
	for _, pv := range sw.Ports {
		name, num, err := canonicalInterface(pv.Port)
		if err != nil {
			return fmt.Errorf("device %q: %w", pv.Device, err)
		}
		if pv.VLAN < 1 || pv.VLAN > 4094 {
			return fmt.Errorf("port %s (device %q): VLAN %d: want 1-4094", name, pv.Device, pv.VLAN)
		}
		if pv.VLAN == sw.QuarantineVLAN {
			return fmt.Errorf("port %s (device %q): VLAN %d is the quarantine VLAN", name, pv.Device, pv.VLAN)
		}
		if other, dup := seen[name]; dup {
			return fmt.Errorf("port %s is given to devices %q and %q; an access port carries one VLAN", name, other, pv.Device)
		}
		seen[name] = pv.Device
		d.ports = append(d.ports, &port{name: name, num: num, vlan: pv.VLAN, home: pv.VLAN, device: cleanLabel(pv.Device), zone: cleanLabel(pv.Zone), access: true})
	}
	return nil
}

// interfaceTypes are the Ethernet port types of Catalyst 9000 switches on
// IOS-XE, with the abbreviations IOS itself prints (show interfaces
// status, show ip interface brief). Abbreviations are matched exactly (any
// case), not as prefixes: "Tw" is TwoGigabitEthernet and "Twe"
// TwentyFiveGigE, which no prefix rule tells apart.
var interfaceTypes = []struct{ full, short string }{
	{"FastEthernet", "Fa"},
	{"GigabitEthernet", "Gi"},
	{"TwoGigabitEthernet", "Tw"},
	{"FiveGigabitEthernet", "Fi"},
	{"TenGigabitEthernet", "Te"},
	{"TwentyFiveGigE", "Twe"},
	{"FortyGigabitEthernet", "Fo"},
	{"HundredGigE", "Hu"},
}

// canonicalInterface is the name IOS shows for an access port written as
// the inventory may write it (Gi1/0/5, gi1/0/5, Gig 1/0/5,
// GigabitEthernet1/0/5 → GigabitEthernet1/0/5), and its numbers for
// sorting. It runs once per port of every switch (100,000 at a time), so
// it compares case-insensitively in place and allocates only its result.
func canonicalInterface(s string) (string, []int, error) {
	t := s
	if strings.ContainsAny(s, " \t") {
		t = strings.Join(strings.Fields(s), "")
	}
	i := strings.IndexAny(t, "0123456789")
	if i <= 0 {
		return "", nil, fmt.Errorf("port %q: want an interface type and number such as Gi1/0/5 or GigabitEthernet1/0/5", s)
	}
	typ := t[:i]
	full := ""
	for _, it := range interfaceTypes {
		if strings.EqualFold(typ, it.full) || strings.EqualFold(typ, it.short) || (it.short == "Gi" && strings.EqualFold(typ, "gig")) {
			full = it.full
			break
		}
	}
	if full == "" {
		var known []string
		for _, it := range interfaceTypes {
			known = append(known, it.short)
		}
		return "", nil, fmt.Errorf("port %q: interface type %q is not an Ethernet port type Ward knows (%s, or their full names)", s, typ, strings.Join(known, ", "))
	}
	rest := t[i:]
	num := make([]int, 0, 3)
	for part := range strings.SplitSeq(rest, "/") {
		n, err := strconv.Atoi(part)
		if err != nil || part[0] < '0' || part[0] > '9' || (len(part) > 1 && part[0] == '0') {
			return "", nil, fmt.Errorf("port %q: %q is not an interface number such as 1/0/5", s, rest)
		}
		num = append(num, n)
	}
	if typ == full {
		return t, num, nil
	}
	return full + rest, num, nil
}
