package aristaeos

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// state is the part of an EOS configuration Ward manages: its ACLs (every
// ip access-list whose name starts with "ward-"), the ward- ACL bound
// inbound on each VLAN interface, the quarantine VLAN (the VLAN named
// ward-quarantine) and the access VLAN of each Ethernet or Port-Channel
// port. Render's output, Running's output and a device's whole running
// configuration are all read into it; format writes it back in the form
// show running-config prints.
type state struct {
	acls     map[string][]entry // name -> entries sorted by seq
	bindings map[int]string     // VLAN -> ACL bound inbound on interface VlanN
	qvlan    int                // the VLAN named ward-quarantine, 0: none
	ports    map[string]port    // canonical port name -> VLAN
}

type port struct {
	vlan int // switchport access vlan
	home int // in quarantine: the VLAN it belongs in (from its description), else 0
}

func newState() *state {
	return &state{acls: map[string][]entry{}, bindings: map[int]string{}, ports: map[string]port{}}
}

// entry is one ACL entry: its sequence number and its rule, in the
// canonical form format writes and EOS prints (host A.B.C.D for a /32,
// masked prefixes, port numbers).
type entry struct {
	seq  int
	text string
}

// The grammar of the entries Ward writes, in the EOS manual's IPv4 ACL
// rule form (ACLs and Route Maps, IPv4 ACL Rule Parameters,
// https://www.arista.com/en/um-eos/eos-acls-and-route-maps): action,
// protocol, source [ports], destination [ports], [ICMP message type],
// [established], [log]. The message type names are those of the
// arista.eos.eos_acls module
// (https://github.com/ansible-collections/arista.eos/blob/main/docs/arista.eos.eos_acls_module.rst).
var (
	aclNameRe  = regexp.MustCompile(`^ward-[A-Za-z0-9_-]{1,95}$`)
	portNameRe = regexp.MustCompile(`^(?i)(ethernet|et|port-channel|po)\s*([0-9]+(/[0-9]+){0,2})$`)
)

// portNames are the named ports EOS prints in place of a number (an entry
// shown as "eq www"), as the arista.eos module's examples show them (eq
// finger www); Parse reads them back to numbers.
var portNames = map[string]int{
	"bgp": 179, "domain": 53, "finger": 79, "ftp": 21, "ftp-data": 20, "http": 80, "https": 443,
	"ntp": 123, "pop3": 110, "smtp": 25, "snmp": 161, "ssh": 22, "syslog": 514, "telnet": 23,
	"tftp": 69, "www": 80, "bootps": 67, "bootpc": 68, "ldap": 389, "isakmp": 500,
}

// canonicalEntry reads an entry's rule (without its sequence number) and
// writes it in canonical form; anything outside Ward's grammar is an error.
func canonicalEntry(s string) (string, error) {
	a := strings.Fields(s)
	bad := func(why string) (string, error) { return "", fmt.Errorf("entry %q: %s", s, why) }
	if len(a) < 4 {
		return bad("want ACTION PROTOCOL SOURCE DESTINATION")
	}
	out := []string{}
	switch a[0] {
	case "permit", "deny":
	default:
		return bad("the action must be permit or deny")
	}
	out = append(out, a[0])
	proto := a[1]
	switch proto {
	case "ip", "tcp", "udp", "icmp":
	default:
		return bad("the protocol must be ip, tcp, udp or icmp")
	}
	out = append(out, proto)
	a = a[2:]
	for side := 0; side < 2; side++ {
		addr, n, err := canonicalAddr(a)
		if err != nil {
			return bad(err.Error())
		}
		out = append(out, addr)
		a = a[n:]
		if proto == "tcp" || proto == "udp" {
			p, n, err := canonicalPorts(a)
			if err != nil {
				return bad(err.Error())
			}
			if p != "" {
				out = append(out, p)
			}
			a = a[n:]
		}
	}
	if proto == "icmp" && len(a) > 0 && icmpEOS[a[0]] {
		out = append(out, a[0])
		a = a[1:]
	}
	if proto == "tcp" && len(a) > 0 && a[0] == "established" {
		out = append(out, "established")
		a = a[1:]
	}
	if len(a) > 0 && a[0] == "log" {
		out = append(out, "log")
		a = a[1:]
	}
	if len(a) > 0 {
		return bad(fmt.Sprintf("%q is not part of an entry Ward writes", a[0]))
	}
	return strings.Join(out, " "), nil
}

