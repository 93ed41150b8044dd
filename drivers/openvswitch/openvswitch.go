// Package openvswitch is Ward's driver for Open vSwitch access switches
// (driver name "openvswitch"): it puts each device's port in its zone's
// VLAN with ovs-vsctl, and moves a port to the quarantine VLAN.
//
// A rendered Config is a list of ovs-vsctl operations, one a line, sorted by
// port:
//
//	-- set open_vswitch . external_ids:ward-quarantine-vlan=999
//	-- set port p-pump1 tag=210 vlan_mode=access external_ids:ward-device=pump1 external_ids:ward-vlan=210 external_ids:ward-zone=infusion_pumps
//
// Ward marks the ports it manages with external_ids:ward-zone (and names the
// device in ward-device, for whoever reads `ovs-vsctl list port`); Running
// reads back exactly those ports, in the same form. Apply parses and checks
// the configuration before sending anything (syntax.go: port and bridge
// names, VLANs, the columns Ward sets), writes one ovs-vsctl transaction
// from the parsed values, and runs it first with --dry-run (a port missing
// on the switch fails it, nothing changed). Ports Ward managed that the new Config
// leaves out are released: their marks are removed and their VLAN is left
// as it was, so no device moves unasked. A port in the quarantine VLAN stays
// there across Apply; only SetPortVLAN takes it out, and Apply refuses a
// configuration without a quarantine VLAN while a port is in it.
package openvswitch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/shellfile"
)

// Name is the driver's name in a target's driver attribute.
const Name = "openvswitch"

// signalled is the shell's exit status of a command a signal ended (128 +
// the signal): an ovs-vsctl its --timeout stopped (SIGALRM, 142) may have
// committed already, while it waited for ovs-vswitchd to carry the change
// out. Every other failure of ovs-vsctl comes before its commit.
const signalled = 128

// The external_ids keys Ward owns.
const (
	keyZone           = "ward-zone"   // on a port: Ward manages it (the zone it is in)
	keyDevice         = "ward-device" // on a port: the device attached
	keyVLAN           = "ward-vlan"   // on a port: its VLAN, kept while quarantine moves it
	keyQuarantineVLAN = "ward-quarantine-vlan"
)

// Options configure the driver for one switch.
type Options struct {
	// Sudo runs ovs-vsctl as "sudo -n ovs-vsctl", for a session user that
	// is not root but may run it without a password.
	Sudo bool
	// Bridge, when set, confines Ward to that bridge: Running reads only its
	// ports, Apply and SetPortVLAN refuse ports elsewhere, and the
	// quarantine VLAN is recorded on the bridge. "" manages every bridge,
	// and records it on the switch's Open_vSwitch record.
	Bridge string
	// Timeout bounds each ovs-vsctl command, including its wait for
	// ovs-vswitchd to carry out a change; 0 means 10 seconds. Keep it under
	// the SSH session's own timeout (15 s in ward): a push held back by a
	// newer fencing token then ends as ovs-vsctl's refusal, read as fenced
	// and retried at once, not as a broken session.
	Timeout time.Duration
	// ChunkSize is the longest command line Apply sends; a longer
	// transaction (more than a few dozen ports) is copied to the switch
	// host as a script in pieces and run from there. 0 means 3000, under the
	// 4096 characters an interactive terminal line holds.
	ChunkSize int
	// TempDir is where such a script is written on the switch host; ""
	// means /tmp.
	TempDir string
}

type driver struct {
	vsctl   string   // the ovs-vsctl command with its options
	bridge  string   // "" for the whole switch
	scope   []string // the record holding the quarantine VLAN
	chunk   int
	tempDir string
	bad     error // an option New could not use: every device operation fails with it
}

