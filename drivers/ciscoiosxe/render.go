package ciscoiosxe

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// driverName is the name targets give this driver in the policy.
const driverName = "cisco_iosxe"

// Render writes a target's IOS-XE configuration: object-groups and zone
// ACLs for the firewall role, access ports for the access role (both, if
// the intent holds both). The same intent always gives the same text.
func Render(t *intent.Target) (string, error) { return render(t, nil) }

// render is Render with the VLAN of each zone (zone name → VLAN), which the
// firewall intent does not carry yet: with it, each zone ACL is bound
// inbound on `interface VlanN`; with nil, no ACL is bound.
func render(t *intent.Target, zoneVLANs map[string]int) (string, error) {
	if t == nil {
		return "", fmt.Errorf("%s: no target intent to render", driverName)
	}
	if t.Firewall == nil && t.Switch == nil {
		return "", fmt.Errorf("%s: target %q (role %q) has neither a firewall nor an access-switch intent; nothing to render", driverName, t.Name, t.RoleText())
	}
	var b strings.Builder
	if t.Firewall != nil {
		if err := renderFirewall(&b, t.Firewall, zoneVLANs); err != nil {
			return "", fmt.Errorf("%s: target %q: %w", driverName, t.Name, err)
		}
	}
	if t.Switch != nil {
		if err := renderSwitch(&b, t.Switch); err != nil {
			return "", fmt.Errorf("%s: target %q: %w", driverName, t.Name, err)
		}
	}
	return b.String(), nil
}

// iosName is what Ward writes as an object-group or ACL name. IOS requires
// a named ACL's name to begin with a letter (so it cannot be taken for a
// numbered ACL) and to hold no space or quote; Ward keeps to letters,
// digits, _ and -, which every IOS-XE release accepts. Set names come from
// intent.SetNames, which writes [A-Za-z0-9_].
var iosName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

func checkName(what, name string) error {
	if !iosName.MatchString(name) {
		return fmt.Errorf("%s name %q: IOS-XE names here must begin with a letter and hold only letters, digits, _ and -; rename it in the policy", what, name)
	}
	return nil
}

// aclName is the name of a zone's inbound ACL.
func aclName(set string) string { return "ward_" + set }

// fwRenderer holds what rendering one firewall needs to look up.
type fwRenderer struct {
	fw       *intent.Firewall
	sets     map[string]*intent.AddressSet
	restrict string // the restrict object-group, "" without quarantine restrict
}

