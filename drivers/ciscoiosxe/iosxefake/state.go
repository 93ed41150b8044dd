package iosxefake

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// config is the device's configuration: changed only by accepted commands,
// copied whole for the startup configuration, archive files and the
// revert timer's rollback point.
type config struct {
	hostname    string
	ifaces      map[string]*iface
	acls        []*acl // in creation order
	groups      []*objectGroup
	archivePath string
	archiveMax  int
	vlans       map[int]string // VLAN -> name ("" unnamed); 1 and 1002-1005 are implicit
}

// defaultVLAN reports whether n is one of the VLANs a switch always has.
func defaultVLAN(n int) bool { return n == 1 || (n >= 1002 && n <= 1005) }

func (c *config) addVLAN(n int) {
	if _, ok := c.vlans[n]; !ok && !defaultVLAN(n) {
		c.vlans[n] = ""
	}
}

type iface struct {
	name        string
	physical    bool
	description string
	accessVlan  int // 0: not set
	modeAccess  bool
	ipAddr      string
	ipMask      string
	aclIn       string
	aclOut      string
	shutdown    bool
}

type acl struct {
	name    string
	entries []ace
}

type ace struct {
	seq  int
	text string // canonical, without the sequence number
}

type objectGroup struct {
	name        string
	description string
	entries     []string
}

func newConfig(hostname string, ports []string) *config {
	c := &config{hostname: hostname, ifaces: map[string]*iface{}, vlans: map[int]string{}}
	for _, p := range ports {
		c.ifaces[p] = &iface{name: p, physical: true}
	}
	return c
}

func (c *config) clone() *config {
	n := *c
	n.ifaces = make(map[string]*iface, len(c.ifaces))
	for k, v := range c.ifaces {
		i := *v
		n.ifaces[k] = &i
	}
	n.acls = make([]*acl, len(c.acls))
	for i, a := range c.acls {
		b := &acl{name: a.name, entries: append([]ace(nil), a.entries...)}
		n.acls[i] = b
	}
	n.vlans = make(map[int]string, len(c.vlans))
	for k, v := range c.vlans {
		n.vlans[k] = v
	}
	n.groups = make([]*objectGroup, len(c.groups))
	for i, g := range c.groups {
		h := *g
		h.entries = append([]string(nil), g.entries...)
		n.groups[i] = &h
	}
	return &n
}

func (c *config) acl(name string) *acl {
	for _, a := range c.acls {
		if a.name == name {
			return a
		}
	}
	return nil
}

func (c *config) group(name string) *objectGroup {
	for _, g := range c.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

// render is the body of show running-config: the order of sections follows
// IOS's (object-groups before interfaces, ACLs after them), each sub-mode's
// lines indented one space and each section closed by "!", as the
// Configuration Replace guide's indentation rules describe.
func (c *config) render() string {
	var b strings.Builder
	b.WriteString("!\nversion 17.9\n")
	fmt.Fprintf(&b, "hostname %s\n!\n", c.hostname)
	if c.archivePath != "" || c.archiveMax != 0 {
		b.WriteString("archive\n")
		if c.archivePath != "" {
			fmt.Fprintf(&b, " path %s\n", c.archivePath)
		}
		if c.archiveMax != 0 {
			fmt.Fprintf(&b, " maximum %d\n", c.archiveMax)
		}
		b.WriteString("!\n")
	}
	// A switch in VTP transparent mode keeps VLANs in the running
	// configuration (the VLAN guide's normal-range guidelines).
	b.WriteString("vtp mode transparent\n!\n")
	ids := make([]int, 0, len(c.vlans))
	for id := range c.vlans {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "vlan %d\n", id)
		if c.vlans[id] != "" {
			fmt.Fprintf(&b, " name %s\n", c.vlans[id])
		}
		b.WriteString("!\n")
	}
	for _, g := range c.groups {
		fmt.Fprintf(&b, "object-group network %s\n", g.name)
		if g.description != "" {
			fmt.Fprintf(&b, " description %s\n", g.description)
		}
		for _, e := range g.entries {
			fmt.Fprintf(&b, " %s\n", e)
		}
		b.WriteString("!\n")
	}
	for _, i := range c.sortedInterfaces() {
		fmt.Fprintf(&b, "interface %s\n", i.name)
		if i.description != "" {
			fmt.Fprintf(&b, " description %s\n", i.description)
		}
		if i.accessVlan != 0 {
			fmt.Fprintf(&b, " switchport access vlan %d\n", i.accessVlan)
		}
		if i.modeAccess {
			b.WriteString(" switchport mode access\n")
		}
		if i.ipAddr != "" {
			fmt.Fprintf(&b, " ip address %s %s\n", i.ipAddr, i.ipMask)
		} else if !i.physical {
			b.WriteString(" no ip address\n")
		}
		if i.aclIn != "" {
			fmt.Fprintf(&b, " ip access-group %s in\n", i.aclIn)
		}
		if i.aclOut != "" {
			fmt.Fprintf(&b, " ip access-group %s out\n", i.aclOut)
		}
		if i.shutdown {
			b.WriteString(" shutdown\n")
		}
		b.WriteString("!\n")
	}
	for _, a := range c.acls {
		fmt.Fprintf(&b, "ip access-list extended %s\n", a.name)
		for _, e := range a.entries {
			fmt.Fprintf(&b, " %d %s\n", e.seq, e.text)
		}
		b.WriteString("!\n")
	}
	b.WriteString("end\n")
	return b.String()
}

// sortedInterfaces orders interfaces as IOS lists them: physical ports by
// their numbers, then VLAN interfaces by VLAN.
func (c *config) sortedInterfaces() []*iface {
	list := make([]*iface, 0, len(c.ifaces))
	for _, i := range c.ifaces {
		list = append(list, i)
	}
	sort.Slice(list, func(a, b int) bool {
		x, y := list[a], list[b]
		if x.physical != y.physical {
			return x.physical
		}
		return lessNumbers(numbersOf(x.name), numbersOf(y.name))
	})
	return list
}

func numbersOf(name string) []int {
	i := strings.IndexAny(name, "0123456789")
	if i < 0 {
		return nil
	}
	var out []int
	for _, p := range strings.Split(name[i:], "/") {
		n, _ := strconv.Atoi(p)
		out = append(out, n)
	}
	return out
}

func lessNumbers(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// showAccessLists is show access-lists: every entry with its sequence
// number, under a header naming the list.
func (c *config) showAccessLists(name string) string {
	var b strings.Builder
	for _, a := range c.acls {
		if name != "" && a.name != name {
			continue
		}
		fmt.Fprintf(&b, "Extended IP access list %s\n", a.name)
		for _, e := range a.entries {
			fmt.Fprintf(&b, "    %d %s\n", e.seq, e.text)
		}
	}
	return b.String()
}
