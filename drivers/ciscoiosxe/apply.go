package ciscoiosxe

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/netsession"
)

// configurer is the network-OS session the driver needs.
func configurer(s drivers.Session) (netsession.Configurer, error) {
	c, ok := s.(netsession.Configurer)
	if !ok {
		return nil, fmt.Errorf("%s: the session is not a network-OS session (drivers/netsession); dial the target with the driver's platform definition", driverName)
	}
	return c, nil
}

// desired parses cfg and builds the configuration Apply sends from the
// model, so no text of cfg reaches the device as it was handed in: names,
// addresses and entries are Ward's own, rebuilt and checked.
func desired(cfg drivers.Config) (*device, error) {
	t, err := Parse(cfg.Text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", drivers.ErrInvalidConfig, err)
	}
	if t.Firewall == nil && t.Switch == nil {
		return &device{}, nil // nothing: Ward's part is removed
	}
	d, err := build(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", drivers.ErrInvalidConfig, err)
	}
	return d, nil
}

// running is what the device holds: its whole show running-config, and
// the part of it Ward manages.
type running struct {
	text        string
	dev         *device
	archivePath string
}

func readRunning(ctx context.Context, s drivers.Session) (*running, error) {
	out, err := s.Run(ctx, "show running-config")
	if err != nil {
		return nil, fmt.Errorf("%s: reading the running configuration: %w", driverName, err)
	}
	d, err := readDevice(out, false)
	if err != nil {
		return nil, fmt.Errorf("%s: the running configuration holds a part Ward manages that it cannot read: %w", driverName, err)
	}
	r := &running{text: out, dev: d}
	inArchive := false
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		switch {
		case l == "archive":
			inArchive = true
		case inArchive && strings.HasPrefix(l, " path "):
			r.archivePath = strings.TrimPrefix(l, " path ")
		case !strings.HasPrefix(l, " "):
			inArchive = false
		}
	}
	return r, nil
}

// Running reads the part of the running configuration Ward manages, in the
// form Render writes (entries as the switch prints them: eq www; ACLs
// bound to no interface left out). It leaves quarantine out: the quarantine object-groups are shown with their
// placeholder only, and a port in the quarantine VLAN in the VLAN its
// description says it belongs in.
func (d *driver) Running(ctx context.Context, s drivers.Session) (drivers.Config, error) {
	r, err := readRunning(ctx, s)
	if err != nil {
		return drivers.Config{}, err
	}
	return drivers.Config{Text: withoutQuarantine(r.dev).text()}, nil
}

func withoutQuarantine(d *device) *device {
	out := *d
	out.groups = nil
	for _, g := range d.groups {
		if g.kind == "isolate" || g.kind == "restrict" {
			h := *g
			h.members = []netip.Prefix{netip.MustParsePrefix(placeholder)}
			g = &h
		}
		out.groups = append(out.groups, g)
	}
	// An ACL bound nowhere enforces nothing (a failed apply's leftover,
	// which the next apply removes).
	bound := map[string]bool{}
	for _, b := range d.binds {
		bound[b.acl] = true
	}
	out.acls = nil
	for _, a := range d.acls {
		if bound[a.name] {
			out.acls = append(out.acls, a)
		}
	}
	out.ports = nil
	for _, p := range d.ports {
		if d.qvlan != 0 && p.vlan == d.qvlan && p.home != d.qvlan {
			q := *p
			q.vlan = p.home
			p = &q
		}
		out.ports = append(out.ports, p)
	}
	return &out
}

