package intent

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Change is the semantic difference between two intents, the first thing a
// plan shows: per target, the flows whose rules change, the addresses that
// enter or leave each set, the ports whose VLAN changes; across targets,
// the essential flows the change removes or narrows, which apply refuses
// without -allow-essential-change. It is empty exactly when the two intents
// enforce the same thing; rule order does not count, since every rule
// accepts.
type Change struct {
	Targets   []TargetChange    `json:"targets"`   // targets that change, by name
	Essential []EssentialChange `json:"essential"` // by target, then flow
	Counts    Counts            `json:"counts"`
}

// Actions of a change.
const (
	ActionAdd    = "add"
	ActionRemove = "remove"
	ActionChange = "change"
)

// Transition is a value before and after a change.
type Transition[T any] struct {
	From T `json:"from"`
	To   T `json:"to"`
}

// TargetChange is how one target's intent changes. With a new role, both
// Firewall and Switch are set: one removes everything, the other adds.
type TargetChange struct {
	Name   string `json:"name"`
	Action string `json:"action"` // ActionAdd, ActionRemove or ActionChange
	// Role and Driver are the new ones, or the old ones for a removal.
	Role         string              `json:"role"`
	Driver       string              `json:"driver"`
	RoleChange   *Transition[string] `json:"role_change,omitempty"`
	DriverChange *Transition[string] `json:"driver_change,omitempty"`
	Firewall     *FirewallChange     `json:"firewall,omitempty"`
	Switch       *SwitchChange       `json:"switch,omitempty"`
}

// FirewallChange is how a firewall's ruleset changes.
type FirewallChange struct {
	Flows          []FlowChange            `json:"flows"` // by flow name
	Sets           []SetChange             `json:"sets"`  // by set name
	MonitorAdded   []string                `json:"monitor_added"`
	MonitorRemoved []string                `json:"monitor_removed"`
	DefaultAction  *Transition[string]     `json:"default_action,omitempty"`
	Quarantine     *Transition[Quarantine] `json:"quarantine,omitempty"`
}

// FlowChange is a flow whose rules on one firewall change.
type FlowChange struct {
	Flow   string `json:"flow"`
	Action string `json:"action"` // ActionAdd: no rule before; ActionRemove: none after
	// Essential is whether the flow is essential after the change (before,
	// for a removal).
	Essential    bool   `json:"essential"`
	RulesAdded   []Rule `json:"rules_added"`
	RulesRemoved []Rule `json:"rules_removed"`
}

// SetChange is an address set whose members change. Added and Removed are
// addresses, aggregated: growing 10.0.0.0/25 to 10.0.0.0/24 adds
// 10.0.0.128/25 and removes nothing.
type SetChange struct {
	Name    string         `json:"name"`
	Action  string         `json:"action"`
	Kind    string         `json:"kind"`
	Of      string         `json:"of"`
	Added   []netip.Prefix `json:"added"`
	Removed []netip.Prefix `json:"removed"`
}

// SwitchChange is how an access switch's ports change.
type SwitchChange struct {
	Ports          []PortChange     `json:"ports"` // in port order
	QuarantineVLAN *Transition[int] `json:"quarantine_vlan,omitempty"`
}

// PortChange is an access port that gains, loses or changes its VLAN or
// device. Ports are matched ignoring case, like switches do.
type PortChange struct {
	Port   string `json:"port"`
	Action string `json:"action"`
	// Device is on the port after the change (before, for a removal);
	// FromDevice is set when another device was on it before.
	Device     string `json:"device"`
	FromDevice string `json:"from_device,omitempty"`
	FromVLAN   int    `json:"from_vlan"` // 0 when added
	ToVLAN     int    `json:"to_vlan"`   // 0 when removed
	FromZone   string `json:"from_zone"`
	ToZone     string `json:"to_zone"`
}

// Kinds of essential change.
const (
	// EssentialRemoved: the flow has no rule left on the target.
	EssentialRemoved = "removed"
	// EssentialNarrowed: some traffic the flow allowed is no longer allowed
	// by it (fewer ports, ICMP types, or source or destination sets).
	EssentialNarrowed = "narrowed"
	// EssentialUnmarked: the traffic is still allowed, but no longer as
	// essential, so a restrict quarantine would cut it.
	EssentialUnmarked = "unmarked"
)

