package ciscoiosxe

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// Parse reads IOS-XE configuration text (Render's output, or Running's,
// with the device's sequence numbers and port names) into the model. It
// refuses anything outside what Ward writes, and an ACL whose entries are
// not exactly what its rules, the quarantine sets and the monitor zones
// give (rebuilt and compared), so a hand edit on the device is an error
// naming the ACL, never a model that claims more than the device enforces.
func Parse(text string) (*intent.Target, error) {
	d, err := readDevice(text, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", driverName, err)
	}
	t, err := d.model()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", driverName, err)
	}
	return t, nil
}

// ace is one ACL entry, as Ward writes them.
type ace struct {
	action      string // permit or deny
	proto       string // ip, tcp, udp, icmp
	src, dst    string // an object-group name, or "any"
	srcPorts    []intent.Ports
	dstPorts    []intent.Ports
	established bool
	icmp        string // an ICMP message name
	log         bool
}

// parseACE reads an extended ACE in the forms of docACL: action, protocol,
// source, optional port operator, destination, optional port operator,
// then established, an ICMP message name, log. Ports may be IOS's names
// (docPorts). Host and wildcard addresses and the operators gt, lt, neq
// are valid IOS but never Ward's: they are errors here.
func parseACE(entry string) (ace, error) {
	w := strings.Fields(entry)
	var a ace
	bad := func(why string) (ace, error) { return ace{}, fmt.Errorf("entry %q: %s", entry, why) }
	if len(w) < 4 || (w[0] != "permit" && w[0] != "deny") {
		return bad("not a permit or deny entry Ward writes")
	}
	a.action, a.proto = w[0], w[1]
	switch a.proto {
	case "ip", "tcp", "udp", "icmp":
	default:
		return bad("protocol " + a.proto + " is not one Ward writes")
	}
	i := 2
	addr := func() (string, bool) {
		switch {
		case i < len(w) && w[i] == "any":
			i++
			return "any", true
		case i+1 < len(w) && w[i] == "object-group":
			i += 2
			return w[i-1], true
		}
		return "", false
	}
	ports := func() ([]intent.Ports, error) {
		if a.proto != "tcp" && a.proto != "udp" || i >= len(w) {
			return nil, nil
		}
		switch w[i] {
		case "eq":
			if i+1 >= len(w) {
				return nil, fmt.Errorf("eq without a port")
			}
			p, err := portNumber(a.proto, w[i+1])
			i += 2
			return []intent.Ports{{From: p, To: p}}, err
		case "range":
			if i+2 >= len(w) {
				return nil, fmt.Errorf("range without two ports")
			}
			p1, err1 := portNumber(a.proto, w[i+1])
			p2, err2 := portNumber(a.proto, w[i+2])
			i += 3
			if err1 != nil || err2 != nil || p1 > p2 {
				return nil, fmt.Errorf("range %s %s is not a port range", w[i-2], w[i-1])
			}
			return []intent.Ports{{From: p1, To: p2}}, nil
		case "gt", "lt", "neq":
			return nil, fmt.Errorf("port operator %s is not one Ward writes", w[i])
		}
		return nil, nil
	}
	var ok bool
	var err error
	if a.src, ok = addr(); !ok {
		return bad("the source is not any or an object-group")
	}
	if a.srcPorts, err = ports(); err != nil {
		return bad(err.Error())
	}
	if a.dst, ok = addr(); !ok {
		return bad("the destination is not any or an object-group")
	}
	if a.dstPorts, err = ports(); err != nil {
		return bad(err.Error())
	}
	if i < len(w) && w[i] == "established" && a.proto == "tcp" {
		a.established = true
		i++
	}
	if i < len(w) && a.proto == "icmp" && w[i] != "log" {
		if !slices.Contains(slices.Collect(mapValues(icmpNames)), w[i]) {
			return bad("ICMP message " + w[i] + " is not one Ward writes")
		}
		a.icmp = w[i]
		i++
	}
	if i < len(w) && w[i] == "log" {
		a.log = true
		i++
	}
	if i != len(w) {
		return bad(fmt.Sprintf("%q is not something Ward writes there", strings.Join(w[i:], " ")))
	}
	return a, nil
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// portNumber reads a port as IOS prints it: a number, or the name IOS
// shows for it (docPorts).
func portNumber(proto, tok string) (int, error) {
	if n, err := strconv.Atoi(tok); err == nil && n >= 0 && n <= 65535 && strconv.Itoa(n) == tok {
		return n, nil
	}
	for n, name := range portNames(proto) {
		if name == tok {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%q is not a %s port number or a port name IOS prints", tok, proto)
}

// model turns the managed configuration into the intent it enforces.
func (d *device) model() (*intent.Target, error) {
	t := &intent.Target{Driver: driverName}
	byName := map[string]*group{}
	bySet := map[string]*group{}
	var fw *intent.Firewall
	firewall := func() *intent.Firewall {
		if fw == nil {
			fw = &intent.Firewall{DefaultAction: "drop"}
		}
		return fw
	}
	for _, g := range d.groups {
		byName[g.name], bySet[g.set] = g, g
		f := firewall()
		switch g.kind {
		case "isolate":
			f.Quarantine.IsolateSet = g.set
			f.Quarantine.Remediation = slices.Clone(g.remed)
		case "restrict":
			f.Quarantine.RestrictSet = g.set
		default:
			f.Sets = append(f.Sets, intent.AddressSet{Name: g.set, Kind: g.kind, Of: g.of, V4: slices.Clone(g.members)})
			if g.monitor {
				f.Monitor = append(f.Monitor, g.set)
			}
		}
	}
	if fw != nil {
		for _, r := range fw.Quarantine.Remediation {
			if g := bySet[r]; g == nil || g.kind == "isolate" || g.kind == "restrict" {
				return nil, fmt.Errorf("the isolate object-group names remediation set %s, which has no object-group", r)
			}
		}
	}
	acls := map[string]*acl{}
	for _, a := range d.acls {
		acls[a.name] = a
	}
	finals := map[string]bool{}
	rd := &ruleReader{groups: byName, zones: map[string]bool{}, rules: map[ruleKey]*ruleAcc{}}
	if fw != nil && fw.Quarantine.RestrictSet != "" {
		rd.restrict = bySet[fw.Quarantine.RestrictSet].name
	}
	var bound []*acl
	var boundSets []string
	for _, bd := range d.binds {
		a := acls[bd.acl]
		if a == nil {
			return nil, fmt.Errorf("interface Vlan%d: ACL %s is bound but not configured (IOS then filters nothing)", bd.vlan, bd.acl)
		}
		f := firewall()
		base := aclName.FindStringSubmatch(a.name)[1]
		z := intent.Zone{VLAN: bd.vlan}
		if !strings.HasPrefix(base, "vlan") || bySet[base] != nil {
			g := bySet[base]
			if g == nil || g.kind != "zone" {
				return nil, fmt.Errorf("ACL %s: %s is not a zone's object-group", a.name, base)
			}
			z.Name, z.Set, z.Monitor = g.of, g.set, g.monitor
		}
		f.Zones = append(f.Zones, z)
		if len(a.entries) == 0 {
			return nil, fmt.Errorf("ACL %s is empty", a.name)
		}
		finals[a.entries[len(a.entries)-1]] = true
		if z.Set != "" {
			rd.zones[z.Set] = true
		}
		bound, boundSets = append(bound, a), append(boundSets, z.Set)
	}
	for i, a := range bound {
		if err := rd.readACL(a, boundSets[i]); err != nil {
			return nil, err
		}
	}
	if fw != nil {
		fw.Rules = rd.result()
	}
	if len(finals) > 1 {
		return nil, fmt.Errorf("the zone ACLs end differently (%s): Ward writes one default action", strings.Join(slices.Sorted(mapKeysBool(finals)), ", "))
	}
	for f := range finals {
		switch f {
		case "deny ip any any log":
			fw.DefaultAction = "drop"
		case "permit ip any any log":
			fw.DefaultAction = "accept"
		default:
			return nil, fmt.Errorf("the zone ACLs end with %q, not deny ip any any log or permit ip any any log", f)
		}
	}
	if fw != nil {
		t.Roles = append(t.Roles, intent.RoleFirewall)
		t.Firewall = fw
		if err := d.verifyACLs(t); err != nil {
			return nil, err
		}
	}
	if d.qvlan != 0 || len(d.ports) > 0 {
		t.Roles = append(t.Roles, intent.RoleAccessSwitch)
		slices.Sort(t.Roles)
		sw := &intent.Switch{QuarantineVLAN: d.qvlan}
		for _, p := range d.ports {
			sw.Ports = append(sw.Ports, intent.PortVLAN{Port: p.name, VLAN: p.vlan, Device: p.device, Zone: p.zone})
		}
		t.Switch = sw
	}
	return t, nil
}

func mapKeysBool(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ruleReader reads the rules back from the zone ACLs' entries (Render
// writes no remark). Every rule entry in the ACL of zone Z comes from Z's
// object-group, and its form says which way it goes (rule):
//
//   - tcp with established: the reply of a rule from the destination to
//     Z, its ports those of the source operator; tcp without: Z's own;
//   - udp with a source port operator: a reply; with a destination
//     operator or none: Z's own (a reply of a rule for all UDP ports
//     reads the same as Z's own rule for all ports back, and enforces the
//     same);
//   - icmp echo-reply: the reply of a rule for echo requests from the
//     destination to Z, unless the destination's ACL holds no such rule
//     (then Z's own rule for echo-replies); any other icmp entry: Z's own,
//     its type through the IOS keyword ⇄ policy name table (icmpNames);
//   - before the restrict denies: essential; after: not.
//
// Entries of one rule key (ruleKey) are one rule: its ports merged, its
// ICMP types joined. verifyACLs then renders the model again and compares
// it entry by entry, which catches whatever this reading lets through.
type ruleReader struct {
	groups   map[string]*group // by device name
	zones    map[string]bool   // zone sets with a bound ACL
	restrict string            // the restrict object-group's device name
	rules    map[ruleKey]*ruleAcc
	keys     []ruleKey
	echo     []ruleKey // echo-reply entries, as replies: from the destination to the zone
}

type ruleAcc struct {
	ports              []intent.Ports
	allPorts, allTypes bool
	types              []string
	own                bool // read from an entry of the rule itself, not a reply
}

func (r *ruleReader) acc(k ruleKey) *ruleAcc {
	a := r.rules[k]
	if a == nil {
		a = &ruleAcc{}
		r.rules[k] = a
		r.keys = append(r.keys, k)
	}
	return a
}

func (a *ruleAcc) addPorts(ps []intent.Ports) {
	if ps == nil {
		a.allPorts = true
	}
	a.ports = append(a.ports, ps...)
}

// readACL reads the rule entries of the ACL of zone set z ("" for a zone
// with no set, which has none). Quarantine, monitor and final entries
// (ip, deny or log) are only checked to name Ward's object-groups here.
func (r *ruleReader) readACL(a *acl, z string) error {
	essential := r.restrict != ""
	setOf := func(name string) (string, error) {
		g := r.groups[name]
		if g == nil {
			return "", fmt.Errorf("object-group %s is not one of Ward's", name)
		}
		return g.set, nil
	}
	for _, e := range a.entries {
		x, err := parseACE(e)
		if err != nil {
			return fmt.Errorf("ACL %s: %w", a.name, err)
		}
		if x.proto == "ip" || x.action == "deny" || x.log {
			if x.action == "deny" && x.src == r.restrict {
				essential = false
			}
			for _, n := range []string{x.src, x.dst} {
				if _, err := setOf(n); n != "any" && err != nil {
					return fmt.Errorf("ACL %s: entry %q: %w", a.name, e, err)
				}
			}
			continue
		}
		src, err := setOf(x.src)
		if err != nil {
			return fmt.Errorf("ACL %s: entry %q: %w", a.name, e, err)
		}
		dst, err := setOf(x.dst)
		if err != nil {
			return fmt.Errorf("ACL %s: entry %q: %w", a.name, e, err)
		}
		if src != z {
			return fmt.Errorf("ACL %s: entry %q comes from %s; Ward writes a rule's entries in the ACL of the zone they come from", a.name, e, src)
		}
		if err := r.entry(x, z, dst, essential); err != nil {
			return fmt.Errorf("ACL %s: entry %q: %w", a.name, e, err)
		}
	}
	return nil
}

// entry reads one rule entry of zone z's ACL toward set y (see ruleReader).
func (r *ruleReader) entry(x ace, z, y string, essential bool) error {
	switch {
	case x.proto == "tcp" && x.established, x.proto == "udp" && x.srcPorts != nil:
		if x.dstPorts != nil {
			return fmt.Errorf("a reply Ward writes has no destination port")
		}
		r.acc(ruleKey{y, z, x.proto, essential}).addPorts(x.srcPorts)
	case x.proto == "tcp" || x.proto == "udp":
		if x.srcPorts != nil {
			return fmt.Errorf("a rule's entry Ward writes has no source port")
		}
		a := r.acc(ruleKey{z, y, x.proto, essential})
		a.own = true
		a.addPorts(x.dstPorts)
	case x.icmp == "echo-reply":
		r.echo = append(r.echo, ruleKey{y, z, "icmp", essential})
	default:
		a := r.acc(ruleKey{z, y, "icmp", essential})
		a.own = true
		if x.icmp == "" {
			a.allTypes = true
		} else {
			a.types = append(a.types, icmpIntentName(x.icmp))
		}
	}
	return nil
}

// result resolves the echo-replies and returns the rules, sorted by key.
func (r *ruleReader) result() []intent.Rule {
	for _, k := range r.echo {
		a := r.rules[k]
		switch {
		case !r.zones[k.from]:
			// No ACL of the source to hold the rule's own entries: the
			// rule is seen by its replies only.
			r.acc(k).types = append(r.acc(k).types, "echo-request")
		case a != nil && a.own && (a.allTypes || slices.Contains(a.types, "echo-request")):
			// The reply of a rule read from the source's ACL.
		default:
			own := r.acc(ruleKey{k.to, k.from, "icmp", k.essential})
			own.own = true
			own.types = append(own.types, "echo-reply")
		}
	}
	keys := slices.Clone(r.keys)
	slices.SortFunc(keys, func(a, b ruleKey) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to), cmp.Compare(a.proto, b.proto), boolCmp(a.essential, b.essential))
	})
	var out []intent.Rule
	for _, k := range keys {
		a := r.rules[k]
		rule := intent.Rule{From: k.from, To: k.to, Proto: k.proto, Essential: k.essential}
		if k.proto != "icmp" && !a.allPorts {
			rule.Ports, _ = drivers.MergePorts(a.ports)
		}
		if k.proto == "icmp" && !a.allTypes {
			rule.ICMPTypes = slices.Compact(slices.Sorted(slices.Values(a.types)))
		}
		out = append(out, rule)
	}
	return out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// verifyACLs rebuilds every zone ACL from the model and compares it with
// the ACL read, entry by entry (port names as numbers): an entry missing,
// added, changed or moved is an error.
func (d *device) verifyACLs(t *intent.Target) error {
	want, err := build(&intent.Target{Name: t.Name, Roles: []string{intent.RoleFirewall}, Firewall: t.Firewall})
	if err != nil {
		return fmt.Errorf("the firewall read does not render again: %w", err)
	}
	rebuilt := map[int][]string{}
	acls := map[string]*acl{}
	for _, a := range want.acls {
		acls[a.name] = a
	}
	for _, bd := range want.binds {
		rebuilt[bd.vlan] = acls[bd.acl].entries
	}
	have := map[string]*acl{}
	for _, a := range d.acls {
		have[a.name] = a
	}
	for _, bd := range d.binds {
		a := have[bd.acl]
		got, err := normalEntries(a.entries)
		if err != nil {
			return fmt.Errorf("ACL %s: %w", a.name, err)
		}
		exp, _ := normalEntries(rebuilt[bd.vlan])
		// Group names compared by set: what an entry names is the set.
		got, exp = bySetNames(got, d.groups), bySetNames(exp, want.groups)
		if !slices.Equal(got, exp) {
			i := 0
			for i < len(got) && i < len(exp) && got[i] == exp[i] {
				i++
			}
			g, e := "(none)", "(none)"
			if i < len(got) {
				g = got[i]
			}
			if i < len(exp) {
				e = exp[i]
			}
			return fmt.Errorf("ACL %s (interface Vlan%d) is not what Ward writes for the rules and sets it names: entry %d is %q, Ward writes %q there", a.name, bd.vlan, i+1, g, e)
		}
	}
	return nil
}

// normalEntries writes ports as numbers.
func normalEntries(entries []string) ([]string, error) {
	out := make([]string, len(entries))
	for i, e := range entries {
		w := strings.Fields(e)
		proto := ""
		if len(w) > 1 {
			proto = w[1]
		}
		for j := 1; j < len(w); j++ {
			if (proto == "tcp" || proto == "udp") && (w[j-1] == "eq" || w[j-1] == "range" || (j > 1 && w[j-2] == "range")) {
				n, err := portNumber(proto, w[j])
				if err != nil {
					return nil, err
				}
				w[j] = strconv.Itoa(n)
			}
		}
		out[i] = strings.Join(w, " ")
	}
	return out, nil
}

func bySetNames(entries []string, groups []*group) []string {
	names := map[string]string{}
	for _, g := range groups {
		names[g.name] = g.set
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		w := strings.Fields(e)
		for j := 1; j < len(w); j++ {
			if w[j-1] == "object-group" {
				if s, ok := names[w[j]]; ok {
					w[j] = s
				}
			}
		}
		out[i] = strings.Join(w, " ")
	}
	return out
}

// portNames is IOS's name for each TCP or UDP port it shows by name
// (docPorts: the acl-port-type enumeration of the IOS-XE native YANG
// model; as a Catalyst 9300 on IOS-XE 17.18 prints them, per
// https://github.com/ChartinoLabs/Muninn/issues/1184: eq www, eq domain,
// eq 443 stays a number). Which names are TCP's and which UDP's follows
// the model's grouping and the permit command's keyword lists.
func portNames(proto string) map[int]string {
	if proto == "udp" {
		return map[int]string{
			512: "biff", 68: "bootpc", 67: "bootps", 9: "discard", 195: "dnsix", 53: "domain",
			7: "echo", 500: "isakmp", 434: "mobile-ip", 42: "nameserver", 138: "netbios-dgm",
			137: "netbios-ns", 139: "netbios-ss", 4500: "non500-isakmp", 123: "ntp",
			496: "pim-auto-rp", 520: "rip", 161: "snmp", 162: "snmptrap", 111: "sunrpc",
			514: "syslog", 49: "tacacs", 517: "talk", 69: "tftp", 37: "time", 513: "who", 177: "xdmcp",
		}
	}
	return map[int]string{
		179: "bgp", 19: "chargen", 13: "daytime", 9: "discard", 53: "domain", 7: "echo",
		79: "finger", 21: "ftp", 20: "ftp-data", 70: "gopher", 101: "hostname", 113: "ident",
		194: "irc", 543: "klogin", 544: "kshell", 515: "lpd", 135: "msrpc", 119: "nntp",
		496: "pim-auto-rp", 109: "pop2", 110: "pop3", 25: "smtp", 111: "sunrpc", 49: "tacacs",
		517: "talk", 23: "telnet", 37: "time", 540: "uucp", 43: "whois", 80: "www",
		513: "login", 512: "exec", 514: "cmd",
	}
}
