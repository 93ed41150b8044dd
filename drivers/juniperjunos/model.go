package juniperjunos

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// model reads a managed configuration back into the intent model. What
// the configuration cannot say is left out (see the package doc): the
// quarantine VLAN, rules no zone filter carries, zone and device names.
func (c *config) model() (*intent.Target, error) {
	t := &intent.Target{Driver: driverName}
	if len(c.filters) > 0 || len(c.irb) > 0 || len(c.lists) > 0 {
		f, err := c.firewall()
		if err != nil {
			return nil, err
		}
		t.Firewall = f
	}
	if len(c.ports) > 0 {
		sw, err := c.switchModel()
		if err != nil {
			return nil, err
		}
		t.Switch = sw
		t.Roles = append(t.Roles, intent.RoleAccessSwitch)
	}
	if t.Firewall != nil {
		t.Roles = append(t.Roles, intent.RoleFirewall)
	}
	return t, nil
}

var (
	ruleTerm  = regexp.MustCompile(`^(essential-)?rule-\d+$`)
	replyTerm = regexp.MustCompile(`^(essential-)?reply(-anyicmp)?-\d+$`)
	monTerm   = regexp.MustCompile(`^monitor-to-\d+$`)
)

func (c *config) firewall() (*intent.Firewall, error) {
	f := &intent.Firewall{Sets: []intent.AddressSet{}, Rules: []intent.Rule{}, Monitor: []string{}}
	bound := map[string]int{} // filter → VLAN
	for vlan, fn := range c.irb {
		if _, dup := bound[fn]; dup {
			return nil, fmt.Errorf("filter %s is bound to two irb units; Ward binds one filter per zone VLAN", fn)
		}
		bound[fn] = vlan
	}
	setOf := map[string]string{} // filter → its zone's set
	for fn := range c.filters {
		vlan, ok := bound[fn]
		if !ok {
			return nil, fmt.Errorf("filter %s is bound to no irb unit", fn)
		}
		set, found := strings.CutPrefix(fn, "ward_")
		if !found {
			return nil, fmt.Errorf("filter %s: Ward's filters are named ward_<set>", fn)
		}
		if set == "vlan"+strconv.Itoa(vlan) {
			set = ""
		}
		setOf[fn] = set
	}
	for vlan, fn := range c.irb {
		if c.filters[fn] == nil {
			return nil, fmt.Errorf("irb unit %d: filter %s is not in the configuration", vlan, fn)
		}
	}
	zoneFilter := map[string]string{} // set → filter
	for fn, set := range setOf {
		if set != "" {
			zoneFilter[set] = fn
		}
	}
	defaults := map[string]bool{}
	monitor := map[string]bool{}
	var rem []string
	for _, fn := range sortedKeys(c.filters) {
		set := setOf[fn]
		z := intent.Zone{Name: strings.TrimPrefix(set, "zone_"), VLAN: bound[fn], Set: set}
		seenDefault := false
		for _, t := range c.filters[fn] {
			if seenDefault {
				return nil, fmt.Errorf("filter %s: term %s comes after the final term default", fn, t.name)
			}
			if err := c.readTerm(f, fn, set, t, zoneFilter, monitor, &rem, &z, defaults); err != nil {
				return nil, fmt.Errorf("filter %s term %s: %w", fn, t.name, err)
			}
			seenDefault = t.name == "default"
		}
		if !seenDefault {
			return nil, fmt.Errorf("filter %s has no final term default", fn)
		}
		f.Zones = append(f.Zones, z)
	}
	slices.SortFunc(f.Zones, func(a, b intent.Zone) int { return a.VLAN - b.VLAN })
	switch len(defaults) {
	case 0:
		f.DefaultAction = "drop"
	case 1:
		for a := range defaults {
			f.DefaultAction = a
		}
	default:
		return nil, fmt.Errorf("the zone filters end with different final actions")
	}
	f.Quarantine.Remediation = rem
	for m := range monitor {
		f.Monitor = append(f.Monitor, m)
	}
	slices.Sort(f.Monitor)
	for _, n := range sortedKeys(c.lists) {
		if n == f.Quarantine.IsolateSet || n == f.Quarantine.RestrictSet {
			continue
		}
		kind, of := "network", strings.TrimPrefix(n, "net_")
		if _, ok := zoneFilter[n]; ok || strings.HasPrefix(n, "zone_") {
			kind, of = "zone", strings.TrimPrefix(n, "zone_")
		}
		f.Sets = append(f.Sets, intent.AddressSet{Name: n, Kind: kind, Of: of, V4: slices.Clone(c.lists[n])})
	}
	for _, r := range f.Rules {
		for _, s := range []string{r.From, r.To} {
			if _, ok := c.lists[s]; !ok {
				return nil, fmt.Errorf("a term names prefix-list %s, which the configuration does not define", s)
			}
		}
	}
	return f, nil
}