// Apply makes the switch run cfg, the way Cisco documents for a change
// that may cut the operator off (docConfirm, docReplace):
//
//  1. cfg is parsed and rebuilt; anything Ward does not write is refused
//     before a command is sent (drivers.ErrInvalidConfig);
//  2. the running configuration is read; with no archive, one is
//     configured (archive / path, the confirm_minutes option's need);
//  3. configure terminal revert timer N: the switch keeps the running
//     configuration as a rollback point and restores it by itself
//     unless configure confirm comes within N minutes;
//  4. the change: new object-groups and ACLs under new names (a content
//     hash), then each VLAN interface's ip access-group is swapped to the
//     new ACL (one command: the interface is never without an ACL), then
//     the old ACLs and groups are removed; access ports last;
//  5. end, show running-config, compared with cfg by model;
//  6. configure confirm (and write memory with save_config).
//
// A line the switch refuses, or a read back that differs, is followed by
// configure revert now: the previous configuration is back in force and
// the error says so. A session lost after the change began leaves the
// revert timer to restore the previous configuration.
func (d *driver) Apply(ctx context.Context, s drivers.Session, cfg drivers.Config) error {
	want, err := desired(cfg)
	if err != nil {
		return err
	}
	p, err := d.applyTimed(ctx, s, want, time.Duration(d.confirmMinutes)*time.Minute)
	if err != nil || p.ID == "" {
		return err
	}
	c, _ := configurer(s)
	r, err := readRunning(ctx, s)
	if err != nil {
		if errors.Is(err, drivers.ErrSessionBroken) {
			return fmt.Errorf("%w; the change was not confirmed, so the switch restores the previous configuration by itself within %d minutes (revert timer): %w", drivers.ErrOutcomeUnknown, d.confirmMinutes, err)
		}
		return d.revert(ctx, c, fmt.Errorf("reading the change back: %w", err))
	}
	got := withoutQuarantine(r.dev)
	if err := sameEnforcement(want, got); err != nil {
		return d.revert(ctx, c, fmt.Errorf("the switch runs something else than what was sent: %w", err))
	}
	if err := d.Confirm(ctx, s, p); err != nil {
		if errors.Is(err, drivers.ErrSessionBroken) {
			return err
		}
		return d.revert(ctx, c, err)
	}
	if d.save {
		if _, err := s.Run(ctx, "write memory"); err != nil {
			return fmt.Errorf("%w: saving it to the startup configuration (write memory) failed, so the switch would start without it: %w", drivers.ErrNotVerified, err)
		}
	}
	return nil
}

// sameEnforcement compares two managed configurations by their models.
func sameEnforcement(want, got *device) error {
	w, err := want.model()
	if err != nil {
		return err
	}
	g, err := got.model()
	if err != nil {
		return err
	}
	if !intent.SameEnforcement(w, g) {
		return fmt.Errorf("read back:\n%s", got.text())
	}
	return nil
}

// ApplyConfirmed makes the switch run cfg under a revert timer of within
// (rounded up to whole minutes, 1-120): unless Confirm comes in time, the
// switch restores the previous configuration by itself (docConfirm).
func (d *driver) ApplyConfirmed(ctx context.Context, s drivers.Session, cfg drivers.Config, within time.Duration) (drivers.Pending, error) {
	want, err := desired(cfg)
	if err != nil {
		return drivers.Pending{}, err
	}
	return d.applyTimed(ctx, s, want, within)
}

// Confirm keeps the change: configure confirm.
func (d *driver) Confirm(ctx context.Context, s drivers.Session, p drivers.Pending) error {
	if p.ID == "" {
		return nil // nothing was changed, nothing waits
	}
	if _, err := s.Run(ctx, "configure confirm"); err != nil {
		if errors.Is(err, drivers.ErrSessionBroken) {
			return fmt.Errorf("%w: configure confirm: the switch restores the previous configuration by the revert timer unless the confirm arrived: %w", drivers.ErrOutcomeUnknown, err)
		}
		return fmt.Errorf("%s: configure confirm refused (the revert timer may have run out, and the previous configuration be back): %w", driverName, err)
	}
	return nil
}

// applyTimed sends the change from the running configuration to want
// under a revert timer. With nothing to change it sends nothing and
// returns a Pending without ID.
func (d *driver) applyTimed(ctx context.Context, s drivers.Session, want *device, within time.Duration) (drivers.Pending, error) {
	c, err := configurer(s)
	if err != nil {
		return drivers.Pending{}, err
	}
	minutes := int((within + time.Minute - 1) / time.Minute)
	if minutes < 1 || minutes > 120 {
		return drivers.Pending{}, fmt.Errorf("%s: a revert timer of %s: the switch takes 1 to 120 minutes (%s); nothing was changed", driverName, within, docConfirm)
	}
	r, err := readRunning(ctx, s)
	if err != nil {
		return drivers.Pending{}, err
	}
	if err := pendingRevert(ctx, s); err != nil {
		return drivers.Pending{}, err
	}
	cmds, err := changes(want, r.dev)
	if err != nil {
		return drivers.Pending{}, fmt.Errorf("%s: %w; nothing was changed", driverName, err)
	}
	if len(cmds) == 0 {
		return drivers.Pending{}, nil
	}
	if r.archivePath == "" {
		// The revert timer and configure replace need the archive
		// (docReplace; "%Please turn config archive on" without it).
		if _, err := c.Configure(ctx, "", []string{"archive", "path " + d.archivePath, "end"}); err != nil {
			return drivers.Pending{}, fmt.Errorf("%s: configuring the archive (path %s), which the revert timer needs: %w; nothing of the policy was changed", driverName, d.archivePath, err)
		}
	}
	start := time.Now()
	if err := c.Acquire(ctx, "privilege-exec"); err != nil {
		return drivers.Pending{}, fmt.Errorf("%s: %w; nothing was changed", driverName, err)
	}
	if _, err := c.Interact(ctx, "configure terminal revert timer "+strconv.Itoa(minutes)); err != nil {
		if errors.Is(err, drivers.ErrSessionBroken) {
			return drivers.Pending{}, fmt.Errorf("%w: configure terminal revert timer: %w", drivers.ErrOutcomeUnknown, err)
		}
		return drivers.Pending{}, fmt.Errorf("%s: the switch refused the revert timer: %w; nothing was changed", driverName, err)
	}
	if _, err := c.Configure(ctx, "", append(cmds, "end")); err != nil {
		if errors.Is(err, drivers.ErrSessionBroken) {
			return drivers.Pending{}, fmt.Errorf("%w: the session failed during the change (%w); unless confirmed, the switch restores the previous configuration by itself within %d minutes of %s (revert timer)", drivers.ErrOutcomeUnknown, err, minutes, start.UTC().Format(time.RFC3339))
		}
		return drivers.Pending{}, d.revert(ctx, c, fmt.Errorf("%w: %w", drivers.ErrCheckFailed, err))
	}
	return drivers.Pending{ID: "revert-timer", Deadline: start.Add(time.Duration(minutes) * time.Minute)}, nil
}

