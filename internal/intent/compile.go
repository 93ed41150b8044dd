package intent

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// Names of the quarantine sets every firewall carries.
const (
	IsolateSet  = "quarantine_isolate"
	RestrictSet = "quarantine_restrict"
)

// Warning is something Compile left out of the intent, and why. Target
// and Device are empty when the warning is about neither.
type Warning struct {
	Target  string `json:"target,omitempty"`
	Device  string `json:"device,omitempty"`
	Message string `json:"message"`
}

func (w Warning) String() string {
	var where []string
	if w.Target != "" {
		where = append(where, "target "+strconv.Quote(w.Target))
	}
	if w.Device != "" {
		where = append(where, "device "+strconv.Quote(w.Device))
	}
	if len(where) == 0 {
		return w.Message
	}
	return strings.Join(where, ", ") + ": " + w.Message
}

// Compile builds the enforcement intent of every target from an evaluation.
//
// Every firewall target gets the whole ruleset. Its address sets are the
// zones that flows in force, quarantine remediation or monitor mode name,
// and the networks that flows in force or remediation name. Set members
// follow the precedence ward query reach uses (engine.Reach), so the
// firewall enforces what a reach query answers: a device's address counts
// as the device's zone only (as no zone's when the device has none); any
// other address inside zone subnets counts as the zone with the most
// specific subnet; a network holds only its addresses outside all of that.
// Rules come from res.Flows by flow name, then from reference, to
// reference, service, and protocol (tcp, udp, icmp, icmpv6).
//
// Every access switch target gets the VLAN of each port an inventory device
// names it with, from the device's zone. Devices that cannot be placed on
// a port (no port, no zone, a zone without a VLAN, a switch that is not an
// access switch target) are left out with a Warning; two devices on one
// port are an error, since an access port carries one VLAN.
func Compile(cfg *policy.Config, res *engine.Result, devices map[string]inventory.Device) (*Intent, []Warning, error) {
	if cfg == nil || res == nil {
		return nil, nil, errors.New("compiling intent: no policy or no evaluation; evaluate the policy first")
	}
	c := &compiler{cfg: cfg, res: res, devices: devices}
	in := &Intent{Targets: make(map[string]*Target, len(cfg.Targets))}
	own, bySwitch := c.index()
	var errs []error
	var fw *Firewall
	for _, name := range sortedKeys(cfg.Targets) {
		t := cfg.Targets[name]
		out := &Target{Name: name, Driver: t.Driver, Roles: slices.Clone(t.Roles), Model: t.Model,
			Options: bytes.Clone(t.Options), RenderOnly: t.RenderOnly}
		if len(t.Roles) == 0 {
			errs = append(errs, fmt.Errorf("target %q has no role; give role = %q, %q or both", name, RoleFirewall, RoleAccessSwitch))
		}
		for _, role := range t.Roles {
			switch role {
			case RoleFirewall:
				if fw == nil {
					var err error
					if fw, err = c.firewall(own); err != nil {
						return nil, c.sortedWarnings(), err
					}
				}
				out.Firewall = cloneFirewall(fw)
			case RoleAccessSwitch:
				sw, err := c.switchPorts(name, bySwitch[name])
				errs = append(errs, err)
				out.Switch = sw
			default:
				errs = append(errs, fmt.Errorf("target %q: role %q is neither %q nor %q; fix the target block", name, role, RoleFirewall, RoleAccessSwitch))
			}
		}
		in.Targets[name] = out
	}
	for sw, devs := range bySwitch {
		t, ok := cfg.Targets[sw]
		switch {
		case !ok:
			for _, d := range devs {
				c.warn(sw, d.device, fmt.Sprintf("switch %q is not a target of the policy, so the VLAN of port %q is not managed; add a target block for the switch or correct the device's switch", sw, d.port))
			}
		case !t.HasRole(RoleAccessSwitch):
			for _, d := range devs {
				c.warn(sw, d.device, fmt.Sprintf("target %q is a %s, not an access switch, so it sets no port VLANs; correct the device's switch", sw, strings.Join(t.Roles, " and ")))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, c.sortedWarnings(), err
	}
	return in, c.sortedWarnings(), nil
}

type compiler struct {
	cfg      *policy.Config
	res      *engine.Result
	devices  map[string]inventory.Device
	warnings []Warning
}

func (c *compiler) warn(target, device, msg string) {
	c.warnings = append(c.warnings, Warning{Target: target, Device: device, Message: msg})
}

func (c *compiler) sortedWarnings() []Warning {
	slices.SortFunc(c.warnings, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.Device, b.Device), cmp.Compare(a.Message, b.Message))
	})
	return c.warnings
}

