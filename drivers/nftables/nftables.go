// Package nftables is Ward's driver for Linux firewalls (driver name
// "linux_nftables"). It owns one table, inet ward, and leaves every other
// table on the host alone.
//
// Render writes the whole table (see render.go for the chain layout:
// quarantine first, then established connections, the intent's rules,
// monitor zones, and the default action as the chain policy). Apply parses
// the configuration into the table model before sending anything
// (transaction.go), then copies to the device one nft script that deletes
// the table's chains and static sets and declares the new ones, checks it
// with `nft -c -f`, applies it with `nft -f` (one kernel transaction: the
// old table or the new one, never a mix) and reads it back. Quarantine sets
// are only ever declared by Apply, so their members, changed in place by
// AddToSet and RemoveFromSet, are never read and rewritten by it. Running
// lists the table and prints it the way Render does (table.go), so the two
// compare byte for byte. Spellings nft insists on are data, in quirks.go.
package nftables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/shellfile"
)

// Name is the driver's name in a target's driver attribute.
const Name = "linux_nftables"

// Options configure the driver for one kind of host.
type Options struct {
	// Sudo runs nft as "sudo -n nft", for a session user that is not root
	// but may run nft without a password.
	Sudo bool
	// ChunkSize is the longest command line Apply sends while copying the
	// script to the device; 0 means 3000, under the 4096 characters an
	// interactive terminal line holds.
	ChunkSize int
	// TempDir is where Apply writes the script on the device; "" means
	// /tmp. Apply makes a private directory in it and removes it after.
	TempDir string
	// Nft is the path of the nft program on the device; "" means nft, found
	// on the session's PATH. It must be letters, digits and ._/- (it goes
	// into command lines unquoted).
	Nft string
}

type driver struct {
	nft     string // the nft command, with sudo -n when asked for
	chunk   int
	tempDir string
	bad     error // an option New could not use: every device operation fails with it
}

// nftPath is what Options.Nft may be.
var nftPath = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)

// New returns the driver configured by o. With an Options.Nft that would
// need quoting, every operation on a device fails before sending anything.
func New(o Options) drivers.Driver {
	d := &driver{nft: "nft", chunk: 3000, tempDir: "/tmp"}
	switch {
	case o.Nft == "":
	case nftPath.MatchString(o.Nft):
		d.nft = o.Nft
	default:
		d.bad = fmt.Errorf("linux_nftables: Options.Nft %q: want a path of letters, digits and ._/- only", o.Nft)
	}
	if o.Sudo {
		d.nft = "sudo -n " + d.nft
	}
	if o.ChunkSize > 0 {
		d.chunk = o.ChunkSize
	}
	if o.TempDir != "" {
		d.tempDir = strings.TrimSuffix(o.TempDir, "/")
	}
	return d
}

// Register adds the driver to r. Sessions log in as an unprivileged user,
// so nft runs with sudo -n.
func Register(r *drivers.Registry) {
	r.Register(drivers.Info{
		Name:        Name,
		Description: "Linux firewall: one inet ward table, replaced atomically with nft -f",
		Roles:       []drivers.Role{drivers.RoleFirewall},
		New:         func(json.RawMessage) (drivers.Driver, error) { return New(Options{Sudo: true}), nil },
	})
}

// Running reads the inet ward table back in the form Render writes; with no
// such table it returns the empty Config. Quarantine is state, not
// configuration: the quarantine sets are shown empty (ReadQuarantine reads
// their members), so an active quarantine is not drift.
func (d *driver) Running(ctx context.Context, s drivers.Session) (drivers.Config, error) {
	t, err := d.read(ctx, s)
	if err != nil {
		return drivers.Config{}, fmt.Errorf("linux_nftables: reading the running table: %w", err)
	}
	if t != nil {
		for _, set := range t.sets {
			if set.dynamic() {
				set.elems = nil
			}
		}
	}
	return drivers.Config{Text: t.script()}, nil
}