// readTerm reads one term of zone filter fn (of zone set set) into f.
func (c *config) readTerm(f *intent.Firewall, fn, set string, t *term, zoneFilter map[string]string, monitor map[string]bool, rem *[]string, z *intent.Zone, defaults map[string]bool) error {
	only := func(srcN, dstN int, action string, counted bool) error {
		if len(t.srcLists) != srcN && srcN >= 0 || len(t.dstLists) != dstN && dstN >= 0 ||
			len(t.protocols)+len(t.srcPorts)+len(t.dstPorts)+len(t.icmpTypes) > 0 || t.tcpEstablished {
			return fmt.Errorf("its match conditions are not the ones Ward writes for it")
		}
		if t.action != action || (t.count != "") != counted || t.log != counted || (counted && t.count != t.name) {
			return fmt.Errorf("its actions are not the ones Ward writes for it (then count %s, log, %s)", t.name, action)
		}
		return nil
	}
	quarantine := func(q *string, list string) error {
		if *q != "" && *q != list {
			return fmt.Errorf("quarantine set %s here, %s elsewhere", list, *q)
		}
		*q = list
		return nil
	}
	switch {
	case t.name == "isolate-remediation":
		if err := only(1, -1, "accept", false); err != nil {
			return err
		}
		if err := quarantine(&f.Quarantine.IsolateSet, t.srcLists[0]); err != nil {
			return err
		}
		if *rem != nil && !slices.Equal(*rem, t.dstLists) {
			return fmt.Errorf("remediation sets differ between filters")
		}
		*rem = slices.Clone(t.dstLists)
	case t.name == "isolate-remediation-in":
		return only(-1, 1, "accept", false)
	case t.name == "isolate":
		if err := only(1, 0, "discard", true); err != nil {
			return err
		}
		return quarantine(&f.Quarantine.IsolateSet, t.srcLists[0])
	case t.name == "isolate-in":
		if err := only(0, 1, "discard", true); err != nil {
			return err
		}
		return quarantine(&f.Quarantine.IsolateSet, t.dstLists[0])
	case t.name == "restrict":
		if err := only(1, 0, "discard", true); err != nil {
			return err
		}
		return quarantine(&f.Quarantine.RestrictSet, t.srcLists[0])
	case t.name == "restrict-in":
		if err := only(0, 1, "discard", true); err != nil {
			return err
		}
		return quarantine(&f.Quarantine.RestrictSet, t.dstLists[0])
	case t.name == "monitor":
		if err := only(1, 0, "accept", true); err != nil {
			return err
		}
		if t.srcLists[0] != set || set == "" {
			return fmt.Errorf("a monitor term matches the zone's own set")
		}
		z.Monitor, monitor[set] = true, true
	case monTerm.MatchString(t.name):
		if err := only(1, 1, "accept", true); err != nil {
			return err
		}
		if t.srcLists[0] != set {
			return fmt.Errorf("a monitor-to term matches the zone's own set as source")
		}
		monitor[t.dstLists[0]] = true
	case t.name == "default":
		switch {
		case only(0, 0, "discard", true) == nil:
			defaults["drop"] = true
		case only(0, 0, "accept", true) == nil:
			defaults["accept"] = true
		default:
			return fmt.Errorf("the final term is then count default, log, and discard or accept, with no match condition")
		}
	case ruleTerm.MatchString(t.name):
		r, err := ruleFrom(t, false)
		if err != nil {
			return err
		}
		if r.From != set {
			return fmt.Errorf("a rule term in the filter of %s matches source %s", set, r.From)
		}
		f.Rules = append(f.Rules, r)
	case replyTerm.MatchString(t.name):
		r, err := ruleFrom(t, true)
		if err != nil {
			return err
		}
		if r.To != set {
			return fmt.Errorf("a reply term in the filter of %s matches source %s", set, r.To)
		}
		// A rule from a zone with a filter here is read from its own term
		// there; its reply adds nothing.
		if _, ok := zoneFilter[r.From]; !ok {
			f.Rules = append(f.Rules, r)
		}
	default:
		return fmt.Errorf("not a term name Ward writes")
	}
	return nil
}

