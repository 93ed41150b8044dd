package quarantine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// Enforcement runs off the path that decides. A decision commits, in the
// same transaction, one job per target that must change (syncJobs); the
// job's handler (push.go) reads what the store says now about that one
// device and makes that one target hold it. So a target that does not
// answer delays only its own jobs, a crash between the decision and the
// push leaves the job to run after the restart, and two jobs for the same
// device run in any order, or twice, and still converge.

// SyncJobKind is the kind of the jobs that make one target hold what the
// store says about one device's quarantine.
const SyncJobKind = "quarantine.sync"

// syncPayload is a sync job's payload: the device, never the level — the
// handler reads that from the store when it runs.
type syncPayload struct {
	DeviceID uint64 `json:"device_id"`
}

// syncKey makes a queued job cover every later change of the device on
// the target until it runs: it reads the store then.
func syncKey(target string, deviceID uint64) string {
	return fmt.Sprintf("qsync:%s:%d", target, deviceID)
}

// syncJobs returns the jobs that bring the targets in line with q, a
// quarantine as just decided (any status): one per firewall that can hold
// its addresses in a quarantine set, and one for its switch port when q
// records one. The caller enqueues them in the transaction that records
// q. A Manager that does not enforce returns none, and so does a pending
// quarantine.
func (m *Manager) syncJobs(q store.Quarantine) []store.Job {
	v := m.cur.Load()
	// A pending quarantine (held for a person) is a device's only open
	// one and its level is notify, before and after it ends: the targets
	// hold nothing for the device, and a storm of held alerts costs no
	// push.
	if m.noEnforce || v == nil || q.Status == StatusPending || q.Level == LevelNotify {
		return nil
	}
	payload, _ := json.Marshal(syncPayload{DeviceID: q.DeviceID})
	var out []store.Job
	add := func(target string) {
		out = append(out, store.Job{Kind: SyncJobKind, Target: target, Key: syncKey(target, q.DeviceID), Payload: string(payload)})
	}
	if len(splitAddrs(q.Addresses)) > 0 {
		for _, name := range slices.Sorted(maps.Keys(v.cfg.Targets)) {
			if _, ok := m.firewall(v.cfg, name); ok {
				add(name)
			}
		}
	}
	if q.SwitchPort != "" {
		if _, ok := m.accessSwitch(v.cfg, q.SwitchTarget); ok && !slices.ContainsFunc(out, func(j store.Job) bool { return j.Target == q.SwitchTarget }) {
			add(q.SwitchTarget)
		}
	}
	return out
}

// firewall returns the set updater of target name, if it is a firewall
// whose driver can change one quarantine set.
func (m *Manager) firewall(cfg *policy.Config, name string) (drivers.SetUpdater, bool) {
	d, ok := m.driver(cfg, name, drivers.RoleFirewall)
	if !ok {
		return nil, false
	}
	su, ok := d.(drivers.SetUpdater)
	return su, ok
}

// accessSwitch returns the VLAN setter of target name, if it is an access
// switch whose driver can move one port.
func (m *Manager) accessSwitch(cfg *policy.Config, name string) (drivers.VLANSetter, bool) {
	d, ok := m.driver(cfg, name, drivers.RoleAccessSwitch)
	if !ok {
		return nil, false
	}
	vs, ok := d.(drivers.VLANSetter)
	return vs, ok
}

func (m *Manager) driver(cfg *policy.Config, name string, role drivers.Role) (drivers.Driver, bool) {
	t := cfg.Targets[name]
	if t == nil || !t.HasRole(string(role)) || t.RenderOnly || m.reg == nil {
		return nil, false
	}
	info, ok := m.reg.Lookup(t.Driver)
	if !ok || info.New == nil {
		return nil, false
	}
	d, err := info.Open(t.Options)
	if err != nil {
		m.log.Error("quarantine: cannot build the driver of a target", "target", name, "err", err)
		return nil, false
	}
	return d, true
}