func renderFirewall(b *strings.Builder, fw *intent.Firewall, zoneVLANs map[string]int) error {
	var final string
	switch fw.DefaultAction {
	case "drop":
		final = "deny ip any any log"
	case "accept":
		// What the policy names nothing for is let through, logged, as a
		// monitor zone's traffic is: an ACL never permits silently.
		final = "permit ip any any log"
	default:
		return fmt.Errorf("default action %q: want drop or accept", fw.DefaultAction)
	}
	r := &fwRenderer{fw: fw, sets: map[string]*intent.AddressSet{}}
	for i := range fw.Sets {
		s := &fw.Sets[i]
		if err := checkName("address set", s.Name); err != nil {
			return err
		}
		if r.sets[s.Name] != nil {
			return fmt.Errorf("address set %q is declared twice", s.Name)
		}
		if len(s.V6) > 0 {
			return fmt.Errorf("address set %q has IPv6 members (%s): this renderer writes IPv4 ACLs only, and an interface without an IPv6 ACL would pass IPv6 unfiltered; remove the IPv6 addresses or use a driver that enforces IPv6", s.Name, s.V6[0])
		}
		for _, p := range s.V4 {
			if !p.IsValid() || !p.Addr().Is4() {
				return fmt.Errorf("address set %q: %s is not an IPv4 prefix", s.Name, p)
			}
		}
		r.sets[s.Name] = s
	}
	if q := fw.Quarantine.RestrictSet; q != "" {
		if err := checkName("quarantine restrict set", q); err != nil {
			return err
		}
		if s := r.sets[q]; s != nil && len(s.V4) > 0 {
			return fmt.Errorf("quarantine restrict set %q has members in the intent: its members are quarantine state, added at quarantine time, never configuration", q)
		}
		r.restrict = q
	}

	// Object-groups, sorted by name: every set with members, and the
	// restrict group (empty: quarantine fills it).
	var groups []string
	for name, s := range r.sets {
		if len(s.V4) > 0 {
			groups = append(groups, name)
		}
	}
	if r.restrict != "" && !slices.Contains(groups, r.restrict) {
		groups = append(groups, r.restrict)
	}
	slices.Sort(groups)
	for _, name := range groups {
		fmt.Fprintf(b, "object-group network %s\n", name)
		var members []netip.Prefix
		if s := r.sets[name]; s != nil {
			members = slices.Clone(s.V4)
		}
		slices.SortFunc(members, func(x, y netip.Prefix) int {
			return cmp.Or(x.Addr().Compare(y.Addr()), x.Bits()-y.Bits())
		})
		for _, p := range members {
			fmt.Fprintf(b, " %s\n", groupEntry(p))
		}
	}

	// One ACL per zone with members, sorted by set name.
	var zones []string
	for name, s := range r.sets {
		if s.Kind == "zone" && len(s.V4) > 0 {
			zones = append(zones, name)
		}
	}
	slices.Sort(zones)
	byZone, err := r.entries()
	if err != nil {
		return err
	}
	for _, z := range zones {
		aces, err := r.zoneACL(z, byZone[z], final)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "ip access-list extended %s\n", aclName(z))
		for i, ace := range aces {
			fmt.Fprintf(b, " %d %s\n", (i+1)*10, ace)
		}
	}
	if zoneVLANs == nil {
		return nil
	}
	type binding struct {
		vlan int
		acl  string
	}
	var binds []binding
	for _, z := range zones {
		of := r.sets[z].Of
		vlan, ok := zoneVLANs[of]
		if !ok || vlan < 1 || vlan > 4094 {
			return fmt.Errorf("zone %q has no VLAN in 1-4094 (got %d): its ACL cannot be bound to an interface; give the zone a vlan", of, vlan)
		}
		binds = append(binds, binding{vlan, aclName(z)})
	}
	slices.SortFunc(binds, func(x, y binding) int { return x.vlan - y.vlan })
	for i, bd := range binds {
		if i > 0 && binds[i-1].vlan == bd.vlan {
			return fmt.Errorf("VLAN %d is given to two zones (ACLs %s and %s); an interface takes one inbound ACL", bd.vlan, binds[i-1].acl, bd.acl)
		}
		fmt.Fprintf(b, "interface Vlan%d\n ip access-group %s in\n", bd.vlan, bd.acl)
	}
	return nil
}

// groupEntry is one object-group network entry, in the Object Groups for
// ACLs guide's forms: host A.B.C.D, or A.B.C.D MASK.
func groupEntry(p netip.Prefix) string {
	p = p.Masked()
	if p.Bits() == 32 {
		return "host " + p.Addr().String()
	}
	m := ^uint32(0) << (32 - p.Bits())
	if p.Bits() == 0 {
		m = 0
	}
	mask := netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)})
	return p.Addr().String() + " " + mask.String()
}

// zoneEntries is what the rules put into one zone's ACL, before sorting.
type zoneEntries struct{ essential, rules []string }

// entries computes, once for all zones, what each rule puts into the ACL
// of its source zone (its own entries) and of its destination zone (the
// entries for its replies); a rule from z to z gives both to z.
func (r *fwRenderer) entries() (map[string]*zoneEntries, error) {
	byZone := map[string]*zoneEntries{}
	add := func(zone string, essential bool, aces []string) {
		if s := r.sets[zone]; s == nil || s.Kind != "zone" || len(aces) == 0 {
			return // networks get no ACL here: their traffic enters elsewhere
		}
		e := byZone[zone]
		if e == nil {
			e = &zoneEntries{}
			byZone[zone] = e
		}
		if essential && r.restrict != "" {
			e.essential = append(e.essential, aces...)
		} else {
			e.rules = append(e.rules, aces...)
		}
	}
	for i, rule := range r.fw.Rules {
		fwd, rep, err := r.rule(rule)
		if err != nil {
			return nil, fmt.Errorf("rule %d (flow %q, service %q): %w", i+1, rule.Flow, rule.Service, err)
		}
		add(rule.From, rule.Essential, fwd)
		add(rule.To, rule.Essential, rep)
	}
	return byZone, nil
}