// EssentialChange is an essential flow that a change removes or narrows on
// one firewall.
type EssentialChange struct {
	Target string `json:"target"`
	Flow   string `json:"flow"`
	Kind   string `json:"kind"` // EssentialRemoved, EssentialNarrowed or EssentialUnmarked
	// Lost is the traffic the flow allowed as essential that it no longer
	// does: its old rules cut down to what is lost. ICMPTypes empty on an
	// icmp rule means "any type".
	Lost    []Rule `json:"lost"`
	Message string `json:"message"`
}

// Counts sums a change over targets: a flow changing on two firewalls
// counts twice.
type Counts struct {
	TargetsAdded    int `json:"targets_added"`
	TargetsRemoved  int `json:"targets_removed"`
	TargetsChanged  int `json:"targets_changed"`
	FlowsAdded      int `json:"flows_added"`
	FlowsRemoved    int `json:"flows_removed"`
	FlowsChanged    int `json:"flows_changed"`
	RulesAdded      int `json:"rules_added"`
	RulesRemoved    int `json:"rules_removed"`
	SetsAdded       int `json:"sets_added"`
	SetsRemoved     int `json:"sets_removed"`
	SetsChanged     int `json:"sets_changed"`
	PrefixesAdded   int `json:"prefixes_added"`
	PrefixesRemoved int `json:"prefixes_removed"`
	PortsAdded      int `json:"ports_added"`
	PortsRemoved    int `json:"ports_removed"`
	PortsChanged    int `json:"ports_changed"`
	Essential       int `json:"essential"` // essential changes
}

// Empty reports whether nothing changes.
func (c *Change) Empty() bool { return c == nil || len(c.Targets) == 0 }

// Diff returns what changes from old to new. A nil old is an empty
// intent, as before the first apply: everything is added.
func Diff(old, new *Intent) *Change {
	ch := &Change{Targets: []TargetChange{}, Essential: []EssentialChange{}}
	var oldT, newT map[string]*Target
	if old != nil {
		oldT = old.Targets
	}
	if new != nil {
		newT = new.Targets
	}
	names := map[string]bool{}
	for n := range oldT {
		names[n] = true
	}
	for n := range newT {
		names[n] = true
	}
	for _, name := range sortedKeys(names) {
		o, n := oldT[name], newT[name]
		if o == nil && n == nil {
			continue
		}
		tc := TargetChange{Name: name}
		var ofw, nfw *Firewall
		var osw, nsw *Switch
		switch {
		case o == nil:
			tc.Action, tc.Role, tc.Driver = ActionAdd, n.RoleText(), n.Driver
			nfw, nsw = n.Firewall, n.Switch
			ch.Counts.TargetsAdded++
		case n == nil:
			tc.Action, tc.Role, tc.Driver = ActionRemove, o.RoleText(), o.Driver
			ofw, osw = o.Firewall, o.Switch
			ch.Counts.TargetsRemoved++
		default:
			tc.Action, tc.Role, tc.Driver = ActionChange, n.RoleText(), n.Driver
			ofw, osw, nfw, nsw = o.Firewall, o.Switch, n.Firewall, n.Switch
			if o.RoleText() != n.RoleText() {
				tc.RoleChange = &Transition[string]{o.RoleText(), n.RoleText()}
			}
			if o.Driver != n.Driver {
				tc.DriverChange = &Transition[string]{o.Driver, n.Driver}
			}
		}
		if ofw != nil || nfw != nil {
			tc.Firewall = diffFirewall(ofw, nfw, &ch.Counts)
			ch.Essential = append(ch.Essential, essentialLost(name, ofw, nfw)...)
		}
		if osw != nil || nsw != nil {
			tc.Switch = diffSwitch(osw, nsw, &ch.Counts)
		}
		if tc.Action == ActionChange {
			if tc.RoleChange == nil && tc.DriverChange == nil && tc.Firewall == nil && tc.Switch == nil {
				continue
			}
			ch.Counts.TargetsChanged++
		}
		ch.Targets = append(ch.Targets, tc)
	}
	ch.Counts.Essential = len(ch.Essential)
	return ch
}

