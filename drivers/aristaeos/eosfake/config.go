package eosfake

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// config is the switch configuration the fake keeps: the running
// configuration, a configure session's copy of it, the startup
// configuration. It holds only what the grammar can change.
type config struct {
	hostname string
	ports    int              // Ethernet1..Ethernet<ports> exist, as on a fixed switch
	vlans    map[int]string   // vlan id -> name ("" when unnamed)
	intfs    map[string]*intf // canonical name (Ethernet5, Vlan210) -> settings
	acls     map[string]*acl  // name -> entries
}

type intf struct {
	description string // "" when unset
	accessVlan  int    // 0: not set (the default, VLAN 1, is not shown)
	address     string // "10.61.210.1/24" on a Vlan interface, "" when unset
	aclIn       string // ip access-group NAME in
}

type acl struct {
	entries []aclEntry // kept sorted by seq
}

// aclEntry is one rule as the running configuration shows it, after the
// sequence number: "permit tcp 10.61.210.0/24 host 10.1.1.5 eq 443 log".
type aclEntry struct {
	seq  int
	text string
}

func newConfig(hostname string, ports int) *config {
	return &config{hostname: hostname, ports: ports, vlans: map[int]string{}, intfs: map[string]*intf{}, acls: map[string]*acl{}}
}

func (c *config) clone() *config {
	n := newConfig(c.hostname, c.ports)
	for k, v := range c.vlans {
		n.vlans[k] = v
	}
	for k, v := range c.intfs {
		cp := *v
		n.intfs[k] = &cp
	}
	for k, v := range c.acls {
		n.acls[k] = &acl{entries: append([]aclEntry(nil), v.entries...)}
	}
	return n
}

func (c *config) intf(name string) *intf {
	i := c.intfs[name]
	if i == nil {
		i = &intf{}
		c.intfs[name] = i
	}
	return i
}

// add puts an entry into the list: with seq 0 after the last entry (the
// last sequence number + 10, or 10 in an empty list). A sequence number
// already in use is refused with EOS's text, ErrDuplicateSeq.
func (a *acl) add(seq int, text string) error {
	if seq == 0 {
		seq = 10
		if n := len(a.entries); n > 0 {
			seq = a.entries[n-1].seq + 10
		}
	}
	for _, e := range a.entries {
		if e.seq == seq {
			return errDuplicateSeq
		}
	}
	a.entries = append(a.entries, aclEntry{seq: seq, text: text})
	sort.Slice(a.entries, func(i, j int) bool { return a.entries[i].seq < a.entries[j].seq })
	return nil
}

func (a *acl) remove(seq int) {
	for i, e := range a.entries {
		if e.seq == seq {
			a.entries = append(a.entries[:i], a.entries[i+1:]...)
			return
		}
	}
}

// render prints the configuration the way show running-config does:
// sections separated by "!", sub-commands indented by three spaces
// (arista.com/en/um-eos "ACLs and Route Maps" examples; the session diff
// examples in "Configure Session").
func (c *config) render() string {
	var b strings.Builder
	b.WriteString("! Command: show running-config\n")
	b.WriteString("! device: " + c.hostname + " (fake EOS, eosfake)\n!\n")
	b.WriteString("hostname " + c.hostname + "\n!\n")
	vlans := make([]int, 0, len(c.vlans))
	for v := range c.vlans {
		vlans = append(vlans, v)
	}
	sort.Ints(vlans)
	for _, v := range vlans {
		b.WriteString("vlan " + strconv.Itoa(v) + "\n")
		if name := c.vlans[v]; name != "" {
			b.WriteString("   name " + name + "\n")
		}
		b.WriteString("!\n")
	}
	for p := 1; p <= c.ports; p++ {
		name := "Ethernet" + strconv.Itoa(p)
		b.WriteString("interface " + name + "\n")
		if i := c.intfs[name]; i != nil {
			if i.description != "" {
				b.WriteString("   description " + i.description + "\n")
			}
			if i.accessVlan != 0 {
				b.WriteString("   switchport access vlan " + strconv.Itoa(i.accessVlan) + "\n")
			}
			if i.aclIn != "" {
				b.WriteString("   ip access-group " + i.aclIn + " in\n")
			}
		}
		b.WriteString("!\n")
	}
	var svis []int
	for name := range c.intfs {
		if n, ok := strings.CutPrefix(name, "Vlan"); ok {
			id, _ := strconv.Atoi(n)
			svis = append(svis, id)
		}
	}
	sort.Ints(svis)
	for _, id := range svis {
		i := c.intfs["Vlan"+strconv.Itoa(id)]
		b.WriteString("interface Vlan" + strconv.Itoa(id) + "\n")
		if i.address != "" {
			b.WriteString("   ip address " + i.address + "\n")
		}
		if i.aclIn != "" {
			b.WriteString("   ip access-group " + i.aclIn + " in\n")
		}
		b.WriteString("!\n")
	}
	names := make([]string, 0, len(c.acls))
	for n := range c.acls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString("ip access-list " + n + "\n")
		for _, e := range c.acls[n].entries {
			b.WriteString("   " + strconv.Itoa(e.seq) + " " + e.text + "\n")
		}
		b.WriteString("!\n")
	}
	b.WriteString("end\n")
	return b.String()
}

// canonicalAddr reads an ACL address operand: "any", "host A.B.C.D" (two
// tokens) or "A.B.C.D/len". It returns the form the running configuration
// shows and how many tokens it used; ok is false when the tokens are not
// an address. A prefix with host bits set is shown as its network.
func canonicalAddr(toks []string) (text string, used int, ok bool) {
	if len(toks) == 0 {
		return "", 0, false
	}
	switch {
	case keyword(toks[0], "any"):
		return "any", 1, true
	case keyword(toks[0], "host"):
		if len(toks) < 2 {
			return "", 1, false
		}
		a, err := netip.ParseAddr(toks[1])
		if err != nil || !a.Is4() {
			return "", 1, false
		}
		return "host " + a.String(), 2, true
	}
	p, err := netip.ParsePrefix(toks[0])
	if err != nil || !p.Addr().Is4() {
		return "", 0, false
	}
	return p.Masked().String(), 1, true
}
