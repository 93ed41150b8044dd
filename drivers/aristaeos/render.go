package aristaeos

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

// The names of Ward's ACLs. Record lists (bound to no interface, so they
// filter nothing; EOS installs an ACL in hardware only where it is applied,
// "RACL divergence" in the manual's ACLs and Route Maps introduction,
// https://www.arista.com/en/um-eos/eos-acls-and-route-maps) carry the
// model's names, which EOS ACL entries cannot: no Arista document was found
// for address object-groups in ACLs (eosfake's package doc).
const (
	prefixSet         = "ward-set-"         // an address set: permit ip PREFIX any per member
	prefixMonitor     = "ward-monitor-"     // empty: the set is in monitor mode
	prefixRemediation = "ward-remediation-" // empty: an isolated device may reach this set
	prefixIsolate     = "ward-isolate-"     // the isolate set; its entries are quarantine state
	prefixRestrict    = "ward-restrict-"    // the restrict set; likewise
	prefixRule        = "ward-rule-"        // FROM-TO: one block of entries per rule
	prefixEssential   = "ward-essential-"   // the same for essential rules
	prefixRule6       = "ward-rule6-"       // ICMPv6 rules: recorded, enforce nothing (IPv4 ACLs)
	prefixEssential6  = "ward-essential6-"
	prefixZone        = "ward-zone-" // the enforcing ACL of a zone, bound on its VLAN interface
	prefixVLAN        = "ward-vlan"  // ward-vlanN: that of a zone with no address set
	nameDefaultDrop   = "ward-default-drop"
	nameDefaultAccept = "ward-default-accept"
	// nameAccess is empty: the target holds the access role, so Ward
	// manages the access VLAN of the switch's ports. Without it, ports
	// are not Ward's and are neither read nor changed.
	nameAccess = "ward-access"
)

// Sections of a zone ACL, by sequence number: each holds its entries
// numbered by 10 from its base, in this order of evaluation.
const (
	secIsolate   = 10         // quarantine state: isolated addresses
	secEssential = 1_000_000  // essential rules and their replies
	secRestrict  = 2_000_000  // quarantine state: restricted addresses
	secRules     = 3_000_000  // the other rules and their replies
	secMonitor   = 8_000_000  // monitor zones: permit … log
	seqFinal     = 9_000_000  // deny ip any any log (or permit … log)
	ruleBlock    = 1000       // in a rule record list, rule i's entries start at (i+1)*ruleBlock
	maxSeq       = 4294967295 // the largest sequence number EOS takes
)

var setNameRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,60}$`)

func checkSetName(what, name string) error {
	if !setNameRe.MatchString(name) {
		return fmt.Errorf("%s %q: EOS ACL names here are built from set names of 1-60 letters, digits and _; rename it in the policy", what, name)
	}
	return nil
}

// icmpEOS maps the policy's ICMP type names (nftables' spelling) to those
// EOS ACL entries take (docICMP in eosfake: the arista.eos.eos_acls module
// names).
var icmpPolicyToEOS = map[string]string{
	"echo-request": "echo", "echo-reply": "echo-reply", "destination-unreachable": "unreachable",
	"time-exceeded": "time-exceeded", "redirect": "redirect", "parameter-problem": "parameter-problem",
	"source-quench": "source-quench", "router-advertisement": "router-advertisement",
	"router-solicitation": "router-solicitation", "timestamp-request": "timestamp-request",
	"timestamp-reply": "timestamp-reply", "info-request": "information-request", "info-reply": "information-reply",
	"address-mask-request": "mask-request", "address-mask-reply": "mask-reply",
}

var icmpEOS = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range icmpPolicyToEOS {
		m[v] = true
	}
	return m
}()

// quarantine is the quarantine state kept on the device: the members of
// the isolate and restrict sets, and the ports moved to the quarantine VLAN
// (port -> the VLAN it belongs in).
type quarantine struct {
	isolate, restrict []netip.Prefix
	ports             map[string]int
}

// build turns a target's intent, with the quarantine state q (nil: none),
// into the state a device must hold. It checks everything it writes.
func build(t *intent.Target, q *quarantine) (*state, error) {
	if t == nil {
		return nil, fmt.Errorf("no target intent")
	}
	st := newState()
	if q == nil {
		q = &quarantine{}
	}
	if t.Firewall != nil {
		if err := buildFirewall(st, t.Firewall, q); err != nil {
			return nil, err
		}
	}
	if t.Switch != nil {
		st.acls[nameAccess] = nil
		if err := buildSwitch(st, t.Switch, q); err != nil {
			return nil, err
		}
	}
	return st, nil
}

type fwBuilder struct {
	fw   *intent.Firewall
	sets map[string]*intent.AddressSet
	st   *state
}

func buildFirewall(st *state, fw *intent.Firewall, q *quarantine) error {
	b := &fwBuilder{fw: fw, sets: map[string]*intent.AddressSet{}, st: st}
	final := ""
	switch fw.DefaultAction {
	case "drop":
		final = "deny ip any any log"
		st.acls[nameDefaultDrop] = nil
	case "accept":
		// What no rule names passes, logged: an ACL never permits silently.
		final = "permit ip any any log"
		st.acls[nameDefaultAccept] = nil
	default:
		return fmt.Errorf("default action %q: want drop or accept", fw.DefaultAction)
	}
	for i := range fw.Sets {
		s := &fw.Sets[i]
		if err := checkSetName("address set", s.Name); err != nil {
			return err
		}
		if b.sets[s.Name] != nil {
			return fmt.Errorf("address set %q is declared twice", s.Name)
		}
		if len(s.V6) > 0 {
			return fmt.Errorf("address set %q has IPv6 members (%s): this driver writes IPv4 ACLs only, and a VLAN interface without an IPv6 ACL would route IPv6 unfiltered; remove the IPv6 addresses or use a driver that enforces IPv6", s.Name, s.V6[0])
		}
		b.sets[s.Name] = s
		var es []entry
		for j, p := range sortedPrefixes(s.V4) {
			if !p.IsValid() || !p.Addr().Is4() {
				return fmt.Errorf("address set %q: %s is not an IPv4 prefix", s.Name, p)
			}
			es = append(es, entry{(j + 1) * 10, "permit ip " + prefixText(p) + " any"})
		}
		st.acls[prefixSet+s.Name] = es
	}
	for _, m := range fw.Monitor {
		if b.sets[m] == nil {
			return fmt.Errorf("monitor set %q is not an address set of the intent", m)
		}
		st.acls[prefixMonitor+m] = nil
	}
	for _, r := range fw.Quarantine.Remediation {
		if b.sets[r] == nil {
			return fmt.Errorf("remediation set %q is not an address set of the intent", r)
		}
		st.acls[prefixRemediation+r] = nil
	}
	for _, qs := range []struct {
		name, prefix string
		members      []netip.Prefix
	}{{fw.Quarantine.IsolateSet, prefixIsolate, q.isolate}, {fw.Quarantine.RestrictSet, prefixRestrict, q.restrict}} {
		if qs.name == "" {
			if len(qs.members) > 0 {
				return fmt.Errorf("the device has quarantined addresses in a quarantine set the intent no longer has; release them first (ward release)")
			}
			continue
		}
		if err := checkSetName("quarantine set", qs.name); err != nil {
			return err
		}
		if b.sets[qs.name] != nil && len(b.sets[qs.name].V4) > 0 {
			return fmt.Errorf("quarantine set %q has members in the intent: its members are quarantine state, never configuration", qs.name)
		}
		var es []entry
		for j, p := range sortedPrefixes(qs.members) {
			es = append(es, entry{(j + 1) * 10, "permit ip " + prefixText(p) + " any"})
		}
		st.acls[qs.prefix+qs.name] = es
	}
	rules, err := b.records()
	if err != nil {
		return err
	}
	return b.zones(rules, final, q)
}

func sortedPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(x, y netip.Prefix) int {
		return cmp.Or(x.Addr().Compare(y.Addr()), x.Bits()-y.Bits())
	})
	return slices.CompactFunc(out, func(x, y netip.Prefix) bool { return x.Masked() == y.Masked() })
}

// ruleSpec is a rule's protocol part as its record entries write it
// ("tcp any any eq 443", "icmp any any echo"): one per port range or type.
func ruleSpecs(r intent.Rule) ([]string, error) {
	switch r.Proto {
	case "tcp", "udp":
		if len(r.ICMPTypes) > 0 {
			return nil, fmt.Errorf("protocol %s with ICMP types", r.Proto)
		}
		ops, err := drivers.PortOperators(r.Ports)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(ops))
		for i, op := range ops {
			out[i] = join(r.Proto, "any any", op)
		}
		return out, nil
	case "icmp", "icmpv6":
		if len(r.Ports) > 0 {
			return nil, fmt.Errorf("protocol %s with ports", r.Proto)
		}
		if len(r.ICMPTypes) == 0 {
			return []string{"icmp any any"}, nil
		}
		var out []string
		for _, name := range r.ICMPTypes {
			t, ok := icmpPolicyToEOS[name]
			if !ok {
				return nil, fmt.Errorf("ICMP type %q has no EOS name here", name)
			}
			out = append(out, "icmp any any "+t)
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	return nil, fmt.Errorf("protocol %q: want tcp, udp, icmp or icmpv6", r.Proto)
}

// records writes the rule record lists, and returns the rules deduplicated
// and sorted as they are recorded (what Enforced compares).
func (b *fwBuilder) records() ([]intent.Rule, error) {
	rules := (&intent.Target{Firewall: &intent.Firewall{Rules: b.fw.Rules}}).Enforced().Firewall.Rules
	counts := map[string]int{}
	for i, r := range rules {
		if b.sets[r.From] == nil {
			return nil, fmt.Errorf("rule %d: from %q is not an address set of the intent", i+1, r.From)
		}
		if b.sets[r.To] == nil {
			return nil, fmt.Errorf("rule %d: to %q is not an address set of the intent", i+1, r.To)
		}
		specs, err := ruleSpecs(r)
		if err != nil {
			return nil, fmt.Errorf("rule from %s to %s: %w", r.From, r.To, err)
		}
		prefix := prefixRule
		switch {
		case r.Proto == "icmpv6" && r.Essential:
			prefix = prefixEssential6
		case r.Proto == "icmpv6":
			prefix = prefixRule6
		case r.Essential:
			prefix = prefixEssential
		}
		name := prefix + r.From + "-" + r.To
		if len(specs) >= ruleBlock/10 {
			return nil, fmt.Errorf("rule from %s to %s: %d port ranges or types, at most %d", r.From, r.To, len(specs), ruleBlock/10-1)
		}
		counts[name]++
		base := counts[name] * ruleBlock
		for k, s := range specs {
			b.st.acls[name] = append(b.st.acls[name], entry{base + k*10, "permit " + s})
		}
	}
	return rules, nil
}

// zones writes each zone's enforcing ACL and binds it on the zone's VLAN
// interface.
func (b *fwBuilder) zones(rules []intent.Rule, final string, q *quarantine) error {
	seen := map[int]string{}
	for _, z := range b.fw.Zones {
		if z.VLAN < 1 || z.VLAN > 4094 {
			return fmt.Errorf("zone %q: VLAN %d: want 1-4094", z.Name, z.VLAN)
		}
		name := prefixVLAN + strconv.Itoa(z.VLAN)
		if z.Set != "" {
			if b.sets[z.Set] == nil {
				return fmt.Errorf("zone %q: set %q is not an address set of the intent", z.Name, z.Set)
			}
			name = prefixZone + z.Set
		}
		if prev, dup := seen[z.VLAN]; dup {
			return fmt.Errorf("VLAN %d is given to two zones (%s and %s); an interface takes one inbound ACL", z.VLAN, prev, z.Name)
		}
		seen[z.VLAN] = z.Name
		if z.Set != "" && z.Monitor != slices.Contains(b.fw.Monitor, z.Set) {
			return fmt.Errorf("zone %q: its monitor mode and the intent's monitor sets disagree", z.Name)
		}
		zfinal := final
		if z.Set == "" && z.Monitor {
			// A monitor zone no flow names: everything entering from it
			// is its own traffic, logged and let through.
			name, zfinal = name+"-monitor", "permit ip any any log"
		}
		es, err := b.zoneEntries(z.Set, rules, zfinal, q)
		if err != nil {
			return fmt.Errorf("zone %q: %w", z.Name, err)
		}
		if _, dup := b.st.acls[name]; dup {
			return fmt.Errorf("zone %q: set %q is bound on two VLANs", z.Name, z.Set)
		}
		b.st.acls[name] = es
		b.st.bindings[z.VLAN] = name
	}
	return nil
}

// zoneEntries is the inbound ACL of the zone whose set is z ("" for none):
// see the package doc for its sections.
func (b *fwBuilder) zoneEntries(z string, rules []intent.Rule, final string, q *quarantine) ([]entry, error) {
	var essential, other []string
	for _, r := range rules {
		fwd, rep, err := b.rule(r)
		if err != nil {
			return nil, err
		}
		var add []string
		if z != "" && r.From == z {
			add = append(add, fwd...)
		}
		if z != "" && r.To == z {
			add = append(add, rep...)
		}
		if r.Essential {
			essential = append(essential, add...)
		} else {
			other = append(other, add...)
		}
	}
	var isolate []string
	var remediation []netip.Prefix
	for _, r := range b.fw.Quarantine.Remediation {
		remediation = append(remediation, b.sets[r].V4...)
	}
	for _, x := range sortedPrefixes(q.isolate) {
		for _, rp := range sortedPrefixes(remediation) {
			// Both ways: a remediation set may be a zone, whose own ACL
			// then carries its replies to x.
			isolate = append(isolate, "permit ip "+prefixText(x)+" "+prefixText(rp), "permit ip "+prefixText(rp)+" "+prefixText(x))
		}
		isolate = append(isolate, "deny ip "+prefixText(x)+" any log", "deny ip any "+prefixText(x)+" log")
	}
	var restrict []string
	for _, x := range sortedPrefixes(q.restrict) {
		restrict = append(restrict, "deny ip "+prefixText(x)+" any log", "deny ip any "+prefixText(x)+" log")
	}
	var monitor []string
	if z != "" {
		src := b.sets[z].V4
		for _, m := range b.fw.Monitor {
			for _, sp := range sortedPrefixes(src) {
				if m == z {
					monitor = append(monitor, "permit ip "+prefixText(sp)+" any log")
					continue
				}
				for _, mp := range sortedPrefixes(b.sets[m].V4) {
					monitor = append(monitor, "permit ip "+prefixText(sp)+" "+prefixText(mp)+" log")
				}
			}
		}
	}
	var out []entry
	for _, sec := range []struct {
		base, end int
		texts     []string
		sorted    bool
	}{
		{secIsolate, secEssential, isolate, false},
		{secEssential, secRestrict, essential, true},
		{secRestrict, secRules, restrict, false},
		{secRules, secMonitor, other, true},
		{secMonitor, seqFinal, monitor, true},
	} {
		texts := sec.texts
		if sec.sorted {
			texts = slices.Clone(texts)
			slices.Sort(texts)
			texts = slices.Compact(texts)
		}
		if sec.base+len(texts)*10 >= sec.end {
			return nil, fmt.Errorf("%d entries overflow the ACL section that starts at sequence %d", len(texts), sec.base)
		}
		for i, t := range texts {
			out = append(out, entry{sec.base + i*10, t})
		}
	}
	return append(out, entry{seqFinal, final}), nil
}

// rule is one rule's entries for its source zone's ACL (fwd) and, for its
// destination zone's ACL, the entries that let its replies back (rep):
// these ACLs are stateless. TCP replies come from the service port with
// established; UDP replies from the service port (any UDP from the
// destination back to the source when the rule names no port); ICMP
// echo-reply for a rule that allows echo requests (or any ICMP).
func (b *fwBuilder) rule(r intent.Rule) (fwd, rep []string, err error) {
	if r.Proto == "icmpv6" {
		return nil, nil, nil // recorded only: IPv4 ACLs, and no set has IPv6 members
	}
	from, to := sortedPrefixes(b.sets[r.From].V4), sortedPrefixes(b.sets[r.To].V4)
	for _, s := range from {
		for _, d := range to {
			src, dst := prefixText(s), prefixText(d)
			switch r.Proto {
			case "tcp", "udp":
				ops, err := drivers.PortOperators(r.Ports)
				if err != nil {
					return nil, nil, err
				}
				for _, op := range ops {
					fwd = append(fwd, join("permit", r.Proto, src, dst, op))
					if r.Proto == "tcp" {
						rep = append(rep, join("permit tcp", dst, op, src, "established"))
					} else {
						rep = append(rep, join("permit udp", dst, op, src))
					}
				}
			case "icmp":
				echo := len(r.ICMPTypes) == 0
				if echo {
					fwd = append(fwd, join("permit icmp", src, dst))
				}
				for _, name := range r.ICMPTypes {
					fwd = append(fwd, join("permit icmp", src, dst, icmpPolicyToEOS[name]))
					echo = echo || name == "echo-request"
				}
				if echo {
					rep = append(rep, join("permit icmp", dst, src, "echo-reply"))
				}
			}
		}
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

// buildSwitch writes the quarantine VLAN's name and each access port's
// VLAN; a port in quarantine stays in the quarantine VLAN, its own VLAN
// kept in its description.
func buildSwitch(st *state, sw *intent.Switch, q *quarantine) error {
	if sw.QuarantineVLAN < 0 || sw.QuarantineVLAN > 4094 {
		return fmt.Errorf("quarantine VLAN %d: want 1-4094", sw.QuarantineVLAN)
	}
	st.qvlan = sw.QuarantineVLAN
	devices := map[string]string{}
	for _, p := range sw.Ports {
		name, err := canonicalPort(p.Port)
		if err != nil {
			return fmt.Errorf("device %q: %w", p.Device, err)
		}
		if p.VLAN < 1 || p.VLAN > 4094 {
			return fmt.Errorf("port %s (device %q): VLAN %d: want 1-4094", name, p.Device, p.VLAN)
		}
		if other, dup := devices[name]; dup {
			return fmt.Errorf("port %s is given to devices %q and %q; an access port carries one VLAN", name, other, p.Device)
		}
		devices[name] = p.Device
		if _, held := q.ports[name]; held && st.qvlan != 0 {
			st.ports[name] = port{vlan: st.qvlan, home: p.VLAN}
			continue
		}
		st.ports[name] = port{vlan: p.VLAN}
	}
	return nil
}