// applied returns the targets Ward has applied its configuration to: only
// they have the quarantine sets and the ports Ward manages.
func (m *Manager) applied(ctx context.Context) (map[string]bool, error) {
	states, err := m.st.TargetStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading which targets Ward has applied: %w", err)
	}
	out := make(map[string]bool, len(states))
	for _, s := range states {
		out[s.Target] = true
	}
	return out, nil
}

// recentPerDevice is how many of a device's newest quarantines a sync job
// looks at for addresses and ports the targets may still hold.
const recentPerDevice = 20

// deviceTruth is what the store says now about one device, for a sync job.
type deviceTruth struct {
	// recent are the device's newest quarantines, open or ended: what the
	// targets may hold for it.
	recent []store.Quarantine
	// active are every device's active quarantines: an address or port
	// the device shares with another quarantined device stays contained.
	active []store.Quarantine
	// ip is the device's address in the inventory now, if any.
	ip string
}

// readTruths reads what the store says now about devices ids, in order.
func (m *Manager) readTruths(ctx context.Context, v *view, ids []uint64) ([]*deviceTruth, error) {
	active, err := m.st.ActiveQuarantines(ctx)
	if err != nil {
		return nil, err
	}
	recent, err := m.st.RecentQuarantines(ctx, ids, recentPerDevice)
	if err != nil {
		return nil, err
	}
	out := make([]*deviceTruth, len(ids))
	for i, id := range ids {
		out[i] = &deviceTruth{recent: recent[id], active: active}
		if d := v.byID[id]; d != nil && d.inv.IP.IsValid() {
			out[i].ip = d.inv.IP.String()
		}
	}
	return out, nil
}

// subject is the quarantine a sync job's outcome is recorded on: the
// device's open one, else its newest (just ended).
func (t *deviceTruth) subject() *store.Quarantine {
	for i := range t.recent {
		if q := &t.recent[i]; q.Status == StatusActive || q.Status == StatusPending {
			return q
		}
	}
	if len(t.recent) > 0 {
		return &t.recent[0]
	}
	return nil
}

// wantLevels maps each address of the active quarantines to the strongest
// level one of them enforces (normalised addresses).
func wantLevels(active []store.Quarantine) map[string]string {
	want := map[string]string{}
	for _, q := range active {
		l := enforced(&q)
		for _, a := range splitAddrs(q.Addresses) {
			a = normAddr(a)
			if levelRank(l) > levelRank(want[a]) {
				want[a] = l
			}
		}
	}
	return want
}

// setChanges are the set commands that move addresses to their levels.
type setChanges struct {
	add, remove map[string][]string // set -> addresses
}

// levelChanges adds each address to the set of its level and removes it from the
// other. Adds come first (run goes in this order), so a device moving
// from restrict to isolate is never in neither set.
func levelChanges(addrs []string, want map[string]string) setChanges {
	c := setChanges{add: map[string][]string{}, remove: map[string][]string{}}
	for _, a := range addrs {
		switch want[normAddr(a)] {
		case LevelIsolate:
			c.add[intent.IsolateSet] = append(c.add[intent.IsolateSet], a)
			c.remove[intent.RestrictSet] = append(c.remove[intent.RestrictSet], a)
		case LevelRestrict:
			c.add[intent.RestrictSet] = append(c.add[intent.RestrictSet], a)
			c.remove[intent.IsolateSet] = append(c.remove[intent.IsolateSet], a)
		default:
			c.remove[intent.IsolateSet] = append(c.remove[intent.IsolateSet], a)
			c.remove[intent.RestrictSet] = append(c.remove[intent.RestrictSet], a)
		}
	}
	return c
}

// run sends the changes: every add, then every removal.
func (c setChanges) run(ctx context.Context, su drivers.SetUpdater, s drivers.Session) error {
	return c.runNoting(ctx, su, s, nil)
}

