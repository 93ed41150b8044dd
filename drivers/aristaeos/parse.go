package aristaeos

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers/intent"
)

// model reads the intent back from a state's record lists, bindings and
// ports, and the quarantine state it holds; then it checks that the
// state's enforcing ACLs are exactly those the intent and quarantine give
// (build), so an edited entry is an error naming it, never skipped.
func model(st *state) (*intent.Target, *quarantine, error) {
	t := &intent.Target{}
	q := &quarantine{ports: map[string]int{}}
	fw := &intent.Firewall{}
	hasFW := false
	type ruleBlock struct {
		name string
		base int
	}
	blocks := map[ruleBlock]*intent.Rule{}
	var order []ruleBlock
	names := make([]string, 0, len(st.acls))
	for n := range st.acls {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		es := st.acls[name]
		empty := func() error {
			if len(es) > 0 {
				return fmt.Errorf("ACL %s: a marker list Ward leaves empty has %d entries", name, len(es))
			}
			return nil
		}
		switch {
		case name == nameAccess:
			if err := empty(); err != nil {
				return nil, nil, err
			}
		case name == nameDefaultDrop || name == nameDefaultAccept:
			if fw.DefaultAction != "" {
				return nil, nil, fmt.Errorf("both %s and %s are present", nameDefaultDrop, nameDefaultAccept)
			}
			fw.DefaultAction = map[bool]string{true: "drop", false: "accept"}[name == nameDefaultDrop]
			hasFW = true
			if err := empty(); err != nil {
				return nil, nil, err
			}
		case strings.HasPrefix(name, prefixSet):
			s := intent.AddressSet{Name: strings.TrimPrefix(name, prefixSet)}
			ps, err := members(name, es)
			if err != nil {
				return nil, nil, err
			}
			s.V4 = ps
			s.Kind, s.Of = setKind(s.Name)
			fw.Sets = append(fw.Sets, s)
		case strings.HasPrefix(name, prefixMonitor):
			fw.Monitor = append(fw.Monitor, strings.TrimPrefix(name, prefixMonitor))
			if err := empty(); err != nil {
				return nil, nil, err
			}
		case strings.HasPrefix(name, prefixRemediation):
			fw.Quarantine.Remediation = append(fw.Quarantine.Remediation, strings.TrimPrefix(name, prefixRemediation))
			if err := empty(); err != nil {
				return nil, nil, err
			}
		case strings.HasPrefix(name, prefixIsolate), strings.HasPrefix(name, prefixRestrict):
			ps, err := members(name, es)
			if err != nil {
				return nil, nil, err
			}
			if n, ok := strings.CutPrefix(name, prefixIsolate); ok {
				if fw.Quarantine.IsolateSet != "" {
					return nil, nil, fmt.Errorf("two isolate sets: %s and %s", fw.Quarantine.IsolateSet, n)
				}
				fw.Quarantine.IsolateSet, q.isolate = n, ps
			} else {
				n = strings.TrimPrefix(name, prefixRestrict)
				if fw.Quarantine.RestrictSet != "" {
					return nil, nil, fmt.Errorf("two restrict sets: %s and %s", fw.Quarantine.RestrictSet, n)
				}
				fw.Quarantine.RestrictSet, q.restrict = n, ps
			}
		case strings.HasPrefix(name, prefixRule), strings.HasPrefix(name, prefixEssential),
			strings.HasPrefix(name, prefixRule6), strings.HasPrefix(name, prefixEssential6):
			kind, rest, _ := strings.Cut(strings.TrimPrefix(name, "ward-"), "-")
			from, to, ok := strings.Cut(rest, "-")
			if !ok || !setNameRe.MatchString(from) || !setNameRe.MatchString(to) {
				return nil, nil, fmt.Errorf("ACL %s: a rule list is named ward-%s-FROM-TO", name, kind)
			}
			for _, e := range es {
				rb := ruleBlock{name, e.seq / 1000}
				r := blocks[rb]
				if r == nil {
					r = &intent.Rule{From: from, To: to, Essential: kind == "essential" || kind == "essential6"}
					blocks[rb] = r
					order = append(order, rb)
				}
				if err := addSpec(r, e.text, strings.HasSuffix(kind, "6")); err != nil {
					return nil, nil, fmt.Errorf("ACL %s entry %d: %w", name, e.seq, err)
				}
			}
		case strings.HasPrefix(name, prefixZone), strings.HasPrefix(name, prefixVLAN):
			// Checked against build below.
		default:
			return nil, nil, fmt.Errorf("ACL %s: not a list Ward writes", name)
		}
	}
	for _, rb := range order {
		fw.Rules = append(fw.Rules, *blocks[rb])
	}
	for vlan, acl := range st.bindings {
		z := intent.Zone{VLAN: vlan}
		switch {
		case strings.HasPrefix(acl, prefixZone):
			z.Set = strings.TrimPrefix(acl, prefixZone)
			z.Monitor = slices.Contains(fw.Monitor, z.Set)
			_, z.Name = setKind(z.Set)
		case acl == prefixVLAN+strconv.Itoa(vlan):
		case acl == prefixVLAN+strconv.Itoa(vlan)+"-monitor":
			z.Monitor = true
		default:
			return nil, nil, fmt.Errorf("interface Vlan%d: ACL %s is not the one Ward binds there", vlan, acl)
		}
		fw.Zones = append(fw.Zones, z)
	}
	slices.SortFunc(fw.Zones, func(a, b intent.Zone) int { return a.VLAN - b.VLAN })
	if hasFW {
		t.Firewall = fw
		t.Roles = append(t.Roles, intent.RoleFirewall)
	} else if len(st.bindings) > 0 || len(st.acls) > 0 && !(len(st.acls) == 1 && st.hasAccess()) {
		return nil, nil, fmt.Errorf("Ward's ACLs are present without %s or %s, the list that says the firewall role is configured", nameDefaultDrop, nameDefaultAccept)
	}
	if !st.hasAccess() && (st.qvlan != 0 || len(st.ports) > 0) {
		return nil, nil, fmt.Errorf("access ports or a quarantine VLAN without %s, the list that says the access role is configured", nameAccess)
	}
	if st.hasAccess() {
		sw := &intent.Switch{QuarantineVLAN: st.qvlan}
		for name, p := range st.ports {
			vlan := p.vlan
			if p.home != 0 {
				if p.vlan != st.qvlan {
					return nil, nil, fmt.Errorf("port %s: marked as quarantined (home VLAN %d) but in VLAN %d, not the quarantine VLAN %d", name, p.home, p.vlan, st.qvlan)
				}
				vlan, q.ports[name] = p.home, p.home
			}
			sw.Ports = append(sw.Ports, intent.PortVLAN{Port: name, VLAN: vlan})
		}
		slices.SortFunc(sw.Ports, func(a, b intent.PortVLAN) int { return comparePorts(a.Port, b.Port) })
		t.Switch = sw
		t.Roles = append(t.Roles, intent.RoleAccessSwitch)
	}
	slices.Sort(t.Roles)
	want, err := build(t, q)
	if err != nil {
		return nil, nil, err
	}
	if err := sameState(want, st); err != nil {
		return nil, nil, err
	}
	return t, q, nil
}