func canonicalAddr(a []string) (string, int, error) {
	if len(a) == 0 {
		return "", 0, fmt.Errorf("an address is missing")
	}
	switch a[0] {
	case "any":
		return "any", 1, nil
	case "host":
		if len(a) < 2 {
			return "", 0, fmt.Errorf("host without an address")
		}
		ip, err := netip.ParseAddr(a[1])
		if err != nil || !ip.Is4() {
			return "", 0, fmt.Errorf("host %q is not an IPv4 address", a[1])
		}
		return "host " + ip.String(), 2, nil
	}
	p, err := netip.ParsePrefix(a[0])
	if err != nil || !p.Addr().Is4() {
		return "", 0, fmt.Errorf("%q is not any, host A.B.C.D or A.B.C.D/LEN", a[0])
	}
	return prefixText(p), 1, nil
}

// prefixText is how EOS shows an IPv4 prefix in an entry: host A.B.C.D for
// one address, else the masked prefix.
func prefixText(p netip.Prefix) string {
	p = p.Masked()
	if p.Bits() == 32 {
		return "host " + p.Addr().String()
	}
	return p.String()
}

func portNumber(s string) (int, bool) {
	if n, ok := portNames[s]; ok {
		return n, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= 65535
}

// canonicalPorts reads "eq P..." (EOS takes a list of up to 10 ports) or
// "range LO HI" at the head of a, or nothing.
func canonicalPorts(a []string) (string, int, error) {
	if len(a) == 0 {
		return "", 0, nil
	}
	switch a[0] {
	case "eq":
		var ps []string
		i := 1
		for ; i < len(a); i++ {
			n, ok := portNumber(a[i])
			if !ok {
				break
			}
			ps = append(ps, strconv.Itoa(n))
		}
		if len(ps) != 1 {
			return "", 0, fmt.Errorf("Ward writes one port per eq, not %d", len(ps))
		}
		return "eq " + ps[0], i, nil
	case "range":
		if len(a) < 3 {
			return "", 0, fmt.Errorf("range needs two ports")
		}
		lo, ok1 := portNumber(a[1])
		hi, ok2 := portNumber(a[2])
		if !ok1 || !ok2 || lo > hi {
			return "", 0, fmt.Errorf("range %s %s is not a port range", a[1], a[2])
		}
		return "range " + strconv.Itoa(lo) + " " + strconv.Itoa(hi), 3, nil
	}
	return "", 0, nil
}

// parseState reads configuration text into the managed state. strict (the
// text handed to Parse or Apply) refuses every line it does not know;
// otherwise (a device's whole show running-config) blocks and lines Ward
// does not manage are skipped.
func parseState(text string, strict bool) (*state, error) {
	st := newState()
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var block []string // the block's header words
	header := ""
	vlan := 0
	for i, raw := range lines {
		line := strings.TrimRight(raw, " \t")
		where := func(err error) error { return fmt.Errorf("line %d %q: %w", i+1, line, err) }
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed == "!" || strings.HasPrefix(trimmed, "! ") || trimmed == "end" && !strings.HasPrefix(line, " ") {
			if trimmed == "!" || trimmed == "end" {
				block, header = nil, ""
			}
			continue
		}
		if !strings.HasPrefix(line, " ") {
			block, header = strings.Fields(line), line
			switch {
			case len(block) == 3 && block[0] == "ip" && block[1] == "access-list":
				if !strings.HasPrefix(block[2], "ward-") {
					break
				}
				if !aclNameRe.MatchString(block[2]) {
					return nil, where(fmt.Errorf("ACL name %q: Ward's ACL names are ward- and letters, digits, _ and -", block[2]))
				}
				if _, dup := st.acls[block[2]]; dup {
					return nil, where(fmt.Errorf("ACL %s appears twice", block[2]))
				}
				st.acls[block[2]] = nil
				continue
			case len(block) == 2 && block[0] == "interface":
				continue
			case len(block) == 2 && block[0] == "vlan":
				n, err := strconv.Atoi(block[1])
				if err != nil || n < 1 || n > 4094 {
					return nil, where(fmt.Errorf("VLAN %q: want 1-4094", block[1]))
				}
				vlan = n
				continue
			}
			if strict {
				return nil, where(fmt.Errorf("not a block Ward writes (ip access-list ward-..., interface, vlan)"))
			}
			block, header = nil, ""
			continue
		}
		if header == "" {
			if strict {
				return nil, where(fmt.Errorf("an indented line outside a block"))
			}
			continue
		}
		if err := st.subLine(block, vlan, trimmed, strict); err != nil {
			return nil, where(err)
		}
	}
	for name, es := range st.acls {
		slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
		st.acls[name] = es
	}
	return st, nil
}

// subLine reads one line of a block.
func (st *state) subLine(block []string, vlan int, line string, strict bool) error {
	w := strings.Fields(line)
	unknown := func() error {
		if strict {
			return fmt.Errorf("not a line Ward writes under %q", strings.Join(block, " "))
		}
		return nil
	}
	switch {
	case block[0] == "ip":
		name := block[2]
		if _, ours := st.acls[name]; !ours {
			return nil
		}
		seq, err := strconv.Atoi(w[0])
		if err != nil || seq < 1 || seq > 4294967295 {
			return fmt.Errorf("ACL %s: an entry without a sequence number (Ward numbers every entry)", name)
		}
		text, err := canonicalEntry(strings.Join(w[1:], " "))
		if err != nil {
			return fmt.Errorf("ACL %s: %w", name, err)
		}
		for _, e := range st.acls[name] {
			if e.seq == seq {
				return fmt.Errorf("ACL %s: sequence number %d twice", name, seq)
			}
		}
		st.acls[name] = append(st.acls[name], entry{seq, text})
	case block[0] == "vlan":
		if len(w) == 2 && w[0] == "name" && w[1] == quarantineVLANName {
			if st.qvlan != 0 && st.qvlan != vlan {
				return fmt.Errorf("two VLANs are named %s (%d and %d)", quarantineVLANName, st.qvlan, vlan)
			}
			st.qvlan = vlan
			return nil
		}
		return unknown()
	case block[0] == "interface":
		if n, ok := strings.CutPrefix(block[1], "Vlan"); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 1 || v > 4094 {
				return fmt.Errorf("interface %s: not a VLAN interface", block[1])
			}
			if len(w) == 4 && w[0] == "ip" && w[1] == "access-group" && w[3] == "in" && strings.HasPrefix(w[2], "ward-") {
				if !aclNameRe.MatchString(w[2]) {
					return fmt.Errorf("ACL name %q: not one Ward writes", w[2])
				}
				st.bindings[v] = w[2]
				return nil
			}
			return unknown()
		}
		name, err := canonicalPort(block[1])
		if err != nil {
			if strict {
				return err
			}
			return nil
		}
		p := st.ports[name]
		switch {
		case len(w) == 4 && w[0] == "switchport" && w[1] == "access" && w[2] == "vlan":
			v, err := strconv.Atoi(w[3])
			if err != nil || v < 1 || v > 4094 {
				return fmt.Errorf("port %s: VLAN %q: want 1-4094", name, w[3])
			}
			p.vlan = v
		case len(w) == 3 && w[0] == "description" && w[1] == quarantineMark:
			v, err := strconv.Atoi(strings.TrimPrefix(w[2], "home-vlan-"))
			if err != nil || !strings.HasPrefix(w[2], "home-vlan-") || v < 1 || v > 4094 {
				return fmt.Errorf("port %s: description %q: not Ward's quarantine mark", name, line)
			}
			p.home = v
		default:
			return unknown()
		}
		st.ports[name] = p
	}
	return nil
}