// runNoting is run, telling done (if set) of each command the target
// took, as soon as it took it: a caller cut off half-way still knows
// what changed.
func (c setChanges) runNoting(ctx context.Context, su drivers.SetUpdater, s drivers.Session, done func(set string, add bool, addrs []string)) error {
	for _, set := range []string{intent.IsolateSet, intent.RestrictSet} {
		if len(c.add[set]) > 0 {
			if err := su.AddToSet(ctx, s, set, c.add[set]); err != nil {
				return err
			}
			if done != nil {
				done(set, true, c.add[set])
			}
		}
	}
	for _, set := range []string{intent.IsolateSet, intent.RestrictSet} {
		if len(c.remove[set]) > 0 {
			if err := su.RemoveFromSet(ctx, s, set, c.remove[set]); err != nil {
				return err
			}
			if done != nil {
				done(set, false, c.remove[set])
			}
		}
	}
	return nil
}

// deviceChanges are the set changes that make a firewall hold the
// device's addresses — those of its quarantines and its address now — in
// the set of the level the active quarantines give each, or in none.
func deviceChanges(t *deviceTruth) setChanges {
	seen := map[string]bool{}
	var addrs []string
	for _, a := range append(quarantineAddrs(t.recent), t.ip) {
		if a != "" && !seen[normAddr(a)] {
			seen[normAddr(a)] = true
			addrs = append(addrs, a)
		}
	}
	return levelChanges(addrs, wantLevels(t.active))
}

// merge adds o's changes to c. Both were computed from one reading of the
// active quarantines, so an address never wants two levels.
func (c setChanges) merge(o setChanges) {
	for set, as := range o.add {
		c.add[set] = append(c.add[set], as...)
	}
	for set, as := range o.remove {
		c.remove[set] = append(c.remove[set], as...)
	}
}

func (c setChanges) empty() bool {
	for _, m := range []map[string][]string{c.add, c.remove} {
		for _, as := range m {
			if len(as) > 0 {
				return false
			}
		}
	}
	return true
}

// dedupe drops repeated addresses, so a batch sends each once.
func (c setChanges) dedupe() {
	for _, m := range []map[string][]string{c.add, c.remove} {
		for set, as := range m {
			seen := map[string]bool{}
			m[set] = slices.DeleteFunc(as, func(a string) bool {
				n := normAddr(a)
				dup := seen[n]
				seen[n] = true
				return dup
			})
		}
	}
}

// syncFirewall makes firewall target hold what the store says about the
// devices in truths, in one batch of set commands.
func (m *Manager) syncFirewall(ctx context.Context, target string, su drivers.SetUpdater, truths []*deviceTruth) error {
	c := setChanges{add: map[string][]string{}, remove: map[string][]string{}}
	for _, t := range truths {
		c.merge(deviceChanges(t))
	}
	c.dedupe()
	if c.empty() {
		return nil
	}
	return m.pool.Do(ctx, target, func(s drivers.Session) error { return c.run(ctx, su, s) })
}

func quarantineAddrs(qs []store.Quarantine) []string {
	var out []string
	for _, q := range qs {
		out = append(out, splitAddrs(q.Addresses)...)
	}
	return out
}

// switchPort is a port a device's quarantine recorded on a switch, with
// the VLAN it belongs in.
type switchPort struct {
	port string
	home int
}

// syncSwitch makes switch target hold the device's ports as the active
// quarantines say: in the quarantine VLAN while an isolate of a device
// on the port is active, else back in the port's own VLAN.
func (m *Manager) syncSwitch(ctx context.Context, v *view, target string, vs drivers.VLANSetter, t *deviceTruth) error {
	var ports []switchPort
	for _, q := range t.recent {
		if q.SwitchTarget == target && q.SwitchPort != "" && !slices.ContainsFunc(ports, func(p switchPort) bool { return p.port == q.SwitchPort }) {
			ports = append(ports, switchPort{q.SwitchPort, q.HomeVLAN})
		}
	}
	if len(ports) == 0 {
		return nil
	}
	isolated := isolatedPorts(t.active, target)
	known := make([]string, len(ports))
	for i, p := range ports {
		known[i] = p.port
	}
	return m.pool.Do(ctx, target, func(s drivers.Session) error {
		have, blind, err := readPorts(ctx, vs, s, known)
		if err != nil {
			return err
		}
		var errs []error
		for _, p := range ports {
			_, inQuarantine := have[p.port]
			switch {
			case isolated[p.port] != nil:
				if !blind && inQuarantine {
					continue
				}
				if v.cfg.Quarantine == nil || v.cfg.Quarantine.VLAN == 0 {
					errs = append(errs, fmt.Errorf("port %s: the policy in force has no quarantine VLAN to move it to", p.port))
					continue
				}
				errs = append(errs, vs.SetPortVLAN(ctx, s, p.port, v.cfg.Quarantine.VLAN))
			case blind || inQuarantine:
				home := cmp.Or(have[p.port], p.home, m.homeVLAN(v, p.port, target, vs))
				if home == 0 {
					errs = append(errs, fmt.Errorf("port %s is in the quarantine VLAN with no active quarantine, and its own VLAN is unknown: move it by hand", p.port))
					continue
				}
				errs = append(errs, vs.SetPortVLAN(ctx, s, p.port, home))
			}
		}
		return errors.Join(errs...)
	})
}

