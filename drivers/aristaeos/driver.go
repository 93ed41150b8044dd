package aristaeos

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/netsession"
)

const driverName = "arista_eos"

// platformYAML is scrapligo's arista_eos platform definition with what
// Ward found missing added (see the file's header).
//
//go:embed platform.yaml
var platformYAML []byte

// Options are the target block's attributes this driver takes.
type Options struct {
	// CommitTimerMinutes is how long a change stays in force unconfirmed
	// before the switch restores the previous configuration by itself
	// (commit timer, Arista EOS User Manual, Session Management Commands,
	// https://www.arista.com/en/um-eos/eos-session-management-commands).
	CommitTimerMinutes int `json:"commit_timer_minutes"`
	// SessionPrefix starts the name of every configure session Ward opens.
	SessionPrefix string `json:"session_prefix"`
}

var sessionPrefixRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,19}$`)

// optionSpecs are the options as data, for the policy parser.
func optionSpecs() []drivers.Option {
	return []drivers.Option{
		{Name: "commit_timer_minutes", Type: drivers.OptionNumber,
			Doc: "minutes an apply stays in force unconfirmed before the switch rolls it back by itself (commit timer); default 5",
			Check: func(v any) error {
				if n, _ := v.(int); n < 1 || n > 120 {
					return fmt.Errorf("commit_timer_minutes must be 1-120, not %v", v)
				}
				return nil
			}},
		{Name: "session_prefix", Type: drivers.OptionString,
			Doc: `start of the configure session names Ward opens; default "ward"`,
			Check: func(v any) error {
				if s, _ := v.(string); !sessionPrefixRe.MatchString(s) {
					return fmt.Errorf("session_prefix %q: want a letter, then up to 19 letters, digits, _ or -", v)
				}
				return nil
			}},
	}
}

// Register adds the arista_eos driver to r.
func Register(r *drivers.Registry) {
	r.Register(drivers.Info{
		Name:        driverName,
		Description: "Arista EOS: inbound IPv4 ACLs on zone VLAN interfaces and access-port VLANs, applied in a configure session with a commit timer",
		Roles:       []drivers.Role{drivers.RoleAccessSwitch, drivers.RoleFirewall},
		Options:     optionSpecs(),
		Platform:    platformYAML,
		New:         New,
	})
}

// New returns the driver with a target's options (nil: the defaults).
func New(raw json.RawMessage) (drivers.Driver, error) {
	o := Options{CommitTimerMinutes: 5, SessionPrefix: "ward"}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, fmt.Errorf("options: %w", err)
		}
	}
	for _, spec := range optionSpecs() {
		v := map[string]any{"commit_timer_minutes": o.CommitTimerMinutes, "session_prefix": o.SessionPrefix}[spec.Name]
		if err := spec.Check(v); err != nil {
			return nil, err
		}
	}
	return &driver{opts: o, now: time.Now}, nil
}

type driver struct {
	opts Options
	now  func() time.Time
}

// Render: see drivers.Driver and the package doc.
func (d *driver) Render(t *intent.Target) (drivers.Config, error) {
	if t != nil && t.Firewall == nil && t.Switch == nil {
		return drivers.Config{}, fmt.Errorf("%s: target %q (role %q) has neither a firewall nor an access-switch intent; nothing to render", driverName, t.Name, t.RoleText())
	}
	st, err := build(t, nil)
	if err != nil {
		name := ""
		if t != nil {
			name = t.Name
		}
		return drivers.Config{}, fmt.Errorf("%s: target %q: %w", driverName, name, err)
	}
	return drivers.Config{Text: st.format()}, nil
}

// Parse: see drivers.Driver. It reads Render's output and Running's (the
// form show running-config prints: sequence numbers, host forms, named
// ports, any block order), and refuses what Ward does not write.
func (d *driver) Parse(cfg drivers.Config) (*intent.Target, error) {
	t, _, err := d.parse(cfg)
	return t, err
}

func (d *driver) parse(cfg drivers.Config) (*intent.Target, *state, error) {
	st, err := parseState(cfg.Text, true)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %w", driverName, drivers.ErrInvalidConfig, err)
	}
	t, q, err := model(st)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %w", driverName, drivers.ErrInvalidConfig, err)
	}
	if len(q.isolate)+len(q.restrict)+len(q.ports) > 0 {
		return nil, nil, fmt.Errorf("%s: %w: the configuration holds quarantine state (members of a quarantine set or a port marked %s), which is never configuration", driverName, drivers.ErrInvalidConfig, quarantineMark)
	}
	t.Driver = driverName
	return t, st, nil
}

// configurer is the network-OS session, or an error saying it is not one.
func configurer(s drivers.Session) (netsession.Configurer, error) {
	c, ok := s.(netsession.Configurer)
	if !ok {
		return nil, fmt.Errorf("%s: the session is not a network-OS session (netsession); this driver configures EOS over its CLI", driverName)
	}
	return c, nil
}

// device reads the part of the running configuration Ward manages,
// quarantine state included.
func (d *driver) device(ctx context.Context, s drivers.Session) (*state, error) {
	out, err := s.Run(ctx, "show running-config")
	if err != nil {
		return nil, fmt.Errorf("%s: reading the running configuration: %w", driverName, err)
	}
	st, err := parseState(out, false)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the running configuration: %w", driverName, err)
	}
	if !st.hasAccess() {
		st.ports = map[string]port{} // not Ward's: the target has no access role here
	}
	return st, nil
}

// Running: see drivers.Driver. Quarantine state is left out: the
// quarantine sets' members and their entries in the zone ACLs, and a
// quarantined port is shown in the VLAN it belongs in.
func (d *driver) Running(ctx context.Context, s drivers.Session) (drivers.Config, error) {
	st, err := d.device(ctx, s)
	if err != nil {
		return drivers.Config{}, err
	}
	return drivers.Config{Text: withoutQuarantine(st).format()}, nil
}

func isZoneACL(name string) bool {
	return strings.HasPrefix(name, prefixZone) || strings.HasPrefix(name, prefixVLAN)
}

func withoutQuarantine(st *state) *state {
	out := st.clone()
	for name, es := range out.acls {
		switch {
		case strings.HasPrefix(name, prefixIsolate), strings.HasPrefix(name, prefixRestrict):
			out.acls[name] = nil
		case isZoneACL(name):
			out.acls[name] = slices.DeleteFunc(es, func(e entry) bool {
				return e.seq < secEssential || (e.seq >= secRestrict && e.seq < secRules)
			})
		}
	}
	for name, p := range out.ports {
		if p.home != 0 {
			out.ports[name] = port{vlan: p.home}
		}
	}
	return out
}

// quarantineOf is the quarantine state a device holds.
func quarantineOf(st *state) (*quarantine, map[string]string, error) {
	q := &quarantine{ports: map[string]int{}}
	names := map[string]string{} // "isolate"/"restrict" -> set name
	for name, es := range st.acls {
		for _, kind := range []string{prefixIsolate, prefixRestrict} {
			set, ok := strings.CutPrefix(name, kind)
			if !ok {
				continue
			}
			ps, err := members(name, es)
			if err != nil {
				return nil, nil, err
			}
			if kind == prefixIsolate {
				q.isolate, names["isolate"] = ps, set
			} else {
				q.restrict, names["restrict"] = ps, set
			}
		}
	}
	for name, p := range st.ports {
		if p.home != 0 {
			q.ports[name] = p.home
		}
	}
	return q, names, nil
}

// Apply: see drivers.Driver and the package doc ("How it applies").
func (d *driver) Apply(ctx context.Context, s drivers.Session, cfg drivers.Config) error {
	cmds, _, err := d.plan(ctx, s, cfg)
	if err != nil {
		return err
	}
	if len(cmds) == 0 {
		return nil
	}
	p, err := d.applyConfirmed(ctx, s, cmds, cfg, time.Duration(d.opts.CommitTimerMinutes)*time.Minute)
	if err != nil {
		return err
	}
	return d.Confirm(ctx, s, p)
}

// plan checks cfg and works out the commands that make the device hold it,
// its quarantine state kept.
func (d *driver) plan(ctx context.Context, s drivers.Session, cfg drivers.Config) ([]string, *state, error) {
	t, _, err := d.parse(cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := configurer(s); err != nil {
		return nil, nil, err
	}
	cur, err := d.device(ctx, s)
	if err != nil {
		return nil, nil, fmt.Errorf("%w; nothing was changed", err)
	}
	q, _, err := quarantineOf(cur)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w; nothing was changed", driverName, err)
	}
	want, err := build(t, q)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w; nothing was changed", driverName, err)
	}
	cmds, err := commands(cur, want)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w; nothing was changed", driverName, err)
	}
	return cmds, want, nil
}

// sessionName is a fresh configure session name.
func (d *driver) sessionName() string {
	var b [4]byte
	rand.Read(b[:])
	return d.opts.SessionPrefix + "-" + strconv.FormatInt(d.now().Unix(), 36) + "-" + hex.EncodeToString(b[:])
}

// stage opens a configure session (Arista EOS User Manual, Configure
// Session, https://www.arista.com/en/um-eos/eos-configure-session), sends
// cmds into it and returns the device's diff; the session is left open,
// in its configuration mode. A line the device refuses aborts the session:
// drivers.ErrCheckFailed.
func (d *driver) stage(ctx context.Context, s drivers.Session, name string, cmds []string) (string, error) {
	c, err := configurer(s)
	if err != nil {
		return "", err
	}
	if err := c.Acquire(ctx, "privilege-exec"); err != nil {
		return "", fmt.Errorf("%s: %w; nothing was changed", driverName, err)
	}
	if _, err := c.Interact(ctx, "configure session "+name); err != nil {
		return "", d.failed(ctx, c, name, "opening configure session "+name, err)
	}
	for _, cmd := range cmds {
		if _, err := c.Interact(ctx, cmd); err != nil {
			return "", d.failed(ctx, c, name, "in configure session "+name, err)
		}
	}
	diff, err := c.Interact(ctx, "show session-config diffs")
	if err != nil {
		return "", d.failed(ctx, c, name, "reading the session's diff", err)
	}
	return diff, nil
}

// failed aborts session name after err, before anything was committed,
// and says what is in force.
func (d *driver) failed(ctx context.Context, c netsession.Configurer, name, what string, err error) error {
	var rej *netsession.Rejected
	if errors.As(err, &rej) {
		if _, aerr := c.Interact(ctx, "abort"); aerr != nil {
			return fmt.Errorf("%s: %s: the device refused %q (%s); aborting the session failed too (%v), but it was never committed: the previous configuration is in force: %w", driverName, what, rej.Line, strings.TrimSpace(rej.Output), aerr, drivers.ErrCheckFailed)
		}
		return fmt.Errorf("%s: %s: the device refused %q: %s; the session was aborted: %w", driverName, what, rej.Line, strings.TrimSpace(rej.Output), drivers.ErrCheckFailed)
	}
	return fmt.Errorf("%s: %s: %w; the session was never committed, so the previous configuration is in force (the uncommitted session %s may stay on the switch until it is removed with configure session %s abort)", driverName, what, err, name, name)
}

// timer is a commit timer's hh:mm:ss, rounded up to the second.
func timer(within time.Duration) (string, error) {
	secs := int((within + time.Second - 1) / time.Second)
	if secs < 1 || secs > 99*3600 {
		return "", fmt.Errorf("a commit timer of %s: want 1s to 99h", within)
	}
	return fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60), nil
}

func (d *driver) applyConfirmed(ctx context.Context, s drivers.Session, cmds []string, cfg drivers.Config, within time.Duration) (drivers.Pending, error) {
	hms, err := timer(within)
	if err != nil {
		return drivers.Pending{}, err
	}
	c, err := configurer(s)
	if err != nil {
		return drivers.Pending{}, err
	}
	name := d.sessionName()
	if _, err := d.stage(ctx, s, name, cmds); err != nil {
		return drivers.Pending{}, err
	}
	deadline := d.now().Add(within)
	if _, err := c.Interact(ctx, "commit timer "+hms); err != nil {
		var rej *netsession.Rejected
		if errors.As(err, &rej) {
			return drivers.Pending{}, d.failed(ctx, c, name, "committing", err)
		}
		return drivers.Pending{}, fmt.Errorf("%s: committing session %s with a timer of %s: %w; if the commit took effect, the switch restores the previous configuration by itself when the timer runs out: %w", driverName, name, hms, err, drivers.ErrOutcomeUnknown)
	}
	// Read back: the running configuration must now enforce cfg.
	running, err := d.Running(ctx, s)
	if err == nil {
		var same bool
		var diff string
		same, diff, err = drivers.Compare(d, cfg, running)
		if err == nil && !same {
			err = fmt.Errorf("the configuration read back differs from the one applied:\n%s", diff)
		}
	}
	if err != nil {
		if _, aerr := c.Interact(ctx, "configure session "+name+" abort"); aerr != nil {
			return drivers.Pending{}, fmt.Errorf("%s: after commit timer %s: %v; rolling back with configure session %s abort failed (%v): the switch restores the previous configuration by itself when the timer runs out: %w", driverName, hms, err, name, aerr, drivers.ErrOutcomeUnknown)
		}
		return drivers.Pending{}, fmt.Errorf("%s: after commit timer %s: %w; the change was rolled back (configure session %s abort): the previous configuration is in force", driverName, hms, err, name)
	}
	return drivers.Pending{ID: name, Deadline: deadline}, nil
}

// ApplyConfirmed: see drivers.CommitConfirmer. The switch restores the
// previous configuration by itself unless Confirm comes within.
func (d *driver) ApplyConfirmed(ctx context.Context, s drivers.Session, cfg drivers.Config, within time.Duration) (drivers.Pending, error) {
	cmds, _, err := d.plan(ctx, s, cfg)
	if err != nil {
		return drivers.Pending{}, err
	}
	return d.applyConfirmed(ctx, s, cmds, cfg, within)
}

// Confirm: see drivers.CommitConfirmer (configure session NAME commit,
// from the session timer documents cited in eosfake).
func (d *driver) Confirm(ctx context.Context, s drivers.Session, p drivers.Pending) error {
	c, err := configurer(s)
	if err != nil {
		return err
	}
	err = c.Acquire(ctx, "privilege-exec")
	if err == nil {
		_, err = c.Interact(ctx, "configure session "+p.ID+" commit")
	}
	if err != nil {
		return fmt.Errorf("%s: confirming session %s: %w; unless confirmed, the switch restores the previous configuration by itself at %s: %w", driverName, p.ID, err, p.Deadline.Format(time.RFC3339), drivers.ErrOutcomeUnknown)
	}
	return nil
}

// Stage: see drivers.ConfigSessioner. The session is left pending, the
// running configuration unchanged.
func (d *driver) Stage(ctx context.Context, s drivers.Session, cfg drivers.Config) (drivers.Staged, error) {
	cmds, _, err := d.plan(ctx, s, cfg)
	if err != nil {
		return drivers.Staged{}, err
	}
	c, _ := configurer(s)
	name := d.sessionName()
	diff, err := d.stage(ctx, s, name, cmds)
	if err != nil {
		return drivers.Staged{}, err
	}
	if _, err := c.Interact(ctx, "end"); err != nil {
		return drivers.Staged{}, fmt.Errorf("%s: leaving session %s pending: %w; it was not committed", driverName, name, err)
	}
	return drivers.Staged{ID: name, Diff: diff}, nil
}

// Commit: see drivers.ConfigSessioner.
func (d *driver) Commit(ctx context.Context, s drivers.Session, st drivers.Staged) error {
	return d.sessionCommand(ctx, s, st.ID, "commit")
}

// Abort: see drivers.ConfigSessioner.
func (d *driver) Abort(ctx context.Context, s drivers.Session, st drivers.Staged) error {
	return d.sessionCommand(ctx, s, st.ID, "abort")
}

func (d *driver) sessionCommand(ctx context.Context, s drivers.Session, name, verb string) error {
	c, err := configurer(s)
	if err != nil {
		return err
	}
	if err := c.Acquire(ctx, "privilege-exec"); err != nil {
		return fmt.Errorf("%s: session %s %s: %w", driverName, name, verb, err)
	}
	if _, err := c.Interact(ctx, "configure session "+name+" "+verb); err != nil {
		return fmt.Errorf("%s: configure session %s %s: %w", driverName, name, verb, err)
	}
	return nil
}

// commit sends cmds in a configure session committed at once (a
// quarantine change: small, and needed in force now).
func (d *driver) commit(ctx context.Context, s drivers.Session, cmds []string) error {
	if len(cmds) == 0 {
		return nil
	}
	c, err := configurer(s)
	if err != nil {
		return err
	}
	name := d.sessionName()
	if _, err := d.stage(ctx, s, name, cmds); err != nil {
		return err
	}
	if _, err := c.Interact(ctx, "commit"); err != nil {
		var rej *netsession.Rejected
		if errors.As(err, &rej) {
			return d.failed(ctx, c, name, "committing", err)
		}
		return fmt.Errorf("%s: committing session %s: %w: %w", driverName, name, err, drivers.ErrOutcomeUnknown)
	}
	return nil
}

// AddToSet: see drivers.SetUpdater. set is the isolate or restrict set;
// each address gets its entries in every zone ACL (see the package doc).
func (d *driver) AddToSet(ctx context.Context, s drivers.Session, set string, addrs []string) error {
	return d.updateSet(ctx, s, set, addrs, true)
}

// RemoveFromSet: see drivers.SetUpdater. Removing an address that is not
// there is not an error.
func (d *driver) RemoveFromSet(ctx context.Context, s drivers.Session, set string, addrs []string) error {
	return d.updateSet(ctx, s, set, addrs, false)
}

func (d *driver) updateSet(ctx context.Context, s drivers.Session, set string, addrs []string, add bool) error {
	var ps []netip.Prefix
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			ip, err2 := netip.ParseAddr(a)
			if err2 != nil {
				return fmt.Errorf("%s: %q is not an IPv4 address or prefix", driverName, a)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		if !p.Addr().Is4() {
			return fmt.Errorf("%s: %s: this driver's ACLs are IPv4 only", driverName, a)
		}
		ps = append(ps, p.Masked())
	}
	cur, err := d.device(ctx, s)
	if err != nil {
		return err
	}
	q, names, err := quarantineOf(cur)
	if err != nil {
		return fmt.Errorf("%s: %w", driverName, err)
	}
	var target *[]netip.Prefix
	switch set {
	case names["isolate"]:
		target = &q.isolate
	case names["restrict"]:
		target = &q.restrict
	}
	if set == "" || target == nil {
		return fmt.Errorf("%s: %q is not a quarantine set on the switch (its lists are %s%s and %s%s)", driverName, set, prefixIsolate, names["isolate"], prefixRestrict, names["restrict"])
	}
	if add {
		*target = sortedPrefixes(append(*target, ps...))
	} else {
		*target = slices.DeleteFunc(*target, func(p netip.Prefix) bool { return slices.Contains(ps, p.Masked()) })
	}
	t, _, err := model(withoutQuarantine(cur))
	if err != nil {
		return fmt.Errorf("%s: %w; the quarantine was not changed", driverName, err)
	}
	want, err := build(t, q)
	if err != nil {
		return fmt.Errorf("%s: %w; the quarantine was not changed", driverName, err)
	}
	cmds, err := commands(cur, want)
	if err != nil {
		return fmt.Errorf("%s: %w", driverName, err)
	}
	return d.commit(ctx, s, cmds)
}

// SetPortVLAN: see drivers.VLANSetter. Moving a port to the quarantine
// VLAN keeps the VLAN it belongs in in its description; moving it to any
// other VLAN clears that mark.
func (d *driver) SetPortVLAN(ctx context.Context, s drivers.Session, portName string, vlan int) error {
	name, err := canonicalPort(portName)
	if err != nil {
		return fmt.Errorf("%s: %w", driverName, err)
	}
	if vlan < 1 || vlan > 4094 {
		return fmt.Errorf("%s: port %s: VLAN %d: want 1-4094", driverName, name, vlan)
	}
	cur, err := d.device(ctx, s)
	if err != nil {
		return err
	}
	want := cur.clone()
	p := cur.ports[name]
	switch {
	case vlan == cur.qvlan && p.home != 0:
		return nil
	case vlan == cur.qvlan:
		if p.vlan == 0 {
			return fmt.Errorf("%s: port %s has no access VLAN of its own to come back to; Ward moves only the ports it manages", driverName, name)
		}
		want.ports[name] = port{vlan: vlan, home: p.vlan}
	default:
		want.ports[name] = port{vlan: vlan}
	}
	cmds, err := commands(cur, want)
	if err != nil {
		return fmt.Errorf("%s: %w", driverName, err)
	}
	return d.commit(ctx, s, cmds)
}

// ReadQuarantine: see drivers.QuarantineReader.
func (d *driver) ReadQuarantine(ctx context.Context, s drivers.Session) (drivers.QuarantineState, error) {
	cur, err := d.device(ctx, s)
	if err != nil {
		return drivers.QuarantineState{}, err
	}
	q, names, err := quarantineOf(cur)
	if err != nil {
		return drivers.QuarantineState{}, fmt.Errorf("%s: %w", driverName, err)
	}
	out := drivers.QuarantineState{}
	for kind, ps := range map[string][]netip.Prefix{"isolate": q.isolate, "restrict": q.restrict} {
		if names[kind] == "" || len(ps) == 0 {
			continue
		}
		if out.Sets == nil {
			out.Sets = map[string][]string{}
		}
		for _, p := range ps {
			if p.Bits() == 32 {
				out.Sets[names[kind]] = append(out.Sets[names[kind]], p.Addr().String())
			} else {
				out.Sets[names[kind]] = append(out.Sets[names[kind]], p.String())
			}
		}
	}
	if len(q.ports) > 0 {
		out.Ports = q.ports
	}
	return out, nil
}

var (
	_ drivers.Driver           = (*driver)(nil)
	_ drivers.SetUpdater       = (*driver)(nil)
	_ drivers.VLANSetter       = (*driver)(nil)
	_ drivers.QuarantineReader = (*driver)(nil)
	_ drivers.ConfigSessioner  = (*driver)(nil)
	_ drivers.CommitConfirmer  = (*driver)(nil)
	_ drivers.CapacityChecker  = (*driver)(nil)
)

// CanonicalPort spells an interface name as EOS shows it (Et5 is
// Ethernet5, Po10 Port-Channel10).
func (d *driver) CanonicalPort(name string) (string, error) { return canonicalPort(name) }

var _ drivers.PortNamer = (*driver)(nil)
