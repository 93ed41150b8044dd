package nftables

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// Parse reads an inet ward table (a rendered configuration, or one
// Running read back) into the model: sets by name without their family
// suffix, a rule per accepted flow line, essential where the restricted
// chain holds its copy, monitor sets, the quarantine sets and remediation.
// A line of the forward or restricted chain that Render never writes is an
// error: a table changed by hand does not quietly parse as Ward's.
func (d *driver) Parse(cfg drivers.Config) (*intent.Target, error) {
	tb, err := parseTable(cfg.Text)
	if err != nil {
		return nil, fmt.Errorf("linux_nftables: %w", err)
	}
	t := &intent.Target{Driver: Name, Roles: []string{intent.RoleFirewall}}
	if tb == nil {
		return t, nil
	}
	fw := &intent.Firewall{}
	t.Firewall = fw
	sets := map[string]*intent.AddressSet{}
	for _, s := range tb.sets {
		if s.dynamic() {
			continue // a quarantine set: named by the quarantine rules, its members are state
		}
		name, f, ok := splitFamily(s.name)
		if !ok {
			return nil, fmt.Errorf("linux_nftables: set %q: not a set Ward writes (no _v4 or _v6 suffix)", s.name)
		}
		as := sets[name]
		if as == nil {
			as = &intent.AddressSet{Name: name}
			sets[name] = as
		}
		for _, e := range s.elems {
			if !e.prefix.IsValid() {
				return nil, fmt.Errorf("linux_nftables: set %q: element %q is not an address or prefix", s.name, e.raw)
			}
			if f.v6 {
				as.V6 = append(as.V6, e.prefix)
			} else {
				as.V4 = append(as.V4, e.prefix)
			}
		}
	}
	for _, name := range sortedNames(sets) {
		fw.Sets = append(fw.Sets, *sets[name])
	}
	var essential []string
	for _, b := range tb.blocks {
		switch {
		case b.kind == "chain" && b.name == forwardChain:
			if err := parseForward(fw, b.lines); err != nil {
				return nil, fmt.Errorf("linux_nftables: chain %s: %w", forwardChain, err)
			}
		case b.kind == "chain" && b.name == restrictedChain:
			essential = b.lines
		default:
			return nil, fmt.Errorf("linux_nftables: %s %s: not a block Ward writes", b.kind, b.name)
		}
	}
	for i, r := range fw.Rules {
		for _, line := range essential {
			if rr, ok := parseAccept(line, true); ok && sameMatch(r, rr) {
				fw.Rules[i].Essential = true
			}
		}
	}
	return t, nil
}

var (
	acceptLine  = regexp.MustCompile(`^(ip6?) saddr @(\w+)_v[46] (ip6?) daddr @(\w+)_v[46] (.+?) (ct state established )?accept( comment "[^"]*")?$`)
	isolateRem  = regexp.MustCompile(`^(ip6?) saddr @(\w+)_v[46] (ip6?) daddr @(\w+)_v[46] accept comment "quarantine isolate: remediation (\w+)"$`)
	isolateDrop = regexp.MustCompile(`^(ip6?) [sd]addr @(\w+)_v[46] drop comment "quarantine isolate"$`)
	restrictJmp = regexp.MustCompile(`^(ip6?) [sd]addr @(\w+)_v[46] jump ` + restrictedChain + ` comment "quarantine restrict"$`)
	monitorLine = regexp.MustCompile(`^(ip6?) [sd]addr @(\w+)_v[46] ` + regexp.QuoteMeta(monitorLog) + ` accept comment "monitor [^"]*"$`)
	fixedLines  = []string{"ct state established,related accept", "ct state invalid drop"}
)