// quarantineVLANName names the quarantine VLAN on the switch; quarantineMark
// starts the description of a port moved there ("ward-quarantine
// home-vlan-210"), which keeps the VLAN it belongs in.
const (
	quarantineVLANName = "ward-quarantine"
	quarantineMark     = "ward-quarantine"
)

// canonicalPort is the name EOS shows for a port written as the inventory
// may write it: Et5 or ethernet 5 is Ethernet5, Et1/1 Ethernet1/1, Po10
// Port-Channel10 (Arista EOS User Manual, Ethernet Ports and Port
// Channels, https://www.arista.com/en/um-eos/eos-ethernet-ports; the
// prompt forms config-if-Et5 in the VLANs chapter's examples).
func canonicalPort(s string) (string, error) {
	m := portNameRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", fmt.Errorf("port %q: want an Ethernet or Port-Channel port such as Ethernet5, Et1/1 or Po10", s)
	}
	for _, part := range strings.Split(m[2], "/") {
		if n, err := strconv.Atoi(part); err != nil || strconv.Itoa(n) != part || (n == 0 && len(part) > 0 && !strings.Contains(m[2], "/")) {
			return "", fmt.Errorf("port %q: %q is not a port number", s, m[2])
		}
	}
	switch strings.ToLower(m[1]) {
	case "ethernet", "et":
		return "Ethernet" + m[2], nil
	}
	if strings.Contains(m[2], "/") {
		return "", fmt.Errorf("port %q: a Port-Channel has one number", s)
	}
	return "Port-Channel" + m[2], nil
}