// pendingRevert refuses to start while another rollback-confirmed change
// waits (its rollback point would be the one the timer restores).
func pendingRevert(ctx context.Context, s drivers.Session) error {
	out, err := s.Run(ctx, "show archive config rollback timer")
	var rej *netsession.Rejected
	switch {
	case err == nil:
		return fmt.Errorf("%s: another rollback-confirmed change is pending on the switch (%s); wait for its timer or confirm it (configure confirm), then apply again; nothing was changed", driverName, strings.TrimSpace(out))
	case errors.As(err, &rej) && strings.Contains(rej.Output, "No Rollback Confirmed Change pending"):
		return nil
	case errors.As(err, &rej) && strings.Contains(rej.Output, "Please turn config archive on"):
		return nil
	}
	return fmt.Errorf("%s: %w; nothing was changed", driverName, err)
}

// revert puts the rollback point back (configure revert now) after a
// failure the session survived, and says which configuration runs.
func (d *driver) revert(ctx context.Context, c netsession.Configurer, cause error) error {
	if err := c.Acquire(ctx, "privilege-exec"); err == nil {
		_, err = c.Run(ctx, "configure revert now")
		var rej *netsession.Rejected
		switch {
		case err == nil:
			return fmt.Errorf("%s: %w; configure revert now put the previous configuration back in force", driverName, cause)
		case errors.As(err, &rej) && strings.Contains(rej.Output, "No Rollback Confirmed Change pending"):
			return fmt.Errorf("%s: %w; the revert timer had already put the previous configuration back in force (nothing was pending)", driverName, cause)
		}
		return fmt.Errorf("%w: %s: %w; configure revert now failed too (%w): the switch restores the previous configuration when the revert timer runs out", drivers.ErrOutcomeUnknown, driverName, cause, err)
	} else {
		return fmt.Errorf("%w: %s: %w; the session failed before configure revert now (%w): the switch restores the previous configuration when the revert timer runs out", drivers.ErrOutcomeUnknown, driverName, cause, err)
	}
}

