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
// does not change what passes), and empty lists as nil. t is not changed.
func (t *Target) Enforced() *Target {
	if t == nil {
		return nil
	}
	out := &Target{}
	if f := t.Firewall; f != nil {
		e := &Firewall{DefaultAction: f.DefaultAction, Monitor: nilIfEmpty(slices.Clone(f.Monitor))}
		slices.Sort(e.Monitor)
		e.Monitor = slices.Compact(e.Monitor)
		for _, s := range f.Sets {
			e.Sets = append(e.Sets, AddressSet{Name: s.Name, V4: nilIfEmpty(slices.Clone(s.V4)), V6: nilIfEmpty(slices.Clone(s.V6))})
		}
		slices.SortFunc(e.Sets, func(a, b AddressSet) int { return cmp.Compare(a.Name, b.Name) })
		for _, r := range f.Rules {
			r.Flow, r.Service = "", ""
			r.Ports, r.ICMPTypes = nilIfEmpty(slices.Clone(r.Ports)), nilIfEmpty(slices.Clone(r.ICMPTypes))
			slices.Sort(r.ICMPTypes)
			e.Rules = append(e.Rules, r)
		}
		slices.SortFunc(e.Rules, compareRules)
		e.Rules = slices.CompactFunc(e.Rules, func(a, b Rule) bool { return compareRules(a, b) == 0 })
		e.Quarantine = Quarantine{IsolateSet: f.Quarantine.IsolateSet, RestrictSet: f.Quarantine.RestrictSet,
			Remediation: nilIfEmpty(slices.Clone(f.Quarantine.Remediation))}
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

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}