// portKey sorts ports as EOS lists them: Ethernet before Port-Channel, by
// number.
func portKey(name string) (int, []int) {
	kind, num := 0, strings.TrimPrefix(name, "Ethernet")
	if strings.HasPrefix(name, "Port-Channel") {
		kind, num = 1, strings.TrimPrefix(name, "Port-Channel")
	}
	var ns []int
	for _, p := range strings.Split(num, "/") {
		n, _ := strconv.Atoi(p)
		ns = append(ns, n)
	}
	return kind, ns
}

func comparePorts(a, b string) int {
	ka, na := portKey(a)
	kb, nb := portKey(b)
	return cmp.Or(cmp.Compare(ka, kb), slices.Compare(na, nb))
}

// format writes the state as show running-config prints it: ACLs by name,
// VLAN interfaces by VLAN, the quarantine VLAN, ports in EOS order; three
// spaces before each sub-line and "!" after each block.
func (st *state) format() string {
	var b strings.Builder
	names := make([]string, 0, len(st.acls))
	for n := range st.acls {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b.WriteString("ip access-list " + n + "\n")
		for _, e := range st.acls[n] {
			fmt.Fprintf(&b, "   %d %s\n", e.seq, e.text)
		}
		b.WriteString("!\n")
	}
	vlans := make([]int, 0, len(st.bindings))
	for v := range st.bindings {
		vlans = append(vlans, v)
	}
	slices.Sort(vlans)
	for _, v := range vlans {
		fmt.Fprintf(&b, "interface Vlan%d\n   ip access-group %s in\n!\n", v, st.bindings[v])
	}
	if st.qvlan != 0 {
		fmt.Fprintf(&b, "vlan %d\n   name %s\n!\n", st.qvlan, quarantineVLANName)
	}
	ports := make([]string, 0, len(st.ports))
	for p := range st.ports {
		ports = append(ports, p)
	}
	slices.SortFunc(ports, comparePorts)
	for _, name := range ports {
		p := st.ports[name]
		b.WriteString("interface " + name + "\n")
		if p.home != 0 {
			fmt.Fprintf(&b, "   description %s home-vlan-%d\n", quarantineMark, p.home)
		}
		if p.vlan != 0 {
			fmt.Fprintf(&b, "   switchport access vlan %d\n", p.vlan)
		}
		b.WriteString("!\n")
	}
	return b.String()
}

// hasAccess reports whether the state holds the access role's marker.
func (st *state) hasAccess() bool {
	_, ok := st.acls[nameAccess]
	return ok
}

func (st *state) clone() *state {
	n := newState()
	for k, v := range st.acls {
		n.acls[k] = slices.Clone(v)
	}
	for k, v := range st.bindings {
		n.bindings[k] = v
	}
	for k, v := range st.ports {
		n.ports[k] = v
	}
	n.qvlan = st.qvlan
	return n
}