// diffFirewall returns nil when nothing changes.
func diffFirewall(o, n *Firewall, counts *Counts) *FirewallChange {
	var empty Firewall
	if o == nil {
		o = &empty
	}
	if n == nil {
		n = &empty
	}
	fc := &FirewallChange{Flows: []FlowChange{}, Sets: []SetChange{}, MonitorAdded: []string{}, MonitorRemoved: []string{}}
	changed := false

	oldRules, newRules := rulesByFlow(o.Rules), rulesByFlow(n.Rules)
	flows := map[string]bool{}
	for f := range oldRules {
		flows[f] = true
	}
	for f := range newRules {
		flows[f] = true
	}
	for _, f := range sortedKeys(flows) {
		added, removed := ruleDiff(oldRules[f], newRules[f])
		if len(added)+len(removed) == 0 {
			continue
		}
		c := FlowChange{Flow: f, Action: ActionChange, RulesAdded: added, RulesRemoved: removed}
		switch {
		case len(oldRules[f]) == 0:
			c.Action = ActionAdd
			counts.FlowsAdded++
		case len(newRules[f]) == 0:
			c.Action = ActionRemove
			counts.FlowsRemoved++
		default:
			counts.FlowsChanged++
		}
		c.Essential = slices.ContainsFunc(newRules[f], func(r Rule) bool { return r.Essential })
		if c.Action == ActionRemove {
			c.Essential = slices.ContainsFunc(oldRules[f], func(r Rule) bool { return r.Essential })
		}
		counts.RulesAdded += len(added)
		counts.RulesRemoved += len(removed)
		fc.Flows = append(fc.Flows, c)
		changed = true
	}

	oldSets, newSets := map[string]AddressSet{}, map[string]AddressSet{}
	names := map[string]bool{}
	for _, s := range o.Sets {
		oldSets[s.Name], names[s.Name] = s, true
	}
	for _, s := range n.Sets {
		newSets[s.Name], names[s.Name] = s, true
	}
	for _, name := range sortedKeys(names) {
		os, inOld := oldSets[name]
		ns, inNew := newSets[name]
		before, after := setOf(os.V4, os.V6), setOf(ns.V4, ns.V6)
		sc := SetChange{Name: name, Action: ActionChange, Kind: ns.Kind, Of: ns.Of}
		plus, minus := after.minus(before), before.minus(after)
		sc.Added = append(plus.v4.prefixes(true), plus.v6.prefixes(false)...)
		sc.Removed = append(minus.v4.prefixes(true), minus.v6.prefixes(false)...)
		switch {
		case !inOld:
			sc.Action = ActionAdd
			counts.SetsAdded++
		case !inNew:
			sc.Action, sc.Kind, sc.Of = ActionRemove, os.Kind, os.Of
			counts.SetsRemoved++
		case len(sc.Added)+len(sc.Removed) == 0 && os.Kind == ns.Kind && os.Of == ns.Of:
			continue
		default:
			counts.SetsChanged++
		}
		counts.PrefixesAdded += len(sc.Added)
		counts.PrefixesRemoved += len(sc.Removed)
		fc.Sets = append(fc.Sets, sc)
		changed = true
	}

	fc.MonitorAdded, fc.MonitorRemoved = stringsDiff(o.Monitor, n.Monitor)
	changed = changed || len(fc.MonitorAdded)+len(fc.MonitorRemoved) > 0
	if o.DefaultAction != n.DefaultAction {
		fc.DefaultAction = &Transition[string]{o.DefaultAction, n.DefaultAction}
		changed = true
	}
	if o.Quarantine.IsolateSet != n.Quarantine.IsolateSet || o.Quarantine.RestrictSet != n.Quarantine.RestrictSet ||
		!slices.Equal(o.Quarantine.Remediation, n.Quarantine.Remediation) {
		fc.Quarantine = &Transition[Quarantine]{o.Quarantine, n.Quarantine}
		changed = true
	}
	if !changed {
		return nil
	}
	return fc
}

func rulesByFlow(rules []Rule) map[string][]Rule {
	out := map[string][]Rule{}
	for _, r := range rules {
		out[r.Flow] = append(out[r.Flow], r)
	}
	return out
}

// ruleDiff compares two lists of rules as multisets: added in new's order,
// removed in old's.
func ruleDiff(old, new []Rule) (added, removed []Rule) {
	count := map[string]int{}
	for _, r := range old {
		count[ruleKey(r)]++
	}
	added, removed = []Rule{}, []Rule{}
	for _, r := range new {
		k := ruleKey(r)
		if count[k] > 0 {
			count[k]--
			continue
		}
		added = append(added, r)
	}
	for _, r := range old {
		k := ruleKey(r)
		if count[k] > 0 {
			count[k]--
			removed = append(removed, r)
		}
	}
	return added, removed
}