// changes is the configuration commands that take the switch from have
// to want, in an order that never leaves a zone VLAN without its ACL:
// the quarantine VLAN and object-groups first, new ACLs, the bindings
// swapped, then the old ACLs and groups removed; access ports and their
// releases (description removed, VLAN left as it is) last.
func changes(want, have *device) ([]string, error) {
	var out []string
	add := func(lines ...string) { out = append(out, lines...) }

	if want.qvlan != 0 && want.qvlan != have.qvlan {
		add("vlan "+strconv.Itoa(want.qvlan), "name "+quarantineVLANName, "exit")
	}

	haveGroups := map[string]*group{}
	for _, g := range have.groups {
		haveGroups[g.name] = g
	}
	wantGroups := map[string]bool{}
	for _, g := range want.groups {
		wantGroups[g.name] = true
		h := haveGroups[g.name]
		quarantine := g.kind == "isolate" || g.kind == "restrict"
		var lines []string
		if h == nil || h.description() != g.description() {
			lines = append(lines, "description "+g.description())
		}
		for _, p := range g.members {
			if h == nil || !slices.Contains(h.members, p) {
				lines = append(lines, groupEntry(p))
			}
		}
		if h != nil && !quarantine {
			// Apply never changes quarantine members; other groups are
			// put right in place (add first: never emptied while used).
			for _, p := range h.members {
				if !slices.Contains(g.members, p) {
					lines = append(lines, "no "+groupEntry(p))
				}
			}
		}
		if len(lines) > 0 {
			add("object-group network " + g.name)
			add(lines...)
			add("exit")
		}
	}

	haveACLs := map[string]*acl{}
	bound := map[string]bool{}
	for _, a := range have.acls {
		haveACLs[a.name] = a
	}
	for _, b := range have.binds {
		bound[b.acl] = true
	}
	same := func(h, a *acl) bool {
		he, err1 := normalEntries(h.entries)
		we, err2 := normalEntries(a.entries)
		return err1 == nil && err2 == nil && slices.Equal(he, we)
	}
	wantACLs := map[string]bool{}
	for _, a := range want.acls {
		// The content's name, or (when an ACL under it was edited on the
		// switch) a second name from the same content: a bound ACL is
		// never rewritten in place.
		base := aclName.FindStringSubmatch(a.name)[1]
		names := []string{a.name, "ward_" + base + "-" + hash8(append(slices.Clone(a.entries), "again")...)}
		name := ""
		for _, n := range names {
			if h := haveACLs[n]; h == nil || same(h, a) {
				name = n
				break
			}
		}
		if name == "" {
			for _, n := range names {
				if !bound[n] {
					name = n
					add("no ip access-list extended " + n)
					delete(haveACLs, n)
					break
				}
			}
		}
		if name == "" {
			return nil, fmt.Errorf("ACLs %s and %s were both edited on the switch and are both bound; remove one by hand", names[0], names[1])
		}
		if name != a.name {
			for i := range want.binds {
				if want.binds[i].acl == a.name {
					want.binds[i].acl = name
				}
			}
		}
		wantACLs[name] = true
		if haveACLs[name] != nil {
			continue
		}
		// Entries with their sequence numbers (docACL), so an entry equal
		// to an earlier one (a rule both essential and not) is kept in
		// its place.
		add("ip access-list extended " + name)
		for i, e := range a.entries {
			add(strconv.Itoa((i+1)*10) + " " + e)
		}
		add("exit")
	}

	haveBinds := map[int]string{}
	for _, b := range have.binds {
		haveBinds[b.vlan] = b.acl
	}
	wantBinds := map[int]bool{}
	for _, b := range want.binds {
		wantBinds[b.vlan] = true
		if haveBinds[b.vlan] != b.acl {
			add("interface Vlan"+strconv.Itoa(b.vlan), "ip access-group "+b.acl+" in", "exit")
		}
	}
	for _, b := range have.binds {
		if !wantBinds[b.vlan] {
			add("interface Vlan"+strconv.Itoa(b.vlan), "no ip access-group "+b.acl+" in", "exit")
		}
	}
	for _, a := range have.acls {
		if !wantACLs[a.name] {
			add("no ip access-list extended " + a.name)
		}
	}
	for _, g := range have.groups {
		if wantGroups[g.name] {
			continue
		}
		if (g.kind == "isolate" || g.kind == "restrict") && slices.ContainsFunc(g.members, func(p netip.Prefix) bool { return p != netip.MustParsePrefix(placeholder) }) {
			return nil, fmt.Errorf("the configuration drops quarantine object-group %s, which holds quarantined devices (%s): release them first (ward release), then apply", g.name, g.members)
		}
		add("no object-group network " + g.name)
	}

	havePorts := map[string]*port{}
	for _, p := range have.ports {
		havePorts[p.name] = p
	}
	wantPorts := map[string]bool{}
	for _, p := range want.ports {
		wantPorts[p.name] = true
		h := havePorts[p.name]
		var lines []string
		if h == nil || h.description() != p.description() {
			lines = append(lines, "description "+p.description())
		}
		if h == nil || !h.access {
			lines = append(lines, "switchport mode access")
		}
		// A port in the quarantine VLAN stays there (an apply never
		// releases a device); its description takes the VLAN it now
		// belongs in, where release moves it.
		quarantined := h != nil && have.qvlan != 0 && h.vlan == have.qvlan && h.home != have.qvlan
		if (h == nil || h.vlan != p.vlan) && !quarantined {
			lines = append(lines, "switchport access vlan "+strconv.Itoa(p.vlan))
		}
		if len(lines) > 0 {
			add("interface " + p.name)
			add(lines...)
			add("exit")
		}
	}
	for _, p := range have.ports {
		if !wantPorts[p.name] {
			add("interface "+p.name, "no description", "exit")
		}
	}
	if have.qvlan != 0 && have.qvlan != want.qvlan {
		add("no vlan " + strconv.Itoa(have.qvlan))
	}
	return out, nil
}
