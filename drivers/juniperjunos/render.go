package juniperjunos

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// filterName is the inbound filter of a zone VLAN: ward_<set>, or
// ward_vlan<N> for a zone no flow names (it has no address set).
func filterName(z intent.Zone) string {
	if z.Set == "" {
		return "ward_vlan" + strconv.Itoa(z.VLAN)
	}
	return "ward_" + z.Set
}

// portDescription marks an access port as Ward's and records the VLAN it
// belongs in, so a port moved to the quarantine VLAN is still read as in
// its own (Running leaves quarantine out) and release knows where to put
// it back.
func portDescription(vlan int, quarantined bool) string {
	d := "ward-" + strconv.Itoa(vlan)
	if quarantined {
		d += quarantineSuffix
	}
	return d
}

const quarantineSuffix = "-quarantine"

// parseDescription reads portDescription back.
func parseDescription(d string) (vlan int, quarantined, ok bool) {
	rest, found := strings.CutPrefix(d, "ward-")
	if !found {
		return 0, false, false
	}
	rest, quarantined = strings.CutSuffix(rest, quarantineSuffix)
	v, err := strconv.Atoi(rest)
	if err != nil || v < 1 || v > 4094 || strconv.Itoa(v) != rest {
		return 0, false, false
	}
	return v, quarantined, true
}

// render builds the managed configuration of a target.
func render(t *intent.Target) (*config, error) {
	if t == nil {
		return nil, fmt.Errorf("%s: no target intent to render", driverName)
	}
	if t.Firewall == nil && t.Switch == nil {
		return nil, fmt.Errorf("%s: target %q (role %q) has neither a firewall nor an access-switch intent; nothing to render", driverName, t.Name, t.RoleText())
	}
	c := newConfig()
	if t.Firewall != nil {
		if err := renderFirewall(c, t.Firewall); err != nil {
			return nil, fmt.Errorf("%s: target %q: %w", driverName, t.Name, err)
		}
	}
	if t.Switch != nil {
		if err := renderSwitch(c, t.Switch); err != nil {
			return nil, fmt.Errorf("%s: target %q: %w", driverName, t.Name, err)
		}
	}
	return c, nil
}

// fw holds what rendering one firewall looks up.
type fw struct {
	f        *intent.Firewall
	sets     map[string]*intent.AddressSet
	bound    map[string]string // set → the filter of its zone VLAN
	isolate  string
	restrict string
	used     map[string]bool // prefix-lists a term names
}