func ruleKey(r Rule) string {
	var b strings.Builder
	for _, s := range []string{r.Flow, r.Service, r.From, r.To, r.Proto, strconv.FormatBool(r.Essential)} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, p := range r.Ports {
		fmt.Fprintf(&b, "%d-%d,", p.From, p.To)
	}
	b.WriteByte(0)
	b.WriteString(strings.Join(r.ICMPTypes, ","))
	return b.String()
}

// stringsDiff returns what is in b and not a, and in a and not b, sorted.
func stringsDiff(a, b []string) (added, removed []string) {
	added, removed = []string{}, []string{}
	for _, s := range b {
		if !slices.Contains(a, s) {
			added = append(added, s)
		}
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			removed = append(removed, s)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return slices.Compact(added), slices.Compact(removed)
}

// diffSwitch returns nil when nothing changes.
func diffSwitch(o, n *Switch, counts *Counts) *SwitchChange {
	var empty Switch
	if o == nil {
		o = &empty
	}
	if n == nil {
		n = &empty
	}
	sc := &SwitchChange{Ports: []PortChange{}}
	// Ports match by name, ignoring case as switches do; the exact name
	// almost always matches, so the folded index is built only on a miss.
	exact := make(map[string]int, len(o.Ports))
	for i, p := range o.Ports {
		exact[p.Port] = i
	}
	var folded map[string]int
	find := func(port string) (int, bool) {
		if i, ok := exact[port]; ok {
			return i, true
		}
		if folded == nil {
			folded = make(map[string]int, len(o.Ports))
			for i, p := range o.Ports {
				folded[strings.ToLower(p.Port)] = i
			}
		}
		i, ok := folded[strings.ToLower(port)]
		return i, ok
	}
	matched := make([]bool, len(o.Ports))
	for _, p := range n.Ports {
		i, ok := find(p.Port)
		if !ok || matched[i] {
			sc.Ports = append(sc.Ports, PortChange{Port: p.Port, Action: ActionAdd, Device: p.Device, ToVLAN: p.VLAN, ToZone: p.Zone})
			counts.PortsAdded++
			continue
		}
		matched[i] = true
		if q := o.Ports[i]; q != p {
			pc := PortChange{Port: p.Port, Action: ActionChange, Device: p.Device, FromVLAN: q.VLAN, ToVLAN: p.VLAN, FromZone: q.Zone, ToZone: p.Zone}
			if q.Device != p.Device {
				pc.FromDevice = q.Device
			}
			sc.Ports = append(sc.Ports, pc)
			counts.PortsChanged++
		}
	}
	for i, p := range o.Ports {
		if !matched[i] {
			sc.Ports = append(sc.Ports, PortChange{Port: p.Port, Action: ActionRemove, Device: p.Device, FromVLAN: p.VLAN, FromZone: p.Zone})
			counts.PortsRemoved++
		}
	}
	slices.SortStableFunc(sc.Ports, func(a, b PortChange) int { return comparePorts(a.Port, b.Port) })
	if o.QuarantineVLAN != n.QuarantineVLAN {
		sc.QuarantineVLAN = &Transition[int]{o.QuarantineVLAN, n.QuarantineVLAN}
	}
	if len(sc.Ports) == 0 && sc.QuarantineVLAN == nil {
		return nil
	}
	return sc
}

// trafficKey is what an essential rule's traffic is matched by: the same
// flow between the same sets on the same protocol, whatever the service
// carrying it (renaming a service narrows nothing).
type trafficKey struct{ flow, from, to, proto string }

// coverage is what new rules of one trafficKey allow.
type coverage struct {
	ports    []Ports
	anyType  bool
	types    []string
	hasRules bool
}

func (c *coverage) add(r Rule) {
	c.hasRules = true
	c.ports = append(c.ports, r.Ports...)
	if (r.Proto == "icmp" || r.Proto == "icmpv6") && len(r.ICMPTypes) == 0 {
		c.anyType = true
	}
	c.types = append(c.types, r.ICMPTypes...)
}

// lost cuts r down to what c does not allow; ok is false when c allows
// all of it.
func (c *coverage) lost(r Rule) (Rule, bool) {
	switch r.Proto {
	case "icmp", "icmpv6":
		if c.anyType {
			return Rule{}, false
		}
		if len(r.ICMPTypes) == 0 {
			return r, true // any type, and c allows only some
		}
		var lost []string
		for _, t := range r.ICMPTypes {
			if !slices.Contains(c.types, t) {
				lost = append(lost, t)
			}
		}
		r.ICMPTypes = lost
		return r, len(lost) > 0
	}
	want := r.Ports
	if len(want) == 0 {
		want = []Ports{{From: 1, To: 65535}}
	}
	r.Ports = portsMinus(want, c.ports)
	return r, len(r.Ports) > 0
}

// portsMinus returns the ports of want that no range of have holds.
func portsMinus(want, have []Ports) []Ports {
	h := slices.Clone(have)
	slices.SortFunc(h, func(a, b Ports) int { return cmp.Compare(a.From, b.From) })
	var out []Ports
	for _, w := range want {
		next := w.From
		for _, r := range h {
			if next > w.To {
				break
			}
			if r.To < next {
				continue
			}
			if r.From > next {
				out = append(out, Ports{From: next, To: min(r.From-1, w.To)})
			}
			next = max(next, r.To+1)
		}
		if next <= w.To {
			out = append(out, Ports{From: next, To: w.To})
		}
	}
	return out
}

// essentialLost finds the essential traffic of o that n no longer allows
// as essential, by flow.
func essentialLost(target string, o, n *Firewall) []EssentialChange {
	if o == nil {
		return nil
	}
	all, ess := map[trafficKey]*coverage{}, map[trafficKey]*coverage{}
	present := map[string]bool{}
	if n != nil {
		for _, r := range n.Rules {
			k := trafficKey{r.Flow, r.From, r.To, r.Proto}
			present[r.Flow] = true
			if all[k] == nil {
				all[k] = &coverage{}
			}
			all[k].add(r)
			if r.Essential {
				if ess[k] == nil {
					ess[k] = &coverage{}
				}
				ess[k].add(r)
			}
		}
	}
	type lostFlow struct {
		lost     []Rule
		narrowed bool
	}
	byFlow := map[string]*lostFlow{}
	for _, r := range o.Rules {
		if !r.Essential {
			continue
		}
		k := trafficKey{r.Flow, r.From, r.To, r.Proto}
		e := ess[k]
		if e == nil {
			e = &coverage{}
		}
		l, ok := e.lost(r)
		if !ok {
			continue
		}
		lf := byFlow[r.Flow]
		if lf == nil {
			lf = &lostFlow{}
			byFlow[r.Flow] = lf
		}
		lf.lost = append(lf.lost, l)
		a := all[k]
		if a == nil {
			a = &coverage{}
		}
		if _, gone := a.lost(r); gone {
			lf.narrowed = true
		}
	}
	var out []EssentialChange
	for _, flow := range sortedKeys(byFlow) {
		lf := byFlow[flow]
		ec := EssentialChange{Target: target, Flow: flow, Lost: lf.lost}
		switch {
		case n == nil:
			ec.Kind = EssentialRemoved
			ec.Message = fmt.Sprintf("essential flow %q is removed from target %q, which is no longer a firewall of the policy", flow, target)
		case !present[flow]:
			ec.Kind = EssentialRemoved
			ec.Message = fmt.Sprintf("essential flow %q is removed from target %q", flow, target)
		case lf.narrowed:
			ec.Kind = EssentialNarrowed
			ec.Message = fmt.Sprintf("essential flow %q is narrowed on target %q: it no longer allows %s", flow, target, describeRules(lf.lost))
		default:
			ec.Kind = EssentialUnmarked
			ec.Message = fmt.Sprintf("flow %q is no longer essential on target %q: a restricted device would lose %s", flow, target, describeRules(lf.lost))
		}
		out = append(out, ec)
	}
	return out
}

// describeRules says what rules allow, briefly: "tcp 443,8000-8080 from
// zone_a to zone_b".
func describeRules(rules []Rule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		var what string
		switch {
		case len(r.Ports) > 0:
			ps := make([]string, len(r.Ports))
			for j, p := range r.Ports {
				ps[j] = strconv.Itoa(p.From)
				if p.To != p.From {
					ps[j] += "-" + strconv.Itoa(p.To)
				}
			}
			what = r.Proto + " " + strings.Join(ps, ",")
		case len(r.ICMPTypes) > 0:
			what = r.Proto + " " + strings.Join(r.ICMPTypes, ",")
		default:
			what = r.Proto
		}
		parts[i] = fmt.Sprintf("%s from %s to %s", what, r.From, r.To)
	}
	return strings.Join(parts, "; ")
}