// New returns the driver configured by o.
func New(o Options) drivers.Driver {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := &driver{
		vsctl:   fmt.Sprintf("ovs-vsctl --timeout=%d", max(int(timeout.Seconds()), 1)),
		bridge:  o.Bridge,
		scope:   []string{"open_vswitch", "."},
		chunk:   cmp.Or(o.ChunkSize, shellfile.DefaultChunk),
		tempDir: o.TempDir,
	}
	if o.Sudo {
		d.vsctl = "sudo -n " + d.vsctl
	}
	if o.Bridge != "" {
		d.scope = []string{"bridge", o.Bridge}
		if !portName.MatchString(o.Bridge) {
			d.bad = fmt.Errorf("openvswitch: bridge %q: want letters, digits and _.:@+/- only", o.Bridge)
		}
	}
	return d
}

// Register adds the driver to r. Sessions log in as an unprivileged user,
// so ovs-vsctl runs with sudo -n.
func Register(r *drivers.Registry) {
	r.Register(drivers.Info{
		Name:        Name,
		Description: "Open vSwitch: access-port VLAN tags with ovs-vsctl",
		Roles:       []drivers.Role{drivers.RoleAccessSwitch},
		Options: []drivers.Option{
			{Name: "bridge", Type: drivers.OptionString, Doc: "confine Ward to this bridge (default: every bridge of the switch)",
				Check: func(v any) error {
					if !portName.MatchString(v.(string)) {
						return fmt.Errorf("bridge %q: want letters, digits and _.:@+/- only", v)
					}
					return nil
				}},
			{Name: "sudo", Type: drivers.OptionBool, Doc: "run ovs-vsctl with sudo -n (default true: the session user is not root)"},
		},
		New: func(raw json.RawMessage) (drivers.Driver, error) {
			o := struct {
				Bridge string `json:"bridge"`
				Sudo   *bool  `json:"sudo"`
			}{}
			if len(raw) > 0 {
				if err := json.Unmarshal(raw, &o); err != nil {
					return nil, fmt.Errorf("options: %w", err)
				}
			}
			return New(Options{Sudo: o.Sudo == nil || *o.Sudo, Bridge: o.Bridge}), nil
		},
	})
}

// Parse reads a configuration Render wrote, or Running read back, into
// the model: each managed port's VLAN, device and zone, and the quarantine
// VLAN.
func (d *driver) Parse(cfg drivers.Config) (*intent.Target, error) {
	st, err := d.checkConfig(cfg.Text)
	if err != nil {
		return nil, fmt.Errorf("openvswitch: %w", err)
	}
	sw := &intent.Switch{QuarantineVLAN: st.quarantineVLAN}
	for _, p := range st.ports {
		sw.Ports = append(sw.Ports, intent.PortVLAN{Port: p.name, VLAN: p.tag, Device: p.device, Zone: p.zone})
	}
	return &intent.Target{Driver: Name, Roles: []string{intent.RoleAccessSwitch}, Switch: sw}, nil
}

// port is one access port as Ward manages it.
type port struct {
	name         string
	tag          int    // 0: none
	home         int    // external_ids:ward-vlan; 0: none
	mode         string // vlan_mode; "": none
	device, zone string
}

// state is what Ward manages on a switch.
type state struct {
	quarantineVLAN int    // 0: none recorded
	ports          []port // sorted by name
}

