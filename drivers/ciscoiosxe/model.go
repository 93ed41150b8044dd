package ciscoiosxe

import (
	"cmp"
	"fmt"
	mbits "math/bits"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// device is the part of an IOS-XE configuration Ward manages, as
// structure: what Render builds from the intent, what Parse reads from
// text, and what Apply compares (desired against running) to choose its
// commands. Its text form (text) is Render's output and Running's.
type device struct {
	qvlan  int      // the quarantine VLAN (vlan N, name ward-quarantine); 0: none
	groups []*group // sorted by name
	acls   []*acl   // sorted by name
	binds  []bind   // sorted by VLAN
	ports  []*port  // sorted by interface
}

// group is an object-group network Ward manages, marked by its description
// ("ward zone NAME", "ward network NAME", "ward quarantine isolate|restrict").
type group struct {
	name    string // on the device: the set name, -hash unless quarantine
	set     string // the intent's set name
	kind    string // "zone", "network", "isolate" or "restrict"
	of      string // zone or network name
	monitor bool   // a zone in monitor mode
	remed   []string
	members []netip.Prefix
}

// acl is a named extended ACL Ward manages (ward_<set or vlanN>-hash).
type acl struct {
	name    string
	entries []string // without sequence numbers, single-spaced
}

// bind is an inbound ACL on a VLAN's routed interface.
type bind struct {
	vlan int
	acl  string
}

// port is an access port Ward manages, marked by its description.
type port struct {
	name   string // full IOS name
	num    []int
	vlan   int // switchport access vlan
	home   int // the VLAN of the description (where the port belongs)
	device string
	zone   string
	access bool // switchport mode access
}

// Documents the grammar follows; each rule below cites one.
const (
	docObjGroup = "Object Groups for ACLs (IOS XE 17), https://cisco.com/c/en/us/td/docs/routers/ios/config/17-x/sec-vpn/b-security-vpn/m_sec_zbf_ogacl-xe.html: object-group network, host/network entries, description; \"You cannot remove an object group or make an object group empty if it is used in an ACL\""
	docACL      = "Configuring Network Security with ACLs, https://www.cisco.com/en/US/docs/switches/metro/me3600x_3800x/trash/swacl.pdf: named extended ACLs, sequence numbers (default 10, step 10), established, log, remark (up to 100 characters), ip access-group name in"
	docRACL9k   = "Validate Security ACLs on Catalyst 9000, https://www.cisco.com/c/fr_ca/support/docs/switches/catalyst-9500-series-switches/217266-validate-security-acls-on-catalyst-9000.pdf: a routed ACL (RACL) on an SVI, interface VlanN / ip access-group NAME in"
	docL2       = "Configuring LAN Interfaces for Layer 2 Switching, https://cisco.com/c/en/us/td/docs/switches/lan/catalyst6500/ios/12-2ZY/configuration/guide/swcg/layer2.html: switchport mode access, switchport access vlan (1-4094)"
	docVLAN     = "Catalyst normal-range VLAN guidelines (VTP transparent mode keeps VLANs in the running configuration; vlan N, name NAME), https://manualshive.com/ru/manual/cisco/catalyst-2960-series/66776?page=2195"
	docPorts    = "Cisco-IOS-XE-acl.yang acl-port-type (IOS names for TCP/UDP ports, shown instead of numbers: eq 80 reads back as eq www), https://github.com/YangModels/yang/blob/main/vendor/cisco/xe/17121/Cisco-IOS-XE-acl.yang"
	docReplace  = "Configuration Replace and Configuration Rollback (IOS XE 17), https://www.cisco.com/c/en/us/td/docs/routers/ios/config/17-x/syst-mgmt/b-system-management/m_cm-config-rollback-0.html: archive, path, archive config, configure replace URL force"
	docICMP     = "Cisco IOS permit (IP access list configuration) command reference, https://www.cisco.com/E-Learning/bulk/public/tac/cim/cib/using_cisco_ios_software/cmdrefs/permit.htm: permit icmp source destination [icmp-type [icmp-code] | icmp-message]; of the icmp-message keywords Ward writes echo (type 8), echo-reply (0), unreachable (3) and time-exceeded (11)"
	docConfirm  = "Configuration Rollback Confirmed Change (IOS XE 17), https://www.cisco.com/c/en/us/td/docs/routers/ios/config/17-x/syst-mgmt/b-system-management/m_cm-config-rollback-confirmed-change.html: configure terminal revert timer MINUTES (1-120), configure confirm, configure revert now"
)

// Names Ward writes: a set name ([A-Za-z][A-Za-z0-9_]*, as intent.SetNames
// writes them; IOS requires a named ACL to begin with a letter), followed
// on the device by "-" and a content hash. "-" never occurs in a set
// name, so the set is always the part before the last "-".
var (
	setName   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	groupName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)(?:-([0-9a-f]{8}))?$`)
	aclName   = regexp.MustCompile(`^ward_([A-Za-z][A-Za-z0-9_]*)-([0-9a-f]{8})$`)
	label     = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
	seqPrefix = regexp.MustCompile(`^[0-9]+ `)
)

// quarantineDescription and friends mark what Ward manages on the device.
const (
	quarantineVLANName = "ward-quarantine"
	// placeholder is the one member every quarantine object-group keeps:
	// IOS refuses to empty an object group an ACL uses (docObjGroup), so
	// releasing the last quarantined device would fail without it. A
	// loopback address never appears in a routed packet.
	placeholder = "127.0.0.1/32"
)

// text writes the configuration in IOS-XE syntax, in the order Ward sends
// it: the quarantine VLAN, object-groups, ACLs, bindings, access ports.
func (d *device) text() string {
	var b strings.Builder
	if d.qvlan != 0 {
		fmt.Fprintf(&b, "vlan %d\n name %s\n", d.qvlan, quarantineVLANName)
	}
	for _, g := range d.groups {
		b.WriteString("object-group network " + g.name + "\n")
		b.WriteString(" description " + g.description() + "\n")
		for _, p := range g.members {
			b.WriteString(" " + groupEntry(p) + "\n")
		}
	}
	for _, a := range d.acls {
		b.WriteString("ip access-list extended " + a.name + "\n")
		for _, e := range a.entries {
			b.WriteString(" " + e + "\n")
		}
	}
	for _, bd := range d.binds {
		fmt.Fprintf(&b, "interface Vlan%d\n ip access-group %s in\n", bd.vlan, bd.acl)
	}
	for _, p := range d.ports {
		b.WriteString("interface " + p.name + "\n description " + p.description() + "\n switchport mode access\n switchport access vlan " + strconv.Itoa(p.vlan) + "\n")
	}
	return b.String()
}

func (g *group) description() string {
	switch g.kind {
	case "isolate":
		d := "ward quarantine isolate"
		if len(g.remed) > 0 {
			d += " remediation " + strings.Join(g.remed, " ")
		}
		return d
	case "restrict":
		return "ward quarantine restrict"
	}
	d := "ward " + g.kind + " " + g.of
	if g.monitor {
		d += " monitor"
	}
	return d
}

// parseGroupDescription fills kind, of, monitor and remed from a
// description Ward wrote; ok is false for any other description.
func (g *group) parseDescription(desc string) bool {
	w := strings.Fields(desc)
	if len(w) < 3 || w[0] != "ward" {
		return false
	}
	switch {
	case w[1] == "quarantine" && w[2] == "restrict" && len(w) == 3:
		g.kind = "restrict"
	case w[1] == "quarantine" && w[2] == "isolate":
		g.kind = "isolate"
		if len(w) > 3 {
			if w[3] != "remediation" || len(w) == 4 {
				return false
			}
			for _, r := range w[4:] {
				if !setName.MatchString(r) {
					return false
				}
			}
			g.remed = slices.Clone(w[4:])
		}
	case (w[1] == "zone" || w[1] == "network") && label.MatchString(w[2]):
		g.kind, g.of = w[1], w[2]
		switch {
		case len(w) == 4 && w[3] == "monitor" && w[1] == "zone":
			g.monitor = true
		case len(w) != 3:
			return false
		}
	default:
		return false
	}
	return true
}

func (p *port) description() string {
	return "ward vlan " + strconv.Itoa(p.home) + " device " + p.device + " zone " + p.zone
}

func (p *port) parseDescription(desc string) bool {
	w := strings.Fields(desc)
	if len(w) != 7 || w[0] != "ward" || w[1] != "vlan" || w[3] != "device" || w[5] != "zone" {
		return false
	}
	n, err := strconv.Atoi(w[2])
	if err != nil || n < 1 || n > 4094 {
		return false
	}
	p.home, p.device, p.zone = n, w[4], w[6]
	return true
}

// cleanLabel makes a device or zone name safe for a description: one word
// of the characters label allows, at most 60.
func cleanLabel(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:-", c) >= 0) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b[:min(len(b), 60)])
}

// groupEntry is one object-group network entry, in the Object Groups for
// ACLs guide's forms: host A.B.C.D, or A.B.C.D MASK.
func groupEntry(p netip.Prefix) string {
	p = p.Masked()
	if p.Bits() == 32 {
		return "host " + p.Addr().String()
	}
	m := uint32(0)
	if p.Bits() > 0 {
		m = ^uint32(0) << (32 - p.Bits())
	}
	mask := netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)})
	return p.Addr().String() + " " + mask.String()
}

// parseGroupEntry reads "host A.B.C.D" or "A.B.C.D MASK" (a contiguous
// mask; IOS may print a /32 either way).
func parseGroupEntry(s string) (netip.Prefix, error) {
	w := strings.Fields(s)
	if len(w) == 2 && w[0] == "host" {
		a, err := netip.ParseAddr(w[1])
		if err != nil || !a.Is4() {
			return netip.Prefix{}, fmt.Errorf("%q: not an IPv4 host", s)
		}
		return netip.PrefixFrom(a, 32), nil
	}
	if len(w) == 2 {
		a, err1 := netip.ParseAddr(w[0])
		m, err2 := netip.ParseAddr(w[1])
		if err1 == nil && err2 == nil && a.Is4() && m.Is4() {
			mb := m.As4()
			v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
			inv := ^v
			if inv&(inv+1) == 0 {
				p := netip.PrefixFrom(a, mbits.OnesCount32(v))
				if p.Masked() != p {
					return netip.Prefix{}, fmt.Errorf("%q: address has bits outside the mask", s)
				}
				return p, nil
			}
		}
	}
	return netip.Prefix{}, fmt.Errorf("%q is not an object-group network entry Ward writes (host A.B.C.D or A.B.C.D MASK)", s)
}

func sortPrefixes(ps []netip.Prefix) {
	slices.SortFunc(ps, func(x, y netip.Prefix) int {
		return cmp.Or(x.Addr().Compare(y.Addr()), x.Bits()-y.Bits())
	})
}

// block is one top-level configuration line and the lines under it.
type block struct {
	head string
	sub  []string
	line int // the head's line number, for errors
}

// blocks splits IOS configuration text into top-level blocks; "!" lines
// and blank lines end nothing and are skipped.
func blocks(text string) []block {
	var out []block
	for i, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		t := strings.TrimRight(l, " \t")
		switch {
		case strings.TrimSpace(t) == "" || strings.TrimSpace(t) == "!":
		case strings.HasPrefix(t, " ") && len(out) > 0:
			out[len(out)-1].sub = append(out[len(out)-1].sub, strings.Join(strings.Fields(t), " "))
		default:
			out = append(out, block{head: strings.Join(strings.Fields(t), " "), line: i + 1})
		}
	}
	return out
}

// readDevice reads configuration text into the managed structure. Strict
// (Parse): every block must be one Ward writes, and every line in it.
// Lenient (reading show running-config): blocks and lines Ward does not
// manage are skipped, and only Ward's are read, as strictly.
func readDevice(text string, strict bool) (*device, error) {
	d := &device{}
	seen := map[string]bool{}
	for _, b := range blocks(text) {
		if err := d.readBlock(b, strict, seen); err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", b.line, b.head, err)
		}
	}
	d.sort()
	return d, nil
}

func (d *device) sort() {
	slices.SortFunc(d.groups, func(a, b *group) int { return cmp.Compare(a.name, b.name) })
	slices.SortFunc(d.acls, func(a, b *acl) int { return cmp.Compare(a.name, b.name) })
	slices.SortFunc(d.binds, func(a, b bind) int { return a.vlan - b.vlan })
	slices.SortFunc(d.ports, comparePorts)
}

func comparePorts(x, y *port) int {
	tx, ty := strings.TrimRight(x.name, "0123456789/"), strings.TrimRight(y.name, "0123456789/")
	return cmp.Or(strings.Compare(tx, ty), slices.Compare(x.num, y.num))
}

func (d *device) readBlock(b block, strict bool, seen map[string]bool) error {
	w := strings.Fields(b.head)
	unknown := func() error {
		if strict {
			return fmt.Errorf("not a configuration line Ward writes")
		}
		return nil
	}
	switch {
	case len(w) == 2 && w[0] == "vlan":
		// docVLAN: vlan N / name NAME.
		n, err := strconv.Atoi(w[1])
		if err != nil || n < 2 || n > 4094 {
			return unknown()
		}
		if !slices.Equal(b.sub, []string{"name " + quarantineVLANName}) {
			if strict {
				return fmt.Errorf("Ward writes one VLAN, the quarantine VLAN, named %s", quarantineVLANName)
			}
			return nil
		}
		if d.qvlan != 0 && d.qvlan != n {
			return fmt.Errorf("two VLANs are named %s (%d and %d)", quarantineVLANName, d.qvlan, n)
		}
		d.qvlan = n
	case len(w) == 3 && w[0] == "object-group" && w[1] == "network":
		return d.readGroup(w[2], b.sub, strict, seen)
	case len(w) == 4 && w[0] == "ip" && w[1] == "access-list" && w[2] == "extended":
		return d.readACL(w[3], b.sub, strict, seen)
	case len(w) == 2 && w[0] == "interface":
		return d.readInterface(w[1], b.sub, strict)
	default:
		return unknown()
	}
	return nil
}

func (d *device) readGroup(name string, sub []string, strict bool, seen map[string]bool) error {
	// docObjGroup: object-group network NAME, description, entries.
	g := &group{name: name}
	var desc string
	var entries []string
	for _, l := range sub {
		if strings.HasPrefix(l, "description ") {
			desc = strings.TrimPrefix(l, "description ")
		} else {
			entries = append(entries, l)
		}
	}
	if !g.parseDescription(desc) {
		if strict {
			return fmt.Errorf("object-group %s: its description %q is not one Ward writes (ward zone|network NAME, ward quarantine isolate|restrict)", name, desc)
		}
		return nil // not Ward's
	}
	m := groupName.FindStringSubmatch(name)
	quarantine := g.kind == "isolate" || g.kind == "restrict"
	if m == nil || (quarantine != (m[2] == "")) {
		return fmt.Errorf("object-group %s: the name is not one Ward writes for a %s group", name, g.kind)
	}
	g.set = m[1]
	if seen["group "+g.set] {
		return fmt.Errorf("object-group %s: set %s has two object-groups", name, g.set)
	}
	seen["group "+g.set] = true
	for _, e := range entries {
		p, err := parseGroupEntry(e)
		if err != nil {
			return fmt.Errorf("object-group %s: %w", name, err)
		}
		g.members = append(g.members, p)
	}
	sortPrefixes(g.members)
	g.members = slices.Compact(g.members)
	d.groups = append(d.groups, g)
	return nil
}

func (d *device) readACL(name string, sub []string, strict bool, seen map[string]bool) error {
	// docACL: ip access-list extended NAME; entries with or without
	// their sequence numbers (show running-config prints them).
	m := aclName.FindStringSubmatch(name)
	if m == nil {
		if strict {
			return fmt.Errorf("ACL %s: the name is not one Ward writes (ward_SET-HASH)", name)
		}
		return nil
	}
	a := &acl{name: name}
	last := 0
	for _, l := range sub {
		if s := seqPrefix.FindString(l); s != "" {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= last {
				return fmt.Errorf("ACL %s: entry %q is out of sequence", name, l)
			}
			last = n
			l = l[len(s):]
		}
		a.entries = append(a.entries, l)
	}
	d.acls = append(d.acls, a)
	return nil
}

func (d *device) readInterface(name string, sub []string, strict bool) error {
	if strings.HasPrefix(name, "Vlan") {
		// docRACL9k: the zone VLAN's routed interface and its inbound ACL.
		n, err := strconv.Atoi(strings.TrimPrefix(name, "Vlan"))
		if err != nil || n < 1 || n > 4094 {
			return fmt.Errorf("interface %s: not a VLAN interface", name)
		}
		var acls []string
		for _, l := range sub {
			w := strings.Fields(l)
			if len(w) == 4 && w[0] == "ip" && w[1] == "access-group" && w[3] == "in" && aclName.MatchString(w[2]) {
				acls = append(acls, w[2])
			} else if strict {
				return fmt.Errorf("interface %s: %q is not a line Ward writes there", name, l)
			}
		}
		if len(acls) > 1 {
			return fmt.Errorf("interface %s: two inbound ACLs", name)
		}
		if len(acls) == 1 {
			d.binds = append(d.binds, bind{vlan: n, acl: acls[0]})
		} else if strict {
			return fmt.Errorf("interface %s: no ACL bound", name)
		}
		return nil
	}
	full, num, err := canonicalInterface(name)
	if err != nil {
		if strict {
			return err
		}
		return nil
	}
	p := &port{name: full, num: num}
	marked := false
	for _, l := range sub {
		w := strings.Fields(l)
		switch {
		case w[0] == "description":
			marked = p.parseDescription(strings.TrimPrefix(l, "description "))
		case l == "switchport mode access":
			p.access = true
		case len(w) == 4 && w[0] == "switchport" && w[1] == "access" && w[2] == "vlan":
			n, err := strconv.Atoi(w[3])
			if err != nil || n < 1 || n > 4094 {
				return fmt.Errorf("interface %s: %q", full, l)
			}
			p.vlan = n
		case strict:
			return fmt.Errorf("interface %s: %q is not a line Ward writes there", full, l)
		}
	}
	if !marked {
		if strict {
			return fmt.Errorf("interface %s: no description Ward writes (ward vlan N device NAME zone NAME)", full)
		}
		return nil
	}
	if strict && (!p.access || p.vlan == 0) {
		return fmt.Errorf("interface %s: Ward writes switchport mode access and switchport access vlan for each port", full)
	}
	for _, q := range d.ports {
		if q.name == full {
			return fmt.Errorf("interface %s appears twice", full)
		}
	}
	d.ports = append(d.ports, p)
	return nil
}