// ruleFrom reads a rule term, or a reply term, back into its rule.
func ruleFrom(t *term, reply bool) (intent.Rule, error) {
	var r intent.Rule
	if len(t.srcLists) != 1 || len(t.dstLists) != 1 || len(t.protocols) != 1 || t.action != "accept" || t.count != "" || t.log {
		return r, fmt.Errorf("a rule term matches one source and one destination prefix-list and one protocol, then accept")
	}
	r.From, r.To, r.Proto = t.srcLists[0], t.dstLists[0], t.protocols[0]
	r.Essential = strings.HasPrefix(t.name, "essential-")
	if reply {
		r.From, r.To = r.To, r.From
	}
	ports, other := t.dstPorts, t.srcPorts
	if reply {
		ports, other = t.srcPorts, t.dstPorts
	}
	switch r.Proto {
	case "tcp", "udp":
		if len(other) > 0 || len(t.icmpTypes) > 0 || t.tcpEstablished != (reply && r.Proto == "tcp") {
			return r, fmt.Errorf("not a %s term Ward writes", r.Proto)
		}
		for _, p := range ports {
			pr, err := parsePort(p)
			if err != nil {
				return r, err
			}
			r.Ports = append(r.Ports, pr)
		}
		merged, err := drivers.MergePorts(r.Ports)
		if err != nil {
			return r, err
		}
		r.Ports = merged
	case "icmp":
		if len(ports)+len(other) > 0 || t.tcpEstablished {
			return r, fmt.Errorf("not an icmp term Ward writes")
		}
		if reply {
			if !slices.Equal(t.icmpTypes, []string{"echo-reply"}) {
				return r, fmt.Errorf("an ICMP reply term matches icmp-type echo-reply")
			}
			if !strings.Contains(t.name, anyICMP) {
				r.ICMPTypes = []string{"echo-request"}
			}
			break
		}
		for _, v := range t.icmpTypes {
			n, ok := icmpFromJunos(v)
			if !ok {
				return r, fmt.Errorf("icmp-type %q is not one Ward writes", v)
			}
			r.ICMPTypes = append(r.ICMPTypes, n)
		}
		slices.Sort(r.ICMPTypes)
	default:
		return r, fmt.Errorf("protocol %q is not one Ward writes (tcp, udp, icmp)", r.Proto)
	}
	return r, nil
}

// portNames are the text synonyms of the port match conditions
// (docFilterMatch) a device may show for a number typed by hand.
var portNames = map[string]int{
	"bgp": 179, "bootpc": 68, "bootps": 67, "dhcp": 67, "domain": 53, "ftp": 21, "ftp-data": 20,
	"http": 80, "https": 443, "ldap": 389, "ntp": 123, "radius": 1812, "radacct": 1813, "smtp": 25,
	"snmp": 161, "snmptrap": 162, "ssh": 22, "syslog": 514, "tacacs": 49, "telnet": 23, "tftp": 69,
}

func parsePort(s string) (intent.Ports, error) {
	if n, ok := portNames[s]; ok {
		return intent.Ports{From: n, To: n}, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 0 || b > 65535 || a > b {
		return intent.Ports{}, fmt.Errorf("port %q: want a number 0-65535 or a range low-high", s)
	}
	return intent.Ports{From: a, To: b}, nil
}

func icmpFromJunos(v string) (string, bool) {
	for n, j := range icmpToJunos {
		if j == v {
			return n, true
		}
	}
	return "", false
}

func (c *config) switchModel() (*intent.Switch, error) {
	sw := &intent.Switch{}
	for _, n := range sortedPorts(c.ports) {
		p := c.ports[n]
		home, quarantined, ok := parseDescription(p.desc)
		if !ok || quarantined {
			return nil, fmt.Errorf("interface %s: description %q is not Ward's mark (ward-<vlan>)", n, p.desc)
		}
		if p.mode != "access" {
			return nil, fmt.Errorf("interface %s: interface-mode %q; Ward's ports are access ports", n, p.mode)
		}
		if len(p.vlans) != 1 {
			return nil, fmt.Errorf("interface %s: %d vlan members; an access port Ward manages has one", n, len(p.vlans))
		}
		v, err := strconv.Atoi(p.vlans[0])
		if err != nil || v < 1 || v > 4094 {
			return nil, fmt.Errorf("interface %s: vlan members %q; Ward writes VLAN ids 1-4094", n, p.vlans[0])
		}
		if v != home {
			return nil, fmt.Errorf("interface %s: in VLAN %d, but its description says it belongs in %d", n, v, home)
		}
		sw.Ports = append(sw.Ports, intent.PortVLAN{Port: n, VLAN: v})
	}
	return sw, nil
}