// isolatedPorts maps each port of switch target that an active isolate
// holds in the quarantine VLAN to that quarantine. A port with no VLAN of
// its own is not Ward's to move: it could not be put back.
func isolatedPorts(active []store.Quarantine, target string) map[string]*store.Quarantine {
	out := map[string]*store.Quarantine{}
	for i := range active {
		q := &active[i]
		if enforced(q) == LevelIsolate && q.SwitchTarget == target && q.SwitchPort != "" && q.HomeVLAN != 0 {
			out[q.SwitchPort] = q
		}
	}
	return out
}

// readPorts reads which ports are in the quarantine VLAN (and the VLAN
// each belongs in); without a reader it is blind. The device spells ports
// its own way (GigabitEthernet1/0/5 where the inventory says Gi1/0/5): a
// port that is one of known, as the driver spells names (PortNamer), is
// keyed by known's spelling, so the two sides compare.
func readPorts(ctx context.Context, vs drivers.VLANSetter, s drivers.Session, known []string) (have map[string]int, blind bool, err error) {
	rd, ok := vs.(drivers.QuarantineReader)
	if !ok {
		return map[string]int{}, true, nil
	}
	st, err := rd.ReadQuarantine(ctx, s)
	if err != nil {
		return nil, false, err
	}
	have = make(map[string]int, len(st.Ports))
	for port, home := range st.Ports {
		key := port
		if i := slices.IndexFunc(known, func(k string) bool { return drivers.SamePort(vs, k, port) }); i >= 0 {
			key = known[i]
		}
		have[key] = home
	}
	return have, false, nil
}

// homeVLAN is the VLAN of the zone of the inventory device on port of
// switch target (0: none), the port spelled either way (the inventory's,
// or the device's as the driver vs spells it).
func (m *Manager) homeVLAN(v *view, port, target string, vs drivers.VLANSetter) int {
	for _, d := range v.devices {
		if d.inv.Switch == target && drivers.SamePort(vs, d.inv.Port, port) {
			if z := v.cfg.Zones[d.zone]; z != nil {
				return z.VLAN
			}
		}
	}
	return 0
}

func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// normAddr writes an address or single-address prefix one way, so that
// 10.0.0.1, 10.0.0.1/32 and ::ffff:10.0.0.1 compare equal.
func normAddr(a string) string {
	if p, err := netip.ParsePrefix(a); err == nil && p.IsSingleIP() {
		return p.Addr().Unmap().String()
	}
	if ip, err := netip.ParseAddr(a); err == nil {
		return ip.Unmap().String()
	}
	return a
}

// diffAddrs compares wanted set members with those on the target. Without
// a reader (blind), everything wanted is added and nothing removed.
func diffAddrs(want, have []string, blind bool) (add, remove []string) {
	w, h := map[string]bool{}, map[string]bool{}
	for _, a := range want {
		w[normAddr(a)] = true
	}
	for _, a := range have {
		h[normAddr(a)] = true
	}
	for a := range w {
		if blind || !h[a] {
			add = append(add, a)
		}
	}
	for a := range h {
		if !w[a] {
			remove = append(remove, a)
		}
	}
	sort.Strings(add)
	sort.Strings(remove)
	return add, remove
}
