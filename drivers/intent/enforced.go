package intent

import (
	"cmp"
	"reflect"
	"slices"
)

// Enforced returns what a device running t enforces, as a value two models
// can be compared by: t without the labels only some syntaxes can carry
// (the target's name, driver, model and options; rule flow and service
// names; set kinds and owners; zone names; port devices and zones), with
// rules sorted and duplicates dropped (every rule accepts, so their order
// does not change what passes), and empty lists as nil. What can match no
// packet is left out too, since no syntax need write it: a rule, monitor
// set or remediation set naming a set with no address in the rule's
// family (a set of t that is empty; ICMP is IPv4, ICMPv6 IPv6 only). t is
// not changed.
func (t *Target) Enforced() *Target {
	if t == nil {
		return nil
	}
	out := &Target{}
	if f := t.Firewall; f != nil {
		e := &Firewall{DefaultAction: f.DefaultAction}
		for _, m := range f.Monitor {
			if v4, v6 := familiesEmpty(f.Sets, m); !v4 || !v6 {
				e.Monitor = append(e.Monitor, m)
			}
		}
		slices.Sort(e.Monitor)
		e.Monitor = slices.Compact(e.Monitor)
		for _, s := range f.Sets {
			e.Sets = append(e.Sets, AddressSet{Name: s.Name, V4: nilIfEmpty(slices.Clone(s.V4)), V6: nilIfEmpty(slices.Clone(s.V6))})
		}
		slices.SortFunc(e.Sets, func(a, b AddressSet) int { return cmp.Compare(a.Name, b.Name) })
		empty := emptyFamilies(f.Sets)
		for _, r := range f.Rules {
			if !canMatch(r, empty) {
				continue
			}
			r.Flow, r.Service = "", ""
			r.Ports, r.ICMPTypes = mergePorts(r.Ports), nilIfEmpty(slices.Clone(r.ICMPTypes))
			slices.Sort(r.ICMPTypes)
			e.Rules = append(e.Rules, r)
		}
		slices.SortFunc(e.Rules, compareRules)
		e.Rules = slices.CompactFunc(e.Rules, func(a, b Rule) bool { return compareRules(a, b) == 0 })
		e.Quarantine = Quarantine{IsolateSet: f.Quarantine.IsolateSet, RestrictSet: f.Quarantine.RestrictSet}
		for _, r := range f.Quarantine.Remediation {
			if v4, v6 := familiesEmpty(f.Sets, r); !v4 || !v6 {
				e.Quarantine.Remediation = append(e.Quarantine.Remediation, r)
			}
		}
		slices.Sort(e.Quarantine.Remediation)
		for _, z := range f.Zones {
			e.Zones = append(e.Zones, Zone{VLAN: z.VLAN, Set: z.Set, Monitor: z.Monitor})
		}
		slices.SortFunc(e.Zones, func(a, b Zone) int { return cmp.Compare(a.VLAN, b.VLAN) })
		out.Firewall = e
	}
	if s := t.Switch; s != nil {
		e := &Switch{QuarantineVLAN: s.QuarantineVLAN}
		for _, p := range s.Ports {
			e.Ports = append(e.Ports, PortVLAN{Port: p.Port, VLAN: p.VLAN})
		}
		slices.SortFunc(e.Ports, func(a, b PortVLAN) int { return cmp.Compare(a.Port, b.Port) })
		out.Switch = e
	}
	return out
}

// SameEnforcement reports whether a and b enforce the same thing: their
// Enforced projections are equal.
func SameEnforcement(a, b *Target) bool {
	return reflect.DeepEqual(a.Enforced(), b.Enforced())
}

// emptyFamilies maps each set of sets to whether it holds no IPv4 and no
// IPv6 addresses.
func emptyFamilies(sets []AddressSet) map[string][2]bool {
	out := make(map[string][2]bool, len(sets))
	for _, s := range sets {
		out[s.Name] = [2]bool{len(s.V4) == 0, len(s.V6) == 0}
	}
	return out
}

// familiesEmpty reports, for the set named name, whether it has no IPv4
// and no IPv6 addresses; a set not among sets counts as not empty (its
// members are not known here).
func familiesEmpty(sets []AddressSet, name string) (v4, v6 bool) {
	i := slices.IndexFunc(sets, func(s AddressSet) bool { return s.Name == name })
	if i < 0 {
		return false, false
	}
	return len(sets[i].V4) == 0, len(sets[i].V6) == 0
}

// canMatch reports whether some packet can match r: in a family the
// protocol exists in, both its sets have addresses (a set missing from
// empty is not known to be empty).
func canMatch(r Rule, empty map[string][2]bool) bool {
	from, to := empty[r.From], empty[r.To]
	v4 := !from[0] && !to[0] && r.Proto != "icmpv6"
	v6 := !from[1] && !to[1] && r.Proto != "icmp"
	return v4 || v6
}

func compareRules(a, b Rule) int {
	if c := cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Proto, b.Proto)); c != 0 {
		return c
	}
	if c := slices.CompareFunc(a.Ports, b.Ports, func(x, y Ports) int {
		return cmp.Or(cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To))
	}); c != 0 {
		return c
	}
	if c := slices.Compare(a.ICMPTypes, b.ICMPTypes); c != 0 {
		return c
	}
	switch {
	case a.Essential == b.Essential:
		return 0
	case a.Essential:
		return -1
	}
	return 1
}

// mergePorts sorts port ranges and merges those that overlap or touch.
func mergePorts(ports []Ports) []Ports {
	if len(ports) == 0 {
		return nil
	}
	ps := slices.Clone(ports)
	slices.SortFunc(ps, func(a, b Ports) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
	out := ps[:1]
	for _, p := range ps[1:] {
		if last := &out[len(out)-1]; p.From <= last.To+1 {
			last.To = max(last.To, p.To)
			continue
		}
		out = append(out, p)
	}
	return out
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}