// zoneACL is the entries of zone z's inbound ACL, in order (see the
// package doc): essential rules, the restrict denies, the other rules,
// monitor, the final entry. Each section is sorted; an entry already
// written is not repeated.
func (r *fwRenderer) zoneACL(z string, e *zoneEntries, final string) ([]string, error) {
	if e == nil {
		e = &zoneEntries{}
	}
	var restrict []string
	if r.restrict != "" {
		restrict = []string{
			"deny ip object-group " + r.restrict + " any log",
			"deny ip any object-group " + r.restrict + " log",
		}
	}
	var monitor []string
	for _, m := range r.fw.Monitor {
		s := r.sets[m]
		if s == nil {
			return nil, fmt.Errorf("monitor set %q is not an address set of the intent", m)
		}
		switch {
		case m == z:
			// Everything from a monitor zone that no rule permits.
			monitor = append(monitor, "permit ip object-group "+z+" any log")
		case len(s.V4) > 0:
			// Everything from this zone to a monitor zone, and replies to
			// what the monitor zone sent here.
			monitor = append(monitor, "permit ip object-group "+z+" object-group "+m+" log")
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, section := range [][]string{e.essential, restrict, e.rules, monitor, {final}} {
		slices.Sort(section)
		for _, ace := range section {
			if !seen[ace] {
				seen[ace] = true
				out = append(out, ace)
			}
		}
	}
	return out, nil
}

// rule is one intent rule's own entries (for its source zone's ACL) and
// the entries for its replies (for its destination zone's ACL).
func (r *fwRenderer) rule(rule intent.Rule) (fwd, rep []string, err error) {
	from, to := r.sets[rule.From], r.sets[rule.To]
	if from == nil {
		return nil, nil, fmt.Errorf("from %q is not an address set of the intent", rule.From)
	}
	if to == nil {
		return nil, nil, fmt.Errorf("to %q is not an address set of the intent", rule.To)
	}
	src, dst := "object-group "+rule.From, "object-group "+rule.To
	switch rule.Proto {
	case "tcp", "udp":
		if len(rule.ICMPTypes) > 0 {
			return nil, nil, fmt.Errorf("protocol %s with ICMP types", rule.Proto)
		}
		ops, err := portOps(rule.Ports)
		if err != nil {
			return nil, nil, err
		}
		for _, op := range ops {
			fwd = append(fwd, join("permit", rule.Proto, src, dst, op))
			if rule.Proto == "tcp" {
				rep = append(rep, join("permit", rule.Proto, dst, op, src, "established"))
			} else {
				rep = append(rep, join("permit", rule.Proto, dst, op, src))
			}
		}
	case "icmp":
		if len(rule.Ports) > 0 {
			return nil, nil, fmt.Errorf("protocol icmp with ports")
		}
		echo := len(rule.ICMPTypes) == 0
		if echo {
			fwd = append(fwd, join("permit icmp", src, dst))
		}
		for _, name := range rule.ICMPTypes {
			t, ok := icmpNames[name]
			if !ok {
				return nil, nil, fmt.Errorf("ICMP type %q has no IOS-XE name here", name)
			}
			fwd = append(fwd, join("permit icmp", src, dst, t))
			echo = echo || t == "echo"
		}
		if echo {
			rep = append(rep, join("permit icmp", dst, src, "echo-reply"))
		}
	case "icmpv6":
		// No set has IPv6 members (refused above): it matches nothing.
		return nil, nil, nil
	default:
		return nil, nil, fmt.Errorf("protocol %q: want tcp, udp, icmp or icmpv6", rule.Proto)
	}
	if len(from.V4) == 0 || len(to.V4) == 0 {
		return nil, nil, nil // an empty set matches nothing
	}
	return fwd, rep, nil
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
// ICMP message names of the IOS extended ACE (Configuring Network Security
// with ACLs, icmp-message).
var icmpNames = map[string]string{
	"echo-request":            "echo",
	"echo-reply":              "echo-reply",
	"destination-unreachable": "unreachable",
	"time-exceeded":           "time-exceeded",
	"source-quench":           "source-quench",
	"redirect":                "redirect",
	"router-advertisement":    "router-advertisement",
	"router-solicitation":     "router-solicitation",
	"parameter-problem":       "parameter-problem",
	"timestamp-request":       "timestamp-request",
	"timestamp-reply":         "timestamp-reply",
	"info-request":            "information-request",
	"info-reply":              "information-reply",
	"address-mask-request":    "mask-request",
	"address-mask-reply":      "mask-reply",
}

// portOps turns port ranges into IOS port operators, one per entry:
// sorted, overlapping and adjacent ranges merged, "eq P" for one port,
// "range A B" for more; no ranges (or all ports) is one entry with no
// operator.
func portOps(ports []intent.Ports) ([]string, error) {
	if len(ports) == 0 {
		return []string{""}, nil
	}
	merged, err := drivers.MergePorts(ports)
	if err != nil {
		return nil, err
	}
	if len(merged) == 1 && merged[0].From == 0 && merged[0].To == 65535 {
		return []string{""}, nil
	}
	ops := make([]string, len(merged))
	for i, p := range merged {
		if p.From == p.To {
			ops[i] = "eq " + strconv.Itoa(p.From)
		} else {
			ops[i] = "range " + strconv.Itoa(p.From) + " " + strconv.Itoa(p.To)
		}
	}
	return ops, nil
}

// renderSwitch writes each access port: its full interface name, access
// mode, its VLAN. The quarantine VLAN is not configuration: isolate moves a
// port there at quarantine time.
func renderSwitch(b *strings.Builder, sw *intent.Switch) error {
	type port struct {
		name string
		num  []int
		vlan int
		dev  string
	}
	ports := make([]port, 0, len(sw.Ports))
	for _, p := range sw.Ports {
		name, num, err := canonicalInterface(p.Port)
		if err != nil {
			return fmt.Errorf("device %q: %w", p.Device, err)
		}
		if p.VLAN < 1 || p.VLAN > 4094 {
			return fmt.Errorf("port %s (device %q): VLAN %d: want 1-4094", name, p.Device, p.VLAN)
		}
		ports = append(ports, port{name, num, p.VLAN, p.Device})
	}
	slices.SortFunc(ports, func(x, y port) int {
		tx, ty := strings.TrimRight(x.name, "0123456789/"), strings.TrimRight(y.name, "0123456789/")
		return cmp.Or(strings.Compare(tx, ty), slices.Compare(x.num, y.num))
	})
	for i, p := range ports {
		if i > 0 && ports[i-1].name == p.name {
			return fmt.Errorf("port %s is given to devices %q and %q; an access port carries one VLAN", p.name, ports[i-1].dev, p.dev)
		}
		fmt.Fprintf(b, "interface %s\n switchport mode access\n switchport access vlan %d\n", p.name, p.vlan)
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
// sorting.
func canonicalInterface(s string) (string, []int, error) {
	t := strings.Join(strings.Fields(s), "")
	i := strings.IndexAny(t, "0123456789")
	if i <= 0 {
		return "", nil, fmt.Errorf("port %q: want an interface type and number such as Gi1/0/5 or GigabitEthernet1/0/5", s)
	}
	typ := strings.ToLower(t[:i])
	full := ""
	for _, it := range interfaceTypes {
		if typ == strings.ToLower(it.full) || typ == strings.ToLower(it.short) || (it.short == "Gi" && typ == "gig") {
			full = it.full
		}
	}
	if full == "" {
		var known []string
		for _, it := range interfaceTypes {
			known = append(known, it.short)
		}
		return "", nil, fmt.Errorf("port %q: interface type %q is not an Ethernet port type Ward knows (%s, or their full names)", s, t[:i], strings.Join(known, ", "))
	}
	var num []int
	for _, part := range strings.Split(t[i:], "/") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || strconv.Itoa(n) != part {
			return "", nil, fmt.Errorf("port %q: %q is not an interface number such as 1/0/5", s, t[i:])
		}
		num = append(num, n)
	}
	return full + t[i:], num, nil
}