// ReadQuarantine returns the members of the quarantine sets, by set name
// without its family suffix (quarantine_isolate, not quarantine_isolate_v4).
func (d *driver) ReadQuarantine(ctx context.Context, s drivers.Session) (drivers.QuarantineState, error) {
	q := drivers.QuarantineState{Sets: map[string][]string{}}
	t, err := d.read(ctx, s)
	if err != nil {
		return q, fmt.Errorf("linux_nftables: reading the quarantine sets: %w", err)
	}
	if t == nil {
		return q, nil
	}
	for _, set := range t.sets {
		if !set.dynamic() {
			continue
		}
		name := set.name
		for _, f := range families {
			name = strings.TrimSuffix(name, f.suffix)
		}
		for _, e := range set.elems {
			q.Sets[name] = append(q.Sets[name], e.String())
		}
	}
	return q, nil
}

func (d *driver) read(ctx context.Context, s drivers.Session) (*table, error) {
	out, found, err := d.list(ctx, s, "table "+tableName)
	if err != nil || !found {
		return nil, err
	}
	t, err := parseTable(out)
	if err != nil {
		return nil, fmt.Errorf("nft listed the table in a layout Ward does not know: %w", err)
	}
	return t, nil
}

// list runs nft list what; found is false when nft says there is no such
// table or set. (Listing every table first to see would cost as much as the
// listing itself: nft reads the whole ruleset for either.)
func (d *driver) list(ctx context.Context, s drivers.Session, what string) (out string, found bool, err error) {
	if d.bad != nil {
		return "", false, d.bad
	}
	out, err = s.Run(ctx, d.nft+" list "+what)
	var exit *drivers.ExitError
	if errors.As(err, &exit) && strings.Contains(exit.Output, absentMessage) {
		return "", false, nil
	}
	return out, err == nil, err
}

// Apply makes the inet ward table what cfg describes (the empty Config
// removes the table) without ever writing the members of its quarantine
// sets:
//
//  1. cfg is parsed and checked against the table model (checkConfig)
//     before any command is sent; anything else is drivers.ErrInvalidConfig.
//  2. The table's structure is read without set members (nft -t).
//  3. One nft script deletes every chain and static set there is and
//     declares cfg's sets and chains; quarantine sets are only declared,
//     which keeps them and their members as they are. nft -c -f checks it,
//     nft -f applies it in one transaction: the old table or the new one.
//  4. The table is read back and compared with cfg, quarantine members
//     left out.
//
// A quarantine set is deleted only when cfg no longer has it (the empty
// Config included), or declares it otherwise (another type or flags, which
// `add set` cannot change; it is then recreated empty in the same
// transaction). Because that would release the addresses in it, Apply
// refuses while such a set has members: this is the one case where it
// reads members, and it only reads them. An address quarantined between
// that read and the commit would still be lost with the set, which is why
// quarantine changes and applies to one target must not overlap (the
// per-target serialiser in internal/jobs).
func (d *driver) Apply(ctx context.Context, s drivers.Session, cfg drivers.Config) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("linux_nftables: apply: %w", err)
		}
	}()
	if d.bad != nil {
		return d.bad
	}
	want, err := checkConfig(cfg.Text)
	if err != nil {
		return fmt.Errorf("%w: %v", drivers.ErrInvalidConfig, err)
	}
	cur, err := d.structure(ctx, s)
	if err != nil {
		return fmt.Errorf("reading the table's sets and chains first: %w; nothing was changed", err)
	}
	recreate := changedDeclarations(cur, want)
	if err := d.refuseDroppingMembers(ctx, s, cur, want, recreate); err != nil {
		return err
	}
	fence, err := d.readFence(ctx, s)
	if err != nil {
		return err
	}
	script := transaction(cur, want, recreate)
	if lines := fence.commands(); len(lines) > 0 {
		script = strings.Join(lines, "\n") + "\n" + script
	}

	dir, file, err := d.upload(ctx, s, script)
	defer shellfile.Remove(ctx, s, dir)
	if err != nil {
		return fmt.Errorf("copying the script to the device: %w; nothing was changed", err)
	}
	if _, err := s.Run(ctx, d.nft+" -c -f "+file); err != nil {
		var exit *drivers.ExitError
		if errors.As(err, &exit) {
			if ferr := d.refused(ctx, s, fence, err); ferr != err {
				return ferr
			}
			return fmt.Errorf("nft -c -f %s: %w: %w", file, drivers.ErrCheckFailed, err)
		}
		return fmt.Errorf("checking the script with nft -c -f %s: %w; nothing was changed", file, err)
	}
	if _, err := s.Run(ctx, d.nft+" -f "+file); err != nil {
		var exit *drivers.ExitError
		if errors.As(err, &exit) {
			if ferr := d.refused(ctx, s, fence, err); ferr != err {
				return ferr
			}
			return fmt.Errorf("nft -f %s failed after its check passed; nft applies a file in one transaction, so the previous table is still in force: %w", file, err)
		}
		fence.committed(ctx)
		return fmt.Errorf("while nft -f %s ran: %w: nft applies a file in one transaction, so either the previous table or the new one is in force, never a mix; read it on a new session (ward drift) to see which: %w", file, drivers.ErrOutcomeUnknown, err)
	}
	fence.pushed(ctx)

	got, err := d.read(ctx, s)
	if err != nil {
		return fmt.Errorf("nft -f exited 0, so the new table is in force: %w: %w", drivers.ErrNotVerified, err)
	}
	if got != nil {
		for _, set := range got.sets {
			if set.dynamic() {
				set.elems = nil
			}
		}
	}
	if g, w := got.script(), want.script(); g != w {
		return fmt.Errorf("nft -f succeeded and the new table is in force, but the table read back differs from the one applied (%s): something else changed it meanwhile, or nft printed it in a form this driver does not know", firstDifference(w, g))
	}
	return nil
}