func renderFirewall(c *config, f *intent.Firewall) error {
	r := &fw{f: f, sets: map[string]*intent.AddressSet{}, bound: map[string]string{}, used: map[string]bool{}}
	for i := range f.Sets {
		s := &f.Sets[i]
		if !name.MatchString(s.Name) {
			return fmt.Errorf("address set name %q: Junos prefix-list names here are letters, digits, _ . - (at most 64); rename it in the policy", s.Name)
		}
		if r.sets[s.Name] != nil {
			return fmt.Errorf("address set %q is declared twice", s.Name)
		}
		if len(s.V6) > 0 {
			// Ward writes family inet filters only: an irb without an inet6
			// filter would pass IPv6 unfiltered.
			return fmt.Errorf("address set %q has IPv6 members (%s): this driver writes IPv4 (family inet) filters only, and an interface without an IPv6 filter would pass IPv6 unfiltered; remove the IPv6 addresses or use a driver that enforces IPv6", s.Name, s.V6[0])
		}
		r.sets[s.Name] = s
	}
	for _, q := range []string{f.Quarantine.IsolateSet, f.Quarantine.RestrictSet} {
		if q == "" {
			continue
		}
		if !name.MatchString(q) {
			return fmt.Errorf("quarantine set name %q: letters, digits, _ . - (at most 64)", q)
		}
		if s := r.sets[q]; s != nil {
			return fmt.Errorf("quarantine set %q is also an address set of the intent: its members are quarantine state, added at quarantine time, never configuration", q)
		}
	}
	r.isolate, r.restrict = f.Quarantine.IsolateSet, f.Quarantine.RestrictSet
	for _, m := range f.Quarantine.Remediation {
		if r.sets[m] == nil {
			return fmt.Errorf("remediation set %q is not an address set of the intent", m)
		}
	}
	for _, m := range f.Monitor {
		if r.sets[m] == nil {
			return fmt.Errorf("monitor set %q is not an address set of the intent", m)
		}
	}
	var final string
	switch f.DefaultAction {
	case "drop":
		final = "discard"
	case "accept":
		// What the policy names nothing for is let through, logged and
		// counted: a filter never permits silently.
		final = "accept"
	default:
		return fmt.Errorf("default action %q: want drop or accept", f.DefaultAction)
	}
	vlans := map[int]bool{}
	for _, z := range f.Zones {
		if z.VLAN < 1 || z.VLAN > 4094 {
			return fmt.Errorf("zone %q: VLAN %d: want 1-4094", z.Name, z.VLAN)
		}
		if vlans[z.VLAN] {
			return fmt.Errorf("VLAN %d is given to two zones; irb.%d takes one input filter", z.VLAN, z.VLAN)
		}
		vlans[z.VLAN] = true
		if z.Set != "" {
			if r.sets[z.Set] == nil {
				return fmt.Errorf("zone %q: set %q is not an address set of the intent", z.Name, z.Set)
			}
			r.bound[z.Set] = filterName(z)
		}
	}
	byFilter, err := r.ruleTerms()
	if err != nil {
		return err
	}
	for _, z := range f.Zones {
		fn := filterName(z)
		c.filters[fn] = r.filter(z, byFilter[fn], final)
		c.irb[z.VLAN] = fn
	}
	for n := range r.used {
		if s := r.sets[n]; s != nil {
			c.lists[n] = slices.Clone(s.V4)
		} else {
			c.lists[n] = []netip.Prefix{} // a quarantine set: empty, quarantine fills it
		}
	}
	return nil
}

// sections is what the rules put into one zone filter, before ordering.
type sections struct{ essential, rules []*term }

// ruleTerms computes each rule's terms: its own (in its source zone's
// filter) and its replies' (in its destination zone's filter).
func (r *fw) ruleTerms() (map[string]*sections, error) {
	out := map[string]*sections{}
	add := func(filter string, essential bool, ts []*term) {
		if filter == "" || len(ts) == 0 {
			return // not a zone with a VLAN here: its traffic enters elsewhere
		}
		s := out[filter]
		if s == nil {
			s = &sections{}
			out[filter] = s
		}
		if essential {
			s.essential = append(s.essential, ts...)
		} else {
			s.rules = append(s.rules, ts...)
		}
	}
	for i, rule := range r.f.Rules {
		fwd, rep, err := r.rule(rule)
		if err != nil {
			return nil, fmt.Errorf("rule %d (flow %q, service %q): %w", i+1, rule.Flow, rule.Service, err)
		}
		add(r.bound[rule.From], rule.Essential, fwd)
		add(r.bound[rule.To], rule.Essential, rep)
	}
	return out, nil
}