// setKind guesses a set's kind and owner from the names the compiler
// gives (zone_X, net_X); both are labels Enforced leaves out.
func setKind(name string) (kind, of string) {
	if z, ok := strings.CutPrefix(name, "zone_"); ok {
		return "zone", z
	}
	if n, ok := strings.CutPrefix(name, "net_"); ok {
		return "network", n
	}
	return "", name
}

// members reads a record list of addresses: permit ip PREFIX any.
func members(name string, es []entry) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range es {
		w := strings.Fields(e.text)
		var p netip.Prefix
		var err error
		switch {
		case len(w) == 5 && w[0] == "permit" && w[1] == "ip" && w[2] == "host" && w[4] == "any":
			var a netip.Addr
			a, err = netip.ParseAddr(w[3])
			p = netip.PrefixFrom(a, 32)
		case len(w) == 4 && w[0] == "permit" && w[1] == "ip" && w[3] == "any":
			p, err = netip.ParsePrefix(w[2])
		default:
			err = fmt.Errorf("want permit ip ADDRESS any")
		}
		if err != nil {
			return nil, fmt.Errorf("ACL %s entry %d %q: %v", name, e.seq, e.text, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// addSpec reads one rule record entry into r.
func addSpec(r *intent.Rule, text string, v6 bool) error {
	w := strings.Fields(text)
	if len(w) < 4 || w[0] != "permit" || w[2] != "any" || w[3] != "any" {
		return fmt.Errorf("%q: want permit PROTOCOL any any [PORTS|TYPE]", text)
	}
	proto := w[1]
	if v6 {
		if proto != "icmp" {
			return fmt.Errorf("%q: an ICMPv6 rule list holds icmp entries", text)
		}
		proto = "icmpv6"
	}
	if r.Proto != "" && r.Proto != proto {
		return fmt.Errorf("%q: one rule, two protocols (%s, %s)", text, r.Proto, proto)
	}
	r.Proto = proto
	rest := w[4:]
	switch proto {
	case "tcp", "udp":
		switch {
		case len(rest) == 0:
			r.Ports = append(r.Ports, intent.Ports{From: 0, To: 65535})
		case len(rest) == 2 && rest[0] == "eq":
			n, _ := strconv.Atoi(rest[1])
			r.Ports = append(r.Ports, intent.Ports{From: n, To: n})
		case len(rest) == 3 && rest[0] == "range":
			lo, _ := strconv.Atoi(rest[1])
			hi, _ := strconv.Atoi(rest[2])
			r.Ports = append(r.Ports, intent.Ports{From: lo, To: hi})
		default:
			return fmt.Errorf("%q: not a port operator Ward writes", text)
		}
		if len(r.Ports) == 1 && r.Ports[0] == (intent.Ports{From: 0, To: 65535}) {
			r.Ports = nil
		}
	case "icmp", "icmpv6":
		switch len(rest) {
		case 0:
		case 1:
			name := ""
			for k, v := range icmpPolicyToEOS {
				if v == rest[0] {
					name = k
				}
			}
			if name == "" {
				return fmt.Errorf("%q: ICMP type %q", text, rest[0])
			}
			r.ICMPTypes = append(r.ICMPTypes, name)
			slices.Sort(r.ICMPTypes)
		default:
			return fmt.Errorf("%q: not an ICMP entry Ward writes", text)
		}
	default:
		return fmt.Errorf("%q: protocol %s", text, proto)
	}
	return nil
}

// sameState reports how got differs from want, the state the records
// describe, as an error naming the first difference.
func sameState(want, got *state) error {
	w, g := want.format(), got.format()
	if w == g {
		return nil
	}
	wl, gl := strings.Split(w, "\n"), strings.Split(g, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var a, b string
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if a != b {
			ctx := ""
			for j := i; j >= 0 && j < len(gl); j-- {
				if !strings.HasPrefix(gl[j], " ") {
					ctx = gl[j]
					break
				}
			}
			return fmt.Errorf("the configuration Ward manages is not what its own record lists give: under %q the line %q, where they give %q (an entry edited or removed by hand? apply again to restore it)", ctx, strings.TrimSpace(b), strings.TrimSpace(a))
		}
	}
	return nil
}