// structure reads the table's sets (with their declarations, without
// members) and chains (without rules); nil when there is no table. nft
// lists sets and chains of every inet table at once, cheaply: listing the
// table itself, even tersely, prints every rule.
func (d *driver) structure(ctx context.Context, s drivers.Session) (*table, error) {
	var t *table
	for _, what := range []string{"-t list sets inet", "list chains inet"} {
		out, err := s.Run(ctx, d.nft+" "+what)
		if err != nil {
			return nil, err
		}
		block, found := wardBlock(out)
		if !found {
			continue
		}
		one, err := parseTable(block)
		if err != nil {
			return nil, fmt.Errorf("nft %s printed the table in a layout Ward does not know: %w", what, err)
		}
		if t == nil {
			t = &table{}
		}
		t.sets = append(t.sets, one.sets...)
		t.blocks = append(t.blocks, one.blocks...)
	}
	if t == nil {
		return nil, nil
	}
	for _, b := range t.blocks {
		if b.kind != "chain" || !identifier.MatchString(b.name) {
			return nil, fmt.Errorf("the table holds %s %q, which Ward does not write; remove it by hand (nft delete %s %s %s) and apply again", b.kind, b.name, b.kind, tableName, b.name)
		}
	}
	for _, set := range t.sets {
		if !identifier.MatchString(set.name) {
			return nil, fmt.Errorf("the table holds set %q, which Ward does not write; remove it by hand and apply again", set.name)
		}
	}
	return t, nil
}

// refuseDroppingMembers returns an error when the transaction would delete
// a quarantine set that has members: one cfg leaves out, or one whose
// declaration changed.
func (d *driver) refuseDroppingMembers(ctx context.Context, s drivers.Session, cur, want *table, recreate []string) error {
	if cur == nil {
		return nil
	}
	for _, cs := range cur.sets {
		if !cs.dynamic() || (keepsSet(want, cs.name) && !slices.Contains(recreate, cs.name)) {
			continue
		}
		out, found, err := d.list(ctx, s, "set "+tableName+" "+cs.name)
		if err != nil {
			return fmt.Errorf("reading quarantine set %s, which this apply would recreate: %w; nothing was changed", cs.name, err)
		}
		if !found {
			continue
		}
		one, err := parseTable(out)
		if err != nil || one == nil || len(one.sets) != 1 {
			return fmt.Errorf("nft listed set %s in a layout Ward does not know: %v; nothing was changed", cs.name, err)
		}
		if n := len(one.sets[0].elems); n > 0 {
			why := "the configuration no longer has it"
			switch {
			case want == nil:
				why = "the empty configuration removes the table"
			case keepsSet(want, cs.name):
				why = "the configuration declares it otherwise, which nft cannot change in place"
			}
			return fmt.Errorf("quarantine set %s holds %d addresses and would be deleted (%s), releasing them; nothing was changed: release those quarantines first (ward release), then apply again", cs.name, n, why)
		}
	}
	return nil
}