// rule is one intent rule's own term and the terms for its replies. The
// filters are stateless, so replies are written as terms: TCP from the
// rule's destination ports with tcp-established; UDP from the rule's
// destination ports (any UDP from the destination back when the rule names
// no port); ICMP echo-reply for a rule allowing echo requests (or any
// ICMP). Nothing else comes back.
func (r *fw) rule(rule intent.Rule) (fwd, rep []*term, err error) {
	if r.sets[rule.From] == nil {
		return nil, nil, fmt.Errorf("from %q is not an address set of the intent", rule.From)
	}
	if r.sets[rule.To] == nil {
		return nil, nil, fmt.Errorf("to %q is not an address set of the intent", rule.To)
	}
	f := &term{srcLists: []string{rule.From}, dstLists: []string{rule.To}, action: "accept"}
	back := &term{srcLists: []string{rule.To}, dstLists: []string{rule.From}, action: "accept"}
	switch rule.Proto {
	case "tcp", "udp":
		if len(rule.ICMPTypes) > 0 {
			return nil, nil, fmt.Errorf("protocol %s with ICMP types", rule.Proto)
		}
		ports, err := junosPorts(rule.Ports)
		if err != nil {
			return nil, nil, err
		}
		f.protocols, f.dstPorts = []string{rule.Proto}, ports
		back.protocols, back.srcPorts = []string{rule.Proto}, ports
		back.tcpEstablished = rule.Proto == "tcp"
	case "icmp":
		if len(rule.Ports) > 0 {
			return nil, nil, fmt.Errorf("protocol icmp with ports")
		}
		f.protocols = []string{"icmp"}
		echo := len(rule.ICMPTypes) == 0
		for _, n := range rule.ICMPTypes {
			jt, ok := icmpToJunos[n]
			if !ok {
				return nil, nil, fmt.Errorf("ICMP type %q has no Junos icmp-type here", n)
			}
			if !slices.Contains(f.icmpTypes, jt) {
				f.icmpTypes = append(f.icmpTypes, jt)
			}
			echo = echo || n == "echo-request"
		}
		slices.Sort(f.icmpTypes)
		if !echo {
			back = nil
		} else {
			back.protocols, back.icmpTypes = []string{"icmp"}, []string{"echo-reply"}
			if len(rule.ICMPTypes) == 0 {
				back.name = anyICMP // read back as a rule for any ICMP
			}
		}
	case "icmpv6":
		// No set has IPv6 members (refused above): it matches nothing.
		return nil, nil, nil
	default:
		return nil, nil, fmt.Errorf("protocol %q: want tcp, udp, icmp or icmpv6", rule.Proto)
	}
	r.used[rule.From], r.used[rule.To] = true, true
	f.name = "rule"
	if back == nil {
		return []*term{f}, nil, nil
	}
	back.name = "reply" + back.name
	return []*term{f}, []*term{back}, nil
}

// anyICMP tags the reply term of a rule for any ICMP type, so Parse reads
// a reply alone (a rule from a network) back as the rule it came from.
const anyICMP = "-anyicmp"

// junosPorts writes port ranges as the port match conditions take them
// (docFilterMatch: a number or a range low-high): merged, sorted; none for
// all ports.
func junosPorts(ports []intent.Ports) ([]string, error) {
	merged, err := drivers.MergePorts(ports)
	if err != nil {
		return nil, err
	}
	if len(merged) == 0 || (len(merged) == 1 && merged[0].From == 0 && merged[0].To == 65535) {
		return nil, nil
	}
	out := make([]string, len(merged))
	for i, p := range merged {
		if p.From == p.To {
			out[i] = strconv.Itoa(p.From)
		} else {
			out[i] = strconv.Itoa(p.From) + "-" + strconv.Itoa(p.To)
		}
	}
	return out, nil
}

// filter orders a zone filter's terms: isolate (an isolated address
// reaches the remediation sets only, both ways), the essential rules and
// their replies, restrict (a restricted address keeps only what came
// before), the other rules and replies, monitor (logged and counted, then
// accepted), and the final term (logged and counted). Each section is
// sorted and deduplicated, and its terms numbered.
func (r *fw) filter(z intent.Zone, s *sections, final string) []*term {
	if s == nil {
		s = &sections{}
	}
	var out []*term
	if q := r.isolate; q != "" {
		r.used[q] = true
		if rem := slices.Sorted(slices.Values(r.f.Quarantine.Remediation)); len(rem) > 0 {
			for _, m := range rem {
				r.used[m] = true
			}
			out = append(out,
				&term{name: "isolate-remediation", srcLists: []string{q}, dstLists: rem, action: "accept"},
				&term{name: "isolate-remediation-in", srcLists: rem, dstLists: []string{q}, action: "accept"})
		}
		out = append(out,
			&term{name: "isolate", srcLists: []string{q}, count: "isolate", log: true, action: "discard"},
			&term{name: "isolate-in", dstLists: []string{q}, count: "isolate-in", log: true, action: "discard"})
	}
	out = append(out, numbered("essential-", s.essential)...)
	if q := r.restrict; q != "" {
		r.used[q] = true
		out = append(out,
			&term{name: "restrict", srcLists: []string{q}, count: "restrict", log: true, action: "discard"},
			&term{name: "restrict-in", dstLists: []string{q}, count: "restrict-in", log: true, action: "discard"})
	}
	out = append(out, numbered("", s.rules)...)
	monitors := slices.Sorted(slices.Values(r.f.Monitor))
	if slices.Contains(monitors, z.Set) {
		// Everything from a monitor zone that no rule accepts.
		out = append(out, &term{name: "monitor", srcLists: []string{z.Set}, count: "monitor", log: true, action: "accept"})
		r.used[z.Set] = true
	}
	n := 0
	for _, m := range monitors {
		if m == z.Set || z.Set == "" {
			continue
		}
		// Everything from this zone to a monitor zone.
		n++
		id := "monitor-to-" + strconv.Itoa(n)
		out = append(out, &term{name: id, srcLists: []string{z.Set}, dstLists: []string{m}, count: id, log: true, action: "accept"})
		r.used[m], r.used[z.Set] = true, true
	}
	out = append(out, &term{name: "default", count: "default", log: true, action: final})
	return out
}