// attached is a device that names a switch, and its port there.
type attached struct{ port, device string }

// index reads the devices once: who owns which address, and which devices
// name which switch.
func (c *compiler) index() (*owners, map[string][]attached) {
	o := &owners{c: c, names: make([]string, 0, len(c.devices)), v4: make([]uint64, 0, len(c.devices)), shared: map[netip.Addr]string{}}
	bySwitch := map[string][]attached{}
	for name, d := range c.devices {
		if d.Switch != "" {
			bySwitch[d.Switch] = append(bySwitch[d.Switch], attached{d.Port, name}) // trimmed by inventory.Validate
		}
		if !d.IP.IsValid() {
			continue
		}
		a := d.IP.Unmap()
		if a.Is4() {
			o.v4 = append(o.v4, addrNum(a).lo<<32|uint64(len(o.names)))
		} else {
			o.v6 = append(o.v6, ownedAddr{addrNum(a.WithZone("")), name})
		}
		o.names = append(o.names, name)
	}
	o.build()
	return o, bySwitch
}

// switchPorts is the intent of one access switch; devs are the devices
// that name it.
func (c *compiler) switchPorts(name string, devs []attached) (*Switch, error) {
	sw := &Switch{Ports: make([]PortVLAN, 0, len(devs))}
	if q := c.cfg.Quarantine; q != nil {
		sw.QuarantineVLAN = q.VLAN
	}
	// In port order, so that two devices on one port are neighbours:
	// interface names are case-insensitive on every switch OS Ward drives.
	// The sort keys share one buffer: a string each would be 100,000
	// allocations at hospital scale.
	size := 0
	for _, d := range devs {
		size += len(d.port) + 4
	}
	buf := make([]byte, 0, size)
	ends := make([]int, len(devs))
	order := make([]int, len(devs))
	for i, d := range devs {
		buf = appendPortKey(buf, d.port)
		ends[i], order[i] = len(buf), i
	}
	key := func(i int) []byte {
		if i == 0 {
			return buf[:ends[0]]
		}
		return buf[ends[i-1]:ends[i]]
	}
	slices.SortFunc(order, func(i, j int) int {
		return cmp.Or(bytes.Compare(key(i), key(j)), strings.Compare(devs[i].port, devs[j].port), strings.Compare(devs[i].device, devs[j].device))
	})
	sorted := make([]attached, len(devs))
	for i, k := range order {
		sorted[i] = devs[k]
	}
	devs = sorted
	var errs []error
	first := 0 // the first device on the current port
	for i, d := range devs {
		if d.port == "" {
			c.warn(name, d.device, "the device names the switch but no port; add its port to the inventory")
			continue
		}
		if i > 0 && strings.EqualFold(devs[first].port, d.port) {
			errs = append(errs, fmt.Errorf("target %q port %q: devices %q and %q are both on it, and an access port carries one VLAN; correct the switch or port of one of them in the inventory", name, d.port, devs[first].device, d.device))
			continue
		}
		first = i
		zone, ok := c.res.Zone[d.device]
		if !ok {
			c.warn(name, d.device, fmt.Sprintf("port %q is left as it is: %s", d.port, c.noZone(d.device)))
			continue
		}
		z := c.cfg.Zones[zone]
		if z == nil || z.VLAN == 0 {
			c.warn(name, d.device, fmt.Sprintf("port %q is left as it is: zone %q has no vlan; give the zone a vlan to manage its ports", d.port, zone))
			continue
		}
		sw.Ports = append(sw.Ports, PortVLAN{Port: d.port, VLAN: z.VLAN, Device: d.device, Zone: zone})
	}
	return sw, errors.Join(errs...)
}

func (c *compiler) noZone(device string) string {
	if zs := c.res.Conflicts[device]; len(zs) > 0 {
		q := make([]string, len(zs))
		for i, z := range zs {
			q[i] = strconv.Quote(z)
		}
		return fmt.Sprintf("the device has no zone, because zones %s all match it; set priority on one of them", strings.Join(q, ", "))
	}
	return "the device has no zone; add a match block that selects it, or settings.default_zone"
}

// comparePorts orders interface names as people read them: ignoring case,
// with runs of digits by value, so Gi1/0/2 comes before gi1/0/10; names
// equal but for case (or leading zeros) are ordered as strings.
func comparePorts(a, b string) int {
	return cmp.Or(strings.Compare(portKey(a), portKey(b)), strings.Compare(a, b))
}

// portKey is a port name that sorts as comparePorts does when compared as
// bytes: lower case, and each run of digits as \x01, its length without
// leading zeros, and those digits.
func portKey(p string) string { return string(appendPortKey(nil, p)) }