func parseForward(fw *intent.Firewall, lines []string) error {
	for i, line := range lines {
		if m := hookLine.FindStringSubmatch(line); m != nil && i == 0 {
			fw.DefaultAction = m[1]
			continue
		}
		switch {
		case slices.Contains(fixedLines, line):
		case isolateRem.MatchString(line):
			m := isolateRem.FindStringSubmatch(line)
			if fw.Quarantine.IsolateSet == "" || fw.Quarantine.IsolateSet == m[2] {
				fw.Quarantine.IsolateSet = m[2]
				addOnce(&fw.Quarantine.Remediation, m[4])
			} else {
				addOnce(&fw.Quarantine.Remediation, m[2])
			}
		case isolateDrop.MatchString(line):
			fw.Quarantine.IsolateSet = isolateDrop.FindStringSubmatch(line)[2]
		case restrictJmp.MatchString(line):
			fw.Quarantine.RestrictSet = restrictJmp.FindStringSubmatch(line)[2]
		case monitorLine.MatchString(line):
			addOnce(&fw.Monitor, monitorLine.FindStringSubmatch(line)[2])
		default:
			r, ok := parseAccept(line, false)
			if !ok {
				return fmt.Errorf("line %q: not a rule Ward writes", line)
			}
			fw.Rules = append(fw.Rules, r)
		}
	}
	if fw.DefaultAction == "" {
		return fmt.Errorf("no hook line with the chain's policy")
	}
	return nil
}

// parseAccept reads a flow's accept line (reply: its copy in the
// restricted chain's reply form).
func parseAccept(line string, restricted bool) (intent.Rule, bool) {
	m := acceptLine.FindStringSubmatch(line)
	if m == nil || m[1] != m[3] || (m[6] != "" && !restricted) {
		return intent.Rule{}, false
	}
	r := intent.Rule{From: m[2], To: m[4]}
	if m[6] != "" { // a reply line: from and to swapped, source ports
		r.From, r.To = m[4], m[2]
	}
	if c := m[7]; c != "" {
		if f := strings.Fields(strings.Trim(strings.TrimPrefix(c, ` comment "`), `"`)); len(f) >= 4 && (f[0] == "flow" || f[0] == "reply:") {
			if f[0] == "reply:" {
				f = f[1:]
			}
			r.Flow, r.Service = f[1], f[3]
		}
	}
	ok := parseMatch(&r, m[5], m[6] != "")
	return r, ok
}

// parseMatch reads a rule's protocol match: meta l4proto P, P dport PORTS
// (sport in a reply), icmp type TYPES, icmpv6 type TYPES.
func parseMatch(r *intent.Rule, match string, reply bool) bool {
	dir := "dport"
	if reply {
		dir = "sport"
	}
	f := strings.SplitN(match, " ", 3)
	switch {
	case len(f) == 2 && f[0] == "meta" && f[1] == "l4proto":
		return false
	case len(f) == 3 && f[0] == "meta" && f[1] == "l4proto":
		switch f[2] {
		case "tcp", "udp", "icmp":
			r.Proto = f[2]
		case "ipv6-icmp":
			r.Proto = "icmpv6"
		default:
			return false
		}
		return true
	case len(f) == 3 && (f[0] == "tcp" || f[0] == "udp") && f[1] == dir:
		r.Proto = f[0]
		for _, item := range anonItems(f[2]) {
			lo, hi, _ := strings.Cut(item, "-")
			if hi == "" {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil {
				return false
			}
			r.Ports = append(r.Ports, intent.Ports{From: a, To: b})
		}
		return true
	case len(f) == 3 && (f[0] == "icmp" || f[0] == "icmpv6") && f[1] == "type" && !reply:
		r.Proto = f[0]
		r.ICMPTypes = anonItems(f[2])
		return true
	}
	return false
}

// sameMatch reports whether a restricted-chain line is a copy of rule r:
// the same sets and protocol, and for a reply the same ports.
func sameMatch(r, copy intent.Rule) bool {
	return r.From == copy.From && r.To == copy.To &&
		(r.Proto == copy.Proto || (copy.Proto == "icmpv6" || copy.Proto == "icmp") && (r.Proto == "icmp" || r.Proto == "icmpv6")) &&
		slices.Equal(r.Ports, copy.Ports) && (len(copy.ICMPTypes) == 0 || slices.Equal(r.ICMPTypes, copy.ICMPTypes))
}

func anonItems(s string) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "{ "), " }")
		return strings.Split(s, ", ")
	}
	return []string{s}
}

func splitFamily(name string) (string, family, bool) {
	for _, f := range families {
		if base, ok := strings.CutSuffix(name, f.suffix); ok {
			return base, f, true
		}
	}
	return "", family{}, false
}

func addOnce(list *[]string, s string) {
	if !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
