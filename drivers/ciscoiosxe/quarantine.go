package ciscoiosxe

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/wardnet/ward/drivers"
)

// Quarantine is one small change, never a re-push (drivers.SetUpdater,
// drivers.VLANSetter): an address added to or removed from a quarantine
// object-group (docObjGroup: members change in place, and every ACL naming
// the group follows at once), or an access port moved to the quarantine
// VLAN and back (docL2). The object-groups keep a placeholder member, so
// releasing the last device never empties a group an ACL uses, which IOS
// refuses.

// quarantineAddrs checks addresses for a quarantine set: IPv4 addresses
// or prefixes, written as object-group entries.
func quarantineAddrs(addrs []string) ([]string, error) {
	var out []string
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			ad, err2 := netip.ParseAddr(a)
			if err2 != nil {
				return nil, fmt.Errorf("%w: %q is not an IPv4 address or prefix", drivers.ErrInvalidConfig, a)
			}
			p = netip.PrefixFrom(ad, ad.BitLen())
		}
		if !p.Addr().Is4() || p.Masked() != p {
			return nil, fmt.Errorf("%w: %q is not an IPv4 address or prefix (this driver writes IPv4 ACLs only)", drivers.ErrInvalidConfig, a)
		}
		if p == netip.MustParsePrefix(placeholder) {
			return nil, fmt.Errorf("%w: %s is the placeholder every quarantine object-group keeps", drivers.ErrInvalidConfig, a)
		}
		out = append(out, groupEntry(p))
	}
	return out, nil
}

// quarantineGroup finds set among the quarantine object-groups Ward wrote.
func quarantineGroup(ctx context.Context, s drivers.Session, set string) (*running, error) {
	if !setName.MatchString(set) {
		return nil, fmt.Errorf("%s: %w: set name %q", driverName, drivers.ErrInvalidConfig, set)
	}
	r, err := readRunning(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, g := range r.dev.groups {
		if g.name == set && (g.kind == "isolate" || g.kind == "restrict") {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%s: %q is not a quarantine object-group on the switch (apply the policy first)", driverName, set)
}

func (d *driver) changeSet(ctx context.Context, s drivers.Session, set string, addrs []string, remove bool) error {
	c, err := configurer(s)
	if err != nil {
		return err
	}
	entries, err := quarantineAddrs(addrs)
	if err != nil || len(entries) == 0 {
		return err
	}
	if _, err := quarantineGroup(ctx, s, set); err != nil {
		return err
	}
	lines := []string{"object-group network " + set}
	for _, e := range entries {
		if remove {
			e = "no " + e
		}
		lines = append(lines, e)
	}
	if _, err := c.Configure(ctx, "", append(lines, "end")); err != nil {
		return fmt.Errorf("%s: changing quarantine object-group %s: %w", driverName, set, err)
	}
	return nil
}

// AddToSet adds addresses to a quarantine object-group.
func (d *driver) AddToSet(ctx context.Context, s drivers.Session, set string, addrs []string) error {
	return d.changeSet(ctx, s, set, addrs, false)
}

// RemoveFromSet removes addresses from a quarantine object-group; one that
// is not there is no error.
func (d *driver) RemoveFromSet(ctx context.Context, s drivers.Session, set string, addrs []string) error {
	return d.changeSet(ctx, s, set, addrs, true)
}

// ReadQuarantine reads the quarantine object-groups' members (the
// placeholder left out; a host as its address) and the ports in the
// quarantine VLAN, with the VLAN their description says they belong in.
func (d *driver) ReadQuarantine(ctx context.Context, s drivers.Session) (drivers.QuarantineState, error) {
	r, err := readRunning(ctx, s)
	if err != nil {
		return drivers.QuarantineState{}, err
	}
	q := drivers.QuarantineState{}
	for _, g := range r.dev.groups {
		if g.kind != "isolate" && g.kind != "restrict" {
			continue
		}
		if q.Sets == nil {
			q.Sets = map[string][]string{}
		}
		members := []string{}
		for _, p := range g.members {
			switch {
			case p == netip.MustParsePrefix(placeholder):
			case p.IsSingleIP():
				members = append(members, p.Addr().String())
			default:
				members = append(members, p.String())
			}
		}
		slices.Sort(members)
		q.Sets[g.name] = members
	}
	for _, p := range r.dev.ports {
		if r.dev.qvlan != 0 && p.vlan == r.dev.qvlan && p.home != r.dev.qvlan {
			if q.Ports == nil {
				q.Ports = map[string]int{}
			}
			q.Ports[p.name] = p.home
		}
	}
	return q, nil
}

// SetPortVLAN moves one of Ward's access ports to vlan (the quarantine
// VLAN, or back to its own): switchport access vlan N.
func (d *driver) SetPortVLAN(ctx context.Context, s drivers.Session, portName string, vlan int) error {
	c, err := configurer(s)
	if err != nil {
		return err
	}
	name, _, err := canonicalInterface(portName)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", driverName, drivers.ErrInvalidConfig, err)
	}
	if vlan < 1 || vlan > 4094 {
		return fmt.Errorf("%s: %w: VLAN %d: want 1-4094", driverName, drivers.ErrInvalidConfig, vlan)
	}
	r, err := readRunning(ctx, s)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(r.dev.ports, func(p *port) bool { return p.name == name }) {
		return fmt.Errorf("%s: port %s is not one Ward manages on the switch (no ward description); apply the policy first", driverName, name)
	}
	if _, err := c.Configure(ctx, "", []string{"interface " + name, "switchport access vlan " + strconv.Itoa(vlan), "end"}); err != nil {
		return fmt.Errorf("%s: moving port %s to VLAN %d: %w", driverName, name, vlan, err)
	}
	return nil
}

// CanonicalPort spells an interface name as IOS shows it (Gi1/0/5 is
// GigabitEthernet1/0/5).
func (d *driver) CanonicalPort(name string) (string, error) {
	full, _, err := canonicalInterface(name)
	return full, err
}

var _ drivers.PortNamer = (*driver)(nil)