// numbered sorts terms by their match, drops duplicates and names each
// prefix + kind + "-" + its number in the section (rule-1, reply-2,
// reply-anyicmp-3; essential-rule-1 ...).
func numbered(prefix string, ts []*term) []*term {
	type keyed struct {
		key string
		t   *term
	}
	var ks []keyed
	seen := map[string]bool{}
	for _, t := range ts {
		k := t.name + "|" + termKey(t)
		if seen[k] {
			continue
		}
		seen[k] = true
		ks = append(ks, keyed{k, t})
	}
	slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	out := make([]*term, len(ks))
	for i, k := range ks {
		c := *k.t
		c.name = prefix + c.name + "-" + strconv.Itoa(i+1)
		out[i] = &c
	}
	return out
}

func termKey(t *term) string {
	return strings.Join([]string{strings.Join(t.srcLists, ","), strings.Join(t.dstLists, ","), strings.Join(t.protocols, ","),
		strings.Join(t.srcPorts, ","), strings.Join(t.dstPorts, ","), strings.Join(t.icmpTypes, ","), strconv.FormatBool(t.tcpEstablished)}, "|")
}

// icmpToJunos maps the policy's ICMP type names (nftables' spelling) to
// Junos icmp-type values: the text synonyms docFilterMatch lists where
// there is one, else the type number (the match condition takes 0-255).
var icmpToJunos = map[string]string{
	"echo-reply":              "echo-reply",
	"destination-unreachable": "unreachable",
	"source-quench":           "4",
	"redirect":                "5",
	"echo-request":            "echo-request",
	"router-advertisement":    "9",
	"router-solicitation":     "10",
	"time-exceeded":           "time-exceeded",
	"parameter-problem":       "12",
	"timestamp-request":       "13",
	"timestamp-reply":         "14",
	"info-request":            "15",
	"info-reply":              "16",
	"address-mask-request":    "17",
	"address-mask-reply":      "18",
}

// renderSwitch writes each access port: Ward's description (its VLAN),
// access mode, its VLAN by id (docEthSwitching: members takes names or
// VLAN ids). The quarantine VLAN is not configuration: isolate moves a
// port there at quarantine time.
func renderSwitch(c *config, sw *intent.Switch) error {
	devs := map[string]string{}
	for _, p := range sw.Ports {
		n, err := canonicalInterface(p.Port)
		if err != nil {
			return fmt.Errorf("device %q: %w", p.Device, err)
		}
		if p.VLAN < 1 || p.VLAN > 4094 {
			return fmt.Errorf("port %s (device %q): VLAN %d: want 1-4094", n, p.Device, p.VLAN)
		}
		if d, dup := devs[n]; dup {
			return fmt.Errorf("port %s is given to devices %q and %q; an access port carries one VLAN", n, d, p.Device)
		}
		devs[n] = p.Device
		c.ports[n] = &port{desc: portDescription(p.VLAN, false), mode: "access", vlans: []string{strconv.Itoa(p.VLAN)}}
	}
	return nil
}