// upload writes script to a new private directory on the device.
func (d *driver) upload(ctx context.Context, s drivers.Session, script string) (dir, file string, err error) {
	return shellfile.Write(ctx, s, shellfile.Options{TempDir: d.tempDir, Prefix: "ward-nft", Chunk: d.chunk}, "ward.nft", []byte(script))
}

// AddToSet adds addresses (or prefixes) to the named set, each to the
// _v4 or _v6 set of its family, in one nft transaction per command line.
func (d *driver) AddToSet(ctx context.Context, s drivers.Session, set string, addrs []string) error {
	return d.changeSet(ctx, s, "adding", set, addrs, func(name, elems string) string {
		return fmt.Sprintf("add element %s %s { %s }", tableName, name, elems)
	})
}

// RemoveFromSet removes addresses from the named set. Removing an address
// that is not there is not an error: each is added, then deleted, in one
// transaction (nft 1.0.6 has no "destroy element").
func (d *driver) RemoveFromSet(ctx context.Context, s drivers.Session, set string, addrs []string) error {
	return d.changeSet(ctx, s, "removing", set, addrs, func(name, elems string) string {
		return fmt.Sprintf("add element %s %s { %s }; delete element %s %s { %s }", tableName, name, elems, tableName, name, elems)
	})
}

func (d *driver) changeSet(ctx context.Context, s drivers.Session, verb, set string, addrs []string, command func(name, elems string) string) error {
	if d.bad != nil {
		return d.bad
	}
	if err := checkName(set); err != nil {
		return fmt.Errorf("linux_nftables: %s addresses: %w", verb, err)
	}
	byFamily := make([][]element, len(families))
	for _, a := range addrs {
		e := parseElement(a)
		if !e.prefix.IsValid() {
			return fmt.Errorf("linux_nftables: %s %q to set %s: not an IP address or prefix", verb, a, set)
		}
		if e.prefix.Addr().Is4In6() {
			e.prefix = netip.PrefixFrom(e.prefix.Addr().Unmap(), e.prefix.Bits()-96)
		}
		i := slices.IndexFunc(families[:], func(f family) bool { return f.v6 == e.prefix.Addr().Is6() })
		byFamily[i] = append(byFamily[i], e)
	}
	fence, err := d.readFence(ctx, s)
	if err != nil {
		return fmt.Errorf("linux_nftables: %s addresses to set %s: %w", verb, set, err)
	}
	for i, f := range families {
		elems := sortElements(byFamily[i])
		for len(elems) > 0 {
			batch := elems[:min(len(elems), elementsPerCommand)]
			elems = elems[len(batch):]
			strs := make([]string, len(batch))
			for j, e := range batch {
				strs[j] = e.String()
			}
			name := set + f.suffix
			cmd := strings.Join(append(fence.commands(), command(name, strings.Join(strs, ", "))), "; ")
			if _, err := s.Run(ctx, d.nft+" '"+cmd+"'"); err != nil {
				if !errors.As(err, new(*drivers.ExitError)) {
					fence.committed(ctx) // the session failed: nft may have committed
				}
				return fmt.Errorf("linux_nftables: %s %s to set %s in table %s: %w", verb, strings.Join(strs, ", "), name, tableName, d.refused(ctx, s, fence, err))
			}
			fence.pushed(ctx)
		}
	}
	return nil
}

// firstDifference names the first line where two scripts differ.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first at line %d: applied %q, read back %q", i+1, clip(wl), clip(gl))
		}
	}
	return "none"
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

var (
	_ drivers.Driver           = (*driver)(nil)
	_ drivers.SetUpdater       = (*driver)(nil)
	_ drivers.QuarantineReader = (*driver)(nil)
)