func appendPortKey(b []byte, p string) []byte {
	for i := 0; i < len(p); {
		if !isDigit(p[i]) {
			c := p[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		j := i
		for j < len(p) && isDigit(p[j]) {
			j++
		}
		run := strings.TrimLeft(p[i:j], "0")
		b = append(b, 1, byte(min(len(run), 255)))
		b = append(b, run...)
		i = j
	}
	return b
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// firewall builds the ruleset every firewall target carries.
func (c *compiler) firewall(own *owners) (*Firewall, error) {
	zoneSet := SetNames(ZoneSetPrefix, sortedKeys(c.cfg.Zones))
	netSet := SetNames(NetworkSetPrefix, sortedKeys(c.cfg.Networks))
	setName := func(r policy.DocRef, where string) (string, error) {
		switch {
		case r.Kind == string(policy.RefZone) && c.cfg.Zones[r.Name] != nil:
			return zoneSet[r.Name], nil
		case r.Kind == string(policy.RefNetwork) && c.cfg.Networks[r.Name] != nil:
			return netSet[r.Name], nil
		}
		return "", fmt.Errorf("%s refers to %s.%s, which the policy does not declare; re-evaluate the policy", where, r.Kind, r.Name)
	}

	zones, networks := map[string]bool{}, map[string]bool{}
	need := func(r policy.DocRef) {
		if r.Kind == string(policy.RefZone) {
			zones[r.Name] = true
		} else {
			networks[r.Name] = true
		}
	}
	fw := &Firewall{Sets: []AddressSet{}, Rules: []Rule{}, Monitor: []string{}, DefaultAction: "drop",
		Quarantine: Quarantine{IsolateSet: IsolateSet, RestrictSet: RestrictSet, Remediation: []string{}}}

	for _, fname := range sortedKeys(c.res.Flows) {
		f := c.res.Flows[fname]
		where := fmt.Sprintf("flow %q", fname)
		svcs := make([]*policy.Service, len(f.Services))
		for i, s := range f.Services {
			if svcs[i] = c.cfg.Services[s]; svcs[i] == nil {
				return nil, fmt.Errorf("%s uses service %q, which the policy does not declare; re-evaluate the policy", where, s)
			}
		}
		for _, from := range f.From {
			need(from)
			fromSet, err := setName(from, where)
			if err != nil {
				return nil, err
			}
			for _, to := range f.To {
				need(to)
				toSet, err := setName(to, where)
				if err != nil {
					return nil, err
				}
				for _, s := range svcs {
					fw.Rules = append(fw.Rules, serviceRules(Rule{Flow: fname, Service: s.Name, From: fromSet, To: toSet, Essential: f.Essential}, s)...)
				}
			}
		}
	}
	if q := c.cfg.Quarantine; q != nil {
		for _, r := range q.Remediation {
			dr := policy.DocRef{Kind: string(r.Kind), Name: r.Name}
			need(dr)
			name, err := setName(dr, "quarantine remediation")
			if err != nil {
				return nil, err
			}
			fw.Quarantine.Remediation = append(fw.Quarantine.Remediation, name)
		}
	}
	// A monitor zone needs its set even with no flow: what no rule accepts
	// from or to it is logged and accepted, not dropped.
	for name, z := range c.cfg.Zones {
		if z.Enforcement == "monitor" {
			zones[name] = true
			fw.Monitor = append(fw.Monitor, zoneSet[name])
		}
	}
	slices.Sort(fw.Monitor)
	if s := c.cfg.Settings; s != nil && s.DefaultAction == "allow" {
		fw.DefaultAction = "accept"
	}

	for _, name := range sortedKeys(zones) {
		set := own.zoneSet(name, c.res.Addresses[name])
		fw.Sets = append(fw.Sets, AddressSet{Name: zoneSet[name], Kind: "zone", Of: name, V4: set.v4.prefixes(true), V6: set.v6.prefixes(false)})
	}
	for _, name := range sortedKeys(networks) {
		set, overlap := own.networkSet(c.cfg.Networks[name])
		if len(overlap) > 0 {
			c.warn("", "", fmt.Sprintf("network %q overlaps zones %s: addresses in a zone count as the zone, so flows naming the network do not cover them (as in ward query reach)", name, quoteList(overlap)))
		}
		fw.Sets = append(fw.Sets, AddressSet{Name: netSet[name], Kind: "network", Of: name, V4: set.v4.prefixes(true), V6: set.v6.prefixes(false)})
	}
	slices.SortFunc(fw.Sets, func(a, b AddressSet) int { return cmp.Compare(a.Name, b.Name) })
	for name, z := range c.cfg.Zones {
		if z.VLAN == 0 {
			continue
		}
		zone := Zone{Name: name, VLAN: z.VLAN, Monitor: z.Enforcement == "monitor"}
		if zones[name] {
			zone.Set = zoneSet[name]
		}
		fw.Zones = append(fw.Zones, zone)
	}
	slices.SortFunc(fw.Zones, func(a, b Zone) int { return cmp.Or(cmp.Compare(a.VLAN, b.VLAN), cmp.Compare(a.Name, b.Name)) })
	return fw, nil
}

// serviceRules is one rule per protocol of s, filled in from base.
func serviceRules(base Rule, s *policy.Service) []Rule {
	var out []Rule
	for _, p := range []struct {
		proto string
		ports []policy.PortRange
	}{{"tcp", s.TCP}, {"udp", s.UDP}} {
		if len(p.ports) > 0 {
			r := base
			r.Proto, r.Ports = p.proto, mergePorts(p.ports)
			out = append(out, r)
		}
	}
	for _, p := range []struct {
		proto string
		types []string
	}{{"icmp", s.ICMP}, {"icmpv6", s.ICMPv6}} {
		if p.types != nil {
			r := base
			r.Proto = p.proto
			if len(p.types) > 0 {
				r.ICMPTypes = slices.Compact(slices.Sorted(slices.Values(p.types)))
			}
			out = append(out, r)
		}
	}
	return out
}

// mergePorts sorts port ranges and merges those that overlap or touch.
func mergePorts(in []policy.PortRange) []Ports {
	ps := make([]Ports, len(in))
	for i, r := range in {
		ps[i] = Ports{From: r.From, To: r.To}
	}
	slices.SortFunc(ps, func(a, b Ports) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && p.From <= out[n-1].To+1 {
			out[n-1].To = max(out[n-1].To, p.To)
			continue
		}
		out = append(out, p)
	}
	return out
}

// owners decides which addresses belong to which zone, as engine.Reach
// does: a device's address is its device's (the first by name when devices
// share it); any other address is the zone's whose subnet holding it is
// the most specific (on a tie, the zone first by name). The devices must be
// those the evaluation placed.
type owners struct {
	c *compiler
	// names are the devices with an address; v4 holds each one's IPv4
	// address and index in names as addr<<32 | index, sorted; v6 the IPv6
	// ones, sorted by address and name.
	names []string
	v4    []uint64
	v6    []ownedAddr
	// shared maps an address several devices have to its owner.
	shared map[netip.Addr]string
	// claimed is every device address.
	claimed addrSet
	// subnets are every zone's subnets, by zone name; zoned is all of them.
	subnets []zoneSubnet
	zoned   addrSet
}

type ownedAddr struct {
	n      u128
	device string
}

type zoneSubnet struct {
	prefix netip.Prefix
	zone   string
}

// build sorts the device addresses and finds shared ones. At 100,000
// devices this is much of Compile's work, so IPv4 addresses are sorted as
// packed integers.
func (o *owners) build() {
	c := o.c
	slices.Sort(o.v4)
	slices.SortFunc(o.v6, func(a, b ownedAddr) int { return cmp.Or(a.n.cmp(b.n), cmp.Compare(a.device, b.device)) })

	var claimed setBuilder
	claimed.v4 = make([]span, 0, len(o.v4))
	var run []string // devices sharing the current address
	for i, k := range o.v4 {
		n := u128{0, k >> 32}
		run = append(run, o.names[k&0xffffffff])
		if i+1 < len(o.v4) && o.v4[i+1]>>32 == k>>32 {
			continue
		}
		claimed.v4 = append(claimed.v4, span{n, n})
		o.share(numAddr(n, true), run)
		run = run[:0]
	}
	for i, d := range o.v6 {
		run = append(run, d.device)
		if i+1 < len(o.v6) && o.v6[i+1].n == d.n {
			continue
		}
		claimed.v6 = append(claimed.v6, span{d.n, d.n})
		o.share(numAddr(d.n, false), run)
		run = run[:0]
	}

	var zoned setBuilder
	for _, name := range sortedKeys(c.cfg.Zones) {
		for _, p := range c.cfg.Zones[name].Subnets {
			o.subnets = append(o.subnets, zoneSubnet{p.Masked(), name})
			zoned.addPrefix(p)
		}
	}
	o.claimed, o.zoned = claimed.build(), zoned.build()
}

// share records the owner of an address several devices have, and warns
// about the others.
func (o *owners) share(a netip.Addr, devices []string) {
	if len(devices) < 2 {
		return
	}
	slices.Sort(devices)
	first := devices[0]
	o.shared[a] = first
	for _, d := range devices[1:] {
		o.c.warn("", d, fmt.Sprintf("the device has the same address (%s) as device %q, so the address counts as %q's, in %s; correct the inventory",
			a, first, first, o.c.zoneOf(first)))
	}
}

func (c *compiler) zoneOf(device string) string {
	if z, ok := c.res.Zone[device]; ok {
		return fmt.Sprintf("zone %q", z)
	}
	return "no zone"
}

// ownedBy reports whether device address a counts as zone's: false only
// when another device, first by name, has the address and another zone.
func (o *owners) ownedBy(a netip.Addr, zone string) bool {
	owner, ok := o.shared[a]
	return !ok || o.c.res.Zone[owner] == zone
}

// devicesIn calls f with every device whose address is in s.
func (o *owners) devicesIn(s addrSet, f func(device string)) {
	for _, x := range s.v4 {
		i, _ := slices.BinarySearch(o.v4, x.lo.lo<<32)
		for ; i < len(o.v4) && o.v4[i]>>32 <= x.hi.lo; i++ {
			f(o.names[o.v4[i]&0xffffffff])
		}
	}
	for _, x := range s.v6 {
		i, _ := slices.BinarySearchFunc(o.v6, x.lo, func(d ownedAddr, n u128) int { return d.n.cmp(n) })
		for ; i < len(o.v6) && o.v6[i].n.cmp(x.hi) <= 0; i++ {
			f(o.v6[i].device)
		}
	}
}

// zoneSet is the addresses of zone name: members are its evaluated address
// set (device addresses and subnets).
func (o *owners) zoneSet(name string, members map[string]struct{}) addrSet {
	devs := setBuilder{v4: make([]span, 0, len(members))}
	var subnets setBuilder
	for m := range members {
		if a, err := netip.ParseAddr(m); err == nil {
			a = a.Unmap()
			if o.ownedBy(a, name) {
				devs.addAddr(a)
			}
			continue
		}
		p, err := netip.ParsePrefix(m)
		if err != nil {
			continue
		}
		p = p.Masked()
		// Subnets of other zones nested inside p, or equal to it and first
		// by name, take their addresses from this zone.
		var inner setBuilder
		for _, s := range o.subnets {
			if s.zone == name || s.prefix.Addr().Is4() != p.Addr().Is4() || !p.Overlaps(s.prefix) {
				continue
			}
			if s.prefix.Bits() > p.Bits() || (s.prefix.Bits() == p.Bits() && s.zone < name) {
				inner.addPrefix(s.prefix)
			}
		}
		var one setBuilder
		one.addPrefix(p)
		own := one.build().minus(inner.build())
		subnets.v4 = append(subnets.v4, own.v4...)
		subnets.v6 = append(subnets.v6, own.v6...)
	}
	return devs.build().union(subnets.build().minus(o.claimed))
}

// networkSet is the addresses of network n outside every zone and device,
// and the zones it overlaps, by name.
func (o *owners) networkSet(n *policy.Network) (addrSet, []string) {
	var b setBuilder
	for _, p := range n.CIDRs {
		b.addPrefix(p)
	}
	all := b.build()
	var overlap []string
	if all.intersects(o.zoned) {
		for _, s := range o.subnets {
			var one setBuilder
			one.addPrefix(s.prefix)
			if one.build().intersects(all) {
				overlap = append(overlap, s.zone)
			}
		}
	}
	o.devicesIn(all, func(d string) {
		if z, ok := o.c.res.Zone[d]; ok {
			overlap = append(overlap, z)
		}
	})
	slices.Sort(overlap)
	return all.minus(o.zoned).minus(o.claimed), slices.Compact(overlap)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func cloneFirewall(fw *Firewall) *Firewall {
	out := *fw
	out.Sets = make([]AddressSet, len(fw.Sets))
	for i, s := range fw.Sets {
		s.V4, s.V6 = slices.Clone(s.V4), slices.Clone(s.V6)
		out.Sets[i] = s
	}
	out.Rules = make([]Rule, len(fw.Rules))
	for i, r := range fw.Rules {
		r.Ports, r.ICMPTypes = slices.Clone(r.Ports), slices.Clone(r.ICMPTypes)
		out.Rules[i] = r
	}
	out.Monitor = slices.Clone(fw.Monitor)
	out.Quarantine.Remediation = slices.Clone(fw.Quarantine.Remediation)
	out.Zones = slices.Clone(fw.Zones)
	return &out
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