// portName is what Ward accepts as a port name (interface names, and the
// usual switch port spellings), so that names need no quoting.
var portName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@+/-]{0,254}$`)

// Render writes the ovs-vsctl operations that put every port of the intent
// in its VLAN.
func (d *driver) Render(t *intent.Target) (drivers.Config, error) {
	st, err := fromIntent(t)
	if err != nil {
		name := "<nil>"
		if t != nil {
			name = t.Name
		}
		return drivers.Config{}, fmt.Errorf("openvswitch: target %q: %w", name, err)
	}
	return drivers.Config{Text: d.print(st)}, nil
}

func fromIntent(t *intent.Target) (*state, error) {
	if t == nil || t.Switch == nil {
		return nil, fmt.Errorf("no switch intent: openvswitch drives access switches only")
	}
	st := &state{quarantineVLAN: t.Switch.QuarantineVLAN}
	if q := st.quarantineVLAN; q != 0 && !validVLAN(q) {
		return nil, fmt.Errorf("quarantine VLAN %d: want 1 to 4094", q)
	}
	for _, p := range t.Switch.Ports {
		if !portName.MatchString(p.Port) {
			return nil, fmt.Errorf("port %q (device %q): want letters, digits and _.:@+/- only", p.Port, p.Device)
		}
		if !validVLAN(p.VLAN) {
			return nil, fmt.Errorf("port %q (device %q): VLAN %d: want 1 to 4094", p.Port, p.Device, p.VLAN)
		}
		st.ports = append(st.ports, port{name: p.Port, tag: p.VLAN, mode: "access", device: p.Device, zone: p.Zone})
	}
	slices.SortFunc(st.ports, func(a, b port) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(st.ports); i++ {
		if st.ports[i].name == st.ports[i-1].name {
			return nil, fmt.Errorf("port %q is listed twice (devices %q and %q)", st.ports[i].name, st.ports[i-1].device, st.ports[i].device)
		}
	}
	return st, nil
}

func validVLAN(v int) bool { return 1 <= v && v <= 4094 }

// print writes st as ovs-vsctl operations, one a line.
func (d *driver) print(st *state) string {
	var b strings.Builder
	if st.quarantineVLAN != 0 {
		b.WriteString(words(append(append([]string{"--", "set"}, d.scope...), "external_ids:"+keyQuarantineVLAN+"="+strconv.Itoa(st.quarantineVLAN))...) + "\n")
	}
	for _, p := range st.ports {
		tag, mode := "[]", "[]"
		if p.tag != 0 {
			tag = strconv.Itoa(p.tag)
		}
		if p.mode != "" {
			mode = p.mode
		}
		ws := []string{"--", "set", "port", p.name, "tag=" + tag, "vlan_mode=" + mode,
			"external_ids:" + keyDevice + "=" + ovsString(p.device)}
		if p.tag != 0 {
			ws = append(ws, "external_ids:"+keyVLAN+"="+tag)
		}
		ws = append(ws, "external_ids:"+keyZone+"="+ovsString(p.zone))
		b.WriteString(words(ws...) + "\n")
	}
	return b.String()
}

// Running reads back the ports Ward manages (those marked ward-zone, on the
// bridge if the driver is confined to one) and the quarantine VLAN, in the
// form Render writes. Quarantine is state, not configuration: a port in the
// quarantine VLAN is shown in the VLAN it belongs in (ward-vlan), so an
// active quarantine is not drift; ReadQuarantine lists those ports.
func (d *driver) Running(ctx context.Context, s drivers.Session) (drivers.Config, error) {
	st, err := d.read(ctx, s)
	if err != nil {
		return drivers.Config{}, fmt.Errorf("openvswitch: reading the running ports: %w", err)
	}
	st.unquarantine()
	return drivers.Config{Text: d.print(st)}, nil
}

// unquarantine puts each port in the quarantine VLAN back in its own VLAN.
func (st *state) unquarantine() {
	for i, p := range st.ports {
		if st.quarantineVLAN != 0 && p.tag == st.quarantineVLAN && p.home != 0 {
			st.ports[i].tag = p.home
		}
	}
}

// ReadQuarantine lists the ports Ward manages that are in the quarantine
// VLAN, with the VLAN each belongs in (0 when the switch does not record it).
func (d *driver) ReadQuarantine(ctx context.Context, s drivers.Session) (drivers.QuarantineState, error) {
	q := drivers.QuarantineState{Ports: map[string]int{}}
	st, err := d.read(ctx, s)
	if err != nil {
		return q, fmt.Errorf("openvswitch: reading the quarantined ports: %w", err)
	}
	for _, p := range st.ports {
		if st.quarantineVLAN != 0 && p.tag == st.quarantineVLAN {
			q.Ports[p.name] = p.home
		}
	}
	return q, nil
}

func (d *driver) read(ctx context.Context, s drivers.Session) (*state, error) {
	if d.bad != nil {
		return nil, d.bad
	}
	out, err := s.Run(ctx, d.vsctl+" --format=json --columns=name,tag,vlan_mode,external_ids list port")
	if err != nil {
		return nil, err
	}
	var ports struct{ Data [][4]json.RawMessage }
	if err := json.Unmarshal([]byte(out), &ports); err != nil {
		return nil, fmt.Errorf("ovs-vsctl list port printed what is not its JSON table: %w", err)
	}
	onBridge, err := d.bridgePorts(ctx, s)
	if err != nil {
		return nil, err
	}
	st := &state{}
	for _, row := range ports.Data {
		var p port
		ids := map[string]string{}
		if err := errors.Join(
			json.Unmarshal(row[0], &p.name),
			decodeOptional(row[1], &p.tag),
			decodeOptional(row[2], &p.mode),
			decodeMap(row[3], ids),
		); err != nil {
			return nil, fmt.Errorf("ovs-vsctl list port: row %s: %w", row[0], err)
		}
		zone, managed := ids[keyZone]
		if !managed || (onBridge != nil && !onBridge[p.name]) {
			continue
		}
		p.zone, p.device = zone, ids[keyDevice]
		if v, ok := ids[keyVLAN]; ok {
			if p.home, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("port %s: external_ids:%s is %q, not a VLAN", p.name, keyVLAN, v)
			}
		}
		st.ports = append(st.ports, p)
	}
	slices.SortFunc(st.ports, func(a, b port) int { return strings.Compare(a.name, b.name) })

	out, err = s.Run(ctx, d.vsctl+" --format=json --columns=external_ids list "+words(d.scope...))
	if err != nil {
		return nil, err
	}
	var scope struct{ Data [][1]json.RawMessage }
	if err := json.Unmarshal([]byte(out), &scope); err != nil || len(scope.Data) != 1 {
		return nil, fmt.Errorf("ovs-vsctl list %s printed %q, not one record", words(d.scope...), out)
	}
	ids := map[string]string{}
	if err := decodeMap(scope.Data[0][0], ids); err != nil {
		return nil, fmt.Errorf("ovs-vsctl list %s: %w", words(d.scope...), err)
	}
	if v, ok := ids[keyQuarantineVLAN]; ok {
		if st.quarantineVLAN, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("external_ids:%s of %s is %q, not a VLAN", keyQuarantineVLAN, words(d.scope...), v)
		}
	}
	return st, nil
}

// bridgePorts returns the ports of the driver's bridge, or nil when it is
// not confined to one.
func (d *driver) bridgePorts(ctx context.Context, s drivers.Session) (map[string]bool, error) {
	if d.bridge == "" {
		return nil, nil
	}
	out, err := s.Run(ctx, d.vsctl+" list-ports "+words(d.bridge))
	if err != nil {
		return nil, err
	}
	ports := map[string]bool{}
	for _, p := range strings.Fields(out) {
		ports[p] = true
	}
	return ports, nil
}

// Apply runs cfg as one ovs-vsctl transaction, with the ports Ward managed
// that cfg leaves out released, and the ports in the quarantine VLAN kept
// there; then it reads the switch back. cfg is parsed and checked first
// (port and bridge names, VLANs, the columns Ward sets), before anything is
// sent, and the transaction is written from the parsed values: no text of
// cfg reaches the switch's shell as it was handed in.
func (d *driver) Apply(ctx context.Context, s drivers.Session, cfg drivers.Config) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("openvswitch: apply: %w", err)
		}
	}()
	if d.bad != nil {
		return d.bad
	}
	want, err := d.checkConfig(cfg.Text)
	if err != nil {
		return fmt.Errorf("%w: %v", drivers.ErrInvalidConfig, err)
	}
	cur, err := d.read(ctx, s)
	if err != nil {
		return fmt.Errorf("reading the running ports first: %w; nothing was changed", err)
	}
	if d.bridge != "" {
		onBridge, err := d.bridgePorts(ctx, s)
		if err != nil {
			return fmt.Errorf("listing the ports of bridge %s: %w; nothing was changed", d.bridge, err)
		}
		for _, p := range want.ports {
			if !onBridge[p.name] {
				return fmt.Errorf("port %s is not on bridge %s: %w", p.name, d.bridge, drivers.ErrCheckFailed)
			}
		}
	}
	if err := refuseDroppingQuarantine(cur, want); err != nil {
		return err
	}
	var ops []string
	for _, line := range strings.Split(d.print(want), "\n") {
		if line != "" {
			ops = append(ops, line)
		}
	}
	ops = append(ops, d.reconcile(cur, want)...)
	if len(ops) > 0 {
		fence, err := d.readFence(ctx, s)
		if err != nil {
			return err
		}
		err = d.transact(ctx, s, append(fence.ops(d.scope), ops...))
		if err := d.settle(ctx, s, fence, err, errors.Is(err, drivers.ErrOutcomeUnknown)); err != nil {
			return err
		}
	}
	got, err := d.read(ctx, s)
	if err != nil {
		return fmt.Errorf("the transaction succeeded, but reading the ports back failed: %w: %w", drivers.ErrNotVerified, err)
	}
	got.unquarantine()
	if g, w := d.print(got), d.print(want); g != w {
		return fmt.Errorf("the transaction succeeded and is in force, but the ports read back differ from the ones applied (got %q, want %q): something else changed them meanwhile", g, w)
	}
	return nil
}

// refuseDroppingQuarantine returns an error when want has no quarantine
// VLAN while ports are in the one the switch records: forgetting it would
// leave them there with nothing saying they are quarantined
// (ReadQuarantine, Running), and the next apply would move them home,
// releasing the devices with no release on record.
func refuseDroppingQuarantine(cur, want *state) error {
	if cur.quarantineVLAN == 0 || want.quarantineVLAN != 0 {
		return nil
	}
	var in []string
	for _, p := range cur.ports {
		if p.tag == cur.quarantineVLAN {
			in = append(in, p.name)
		}
	}
	if len(in) == 0 {
		return nil
	}
	return fmt.Errorf("the configuration has no quarantine VLAN, but ports %s are in quarantine VLAN %d; nothing was changed: release those quarantines first (ward release), then apply again", strings.Join(in, ", "), cur.quarantineVLAN)
}

// transact runs ops, operations written by print and reconcile, as one
// ovs-vsctl transaction: first with --dry-run, then for real.
func (d *driver) transact(ctx context.Context, s drivers.Session, ops []string) error {
	cmd := d.vsctl + " " + strings.Join(ops, " ")
	// --no-wait: a dry run commits nothing for ovs-vswitchd to carry out.
	dry := strings.Replace(cmd, "ovs-vsctl ", "ovs-vsctl --dry-run --no-wait ", 1)
	if len(dry) > d.chunk {
		// Too long for one terminal line: run it from a script, with
		// the dry-run options passed in (unquoted, so they split).
		script := strings.Replace(cmd, "ovs-vsctl ", "ovs-vsctl $WARD_DRY ", 1)
		dir, file, err := shellfile.Write(ctx, s, shellfile.Options{TempDir: d.tempDir, Prefix: "ward-ovs", Chunk: d.chunk}, "ward-ovs.sh", []byte(script+"\n"))
		defer shellfile.Remove(ctx, s, dir)
		if err != nil {
			return fmt.Errorf("copying the transaction to the switch host: %w; nothing was changed", err)
		}
		dry, cmd = "WARD_DRY='--dry-run --no-wait' sh "+file, "WARD_DRY= sh "+file
	}
	if _, err := s.Run(ctx, dry); err != nil {
		var exit *drivers.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("ovs-vsctl --dry-run: %w: %w", drivers.ErrCheckFailed, err)
		}
		return fmt.Errorf("checking the transaction with ovs-vsctl --dry-run: %w; nothing was changed", err)
	}
	if _, err := s.Run(ctx, cmd); err != nil {
		var exit *drivers.ExitError
		if errors.As(err, &exit) && exit.Status > signalled {
			return fmt.Errorf("ovs-vsctl was stopped by a signal (its --timeout: SIGALRM), perhaps after committing while it waited for ovs-vswitchd: %w: read the switch on a new session (ward drift) to see which ports are in force: %w", drivers.ErrOutcomeUnknown, err)
		}
		if errors.As(err, &exit) {
			return fmt.Errorf("ovs-vsctl commits all its operations or none, and it failed before committing, so the ports are as they were: %w", err)
		}
		return fmt.Errorf("the session failed while ovs-vsctl ran: %w: ovs-vsctl commits all its operations or none; read the switch on a new session (ward drift) to see which: %w", drivers.ErrOutcomeUnknown, err)
	}
	return nil
}

// reconcile returns the operations Apply adds to cfg's: release the ports
// Ward managed that want leaves out, forget a quarantine VLAN want does not
// have, and keep quarantined ports in the quarantine VLAN (their ward-vlan
// is what want says).
func (d *driver) reconcile(cur, want *state) []string {
	var ops []string
	wanted := map[string]*port{}
	for i := range want.ports {
		wanted[want.ports[i].name] = &want.ports[i]
	}
	for _, p := range cur.ports {
		if wanted[p.name] == nil {
			ops = append(ops, words("--", "remove", "port", p.name, "external_ids", keyDevice, keyZone))
		}
	}
	if cur.quarantineVLAN != 0 && want.quarantineVLAN == 0 {
		ops = append(ops, words(append(append([]string{"--", "remove"}, d.scope...), "external_ids", keyQuarantineVLAN)...))
	}
	q := cmp.Or(want.quarantineVLAN, cur.quarantineVLAN)
	for _, p := range cur.ports {
		if w := wanted[p.name]; w != nil && cur.quarantineVLAN != 0 && p.tag == cur.quarantineVLAN && w.tag != q {
			ops = append(ops, words("--", "set", "port", p.name, "tag="+strconv.Itoa(q)))
		}
	}
	return ops
}

// SetPortVLAN moves one port to vlan (quarantine, and back).
func (d *driver) SetPortVLAN(ctx context.Context, s drivers.Session, name string, vlan int) error {
	if d.bad != nil {
		return d.bad
	}
	if !portName.MatchString(name) || !validVLAN(vlan) {
		return fmt.Errorf("openvswitch: moving port %q to VLAN %d: want a port name of letters, digits and _.:@+/- and a VLAN from 1 to 4094", name, vlan)
	}
	if d.bridge != "" {
		onBridge, err := d.bridgePorts(ctx, s)
		if err != nil {
			return fmt.Errorf("openvswitch: moving port %s to VLAN %d: listing bridge %s: %w", name, vlan, d.bridge, err)
		}
		if !onBridge[name] {
			return fmt.Errorf("openvswitch: moving port %s to VLAN %d: the port is not on bridge %s", name, vlan, d.bridge)
		}
	}
	fence, err := d.readFence(ctx, s)
	if err != nil {
		return fmt.Errorf("openvswitch: moving port %s to VLAN %d: %w", name, vlan, err)
	}
	ops := append(fence.ops(d.scope), words("--", "set", "port", name, "tag="+strconv.Itoa(vlan)))
	_, err = s.Run(ctx, d.vsctl+" "+strings.Join(ops, " "))
	var exit *drivers.ExitError
	if err := d.settle(ctx, s, fence, err, !errors.As(err, &exit) || exit.Status > signalled); err != nil {
		return fmt.Errorf("openvswitch: moving port %s to VLAN %d: %w", name, vlan, err)
	}
	return nil
}

var (
	_ drivers.Driver           = (*driver)(nil)
	_ drivers.VLANSetter       = (*driver)(nil)
	_ drivers.QuarantineReader = (*driver)(nil)
)
