// Package quarantine contains devices that an IDS or SIEM flags, without
// cutting a life-critical device off from the flows a patient depends on.
//
// Start with Manager: Intake takes alerts (normalised by the alert
// subpackage), matches each to an inventory device by IP or MAC, asks the
// Rego decision (package ward.quarantine: decision.go, policy/rego/
// quarantine.rego) what to do, and records it together with the push jobs
// that enforce it incrementally (enforce.go, push.go) — an address added to
// a quarantine set on every firewall Ward manages, and for an isolate the
// device's switch port moved to the quarantine VLAN — run per target over
// SSH sessions kept open in a Pool. Quarantine (a person's request),
// Approve, Release, ExpireDue and Reconcile complete the lifecycle; every
// change is in the store and the audit log, so a restart neither drops nor
// forgets a quarantine. Preview (preview.go) says what a quarantine of a
// device would do without recording anything; TimelineOf (timeline.go)
// reads one quarantine's recorded history for reviewers.
//
// The database decides, not this process: a device has at most one open
// quarantine (a unique index), every decision runs in one store transaction
// that excludes other deciders in any process (store.QuarantineDecision),
// approvals, releases and expiries are conditional updates, and the storm
// guard counts the last hour's automatic actions in the store. So the CLI,
// several ward serve replicas and the scheduler may act at once.
//
// Whatever the decision module says, Manager never quarantines a device
// labelled protected=true or a target's own address, never isolates a
// device in an essential flow (or of a criticality in approval_required)
// without a person's approval, and holds automatic actions beyond
// max_auto_per_hour for a person: a pending quarantine, listed with the
// approvals, that expires unapproved after the policy's pending_ttl.
package quarantine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// Quarantine statuses (store.Quarantine*): a device has at most one open
// quarantine, active or pending.
const (
	StatusActive   = store.QuarantineActive
	StatusPending  = store.QuarantinePending
	StatusReleased = store.QuarantineReleased
	StatusExpired  = store.QuarantineExpired
)

// Options are a Manager's dependencies.
type Options struct {
	Store *store.Store
	// Policy is the policy in force. The Manager compiles the decision and
	// places the inventory for the generation it holds, and again whenever
	// the generation changes.
	Policy  *inforce.Holder
	Drivers *drivers.Registry
	// Dial opens sessions to targets (kept open in a Pool).
	Dial DialFunc
	// NoEnforce records and decides but changes no target: for measuring
	// intake, and for a Ward with no targets yet.
	NoEnforce bool
	Logger    *slog.Logger
	// OnPushError, when set, is called for each target a quarantine change
	// could not be pushed to (for metrics).
	OnPushError func(target string, err error)
}

// Manager is the quarantine subsystem of one Ward process. Its decisions
// are the database's (see the package comment); what it keeps in memory is
// derived from the policy in force and the inventory, rebuilt when either
// changes.
type Manager struct {
	st        *store.Store
	holder    *inforce.Holder
	reg       *drivers.Registry
	pool      *Pool
	log       *slog.Logger
	noEnforce bool
	onPushErr func(target string, err error)
	// enf runs pushes as jobs, per target (push.go).
	enf enforcement

	// cur is the view for the policy generation and inventory load it was
	// built from; rebuild serialises building a new one, so concurrent
	// callers compile a new policy once (a local optimisation: nothing is
	// decided under it).
	cur     atomic.Pointer[view]
	rebuild sync.Mutex
	invGen  atomic.Uint64 // bumped by Reload, and by inventoryMoved
	// inv is the inventory version (store.InventoryVersion) last seen and
	// when it was looked at: another process's import (the CLI, another
	// replica) is noticed within invRecheck.
	inv struct {
		sync.Mutex
		version string
		checked time.Time
	}
}

// invRecheck is how often the Manager looks whether another process
// changed the inventory: an alert about a device imported elsewhere is
// matched within it.
const invRecheck = time.Second

// view is what the Manager derives from one policy generation and one
// reading of the inventory. It is never changed once built.
type view struct {
	gen, invGen uint64
	cfg         *policy.Config
	decider     *Decider
	devices     map[string]*device // by name
	byID        map[uint64]*device
	byIP        map[netip.Addr]*device
	byMAC       map[string]*device
	targetIPs   map[netip.Addr]string
	docQ        *policy.DocQuarantine
}

// device is an inventory device as quarantine needs it.
type device struct {
	id        uint64
	inv       inventory.Device
	zone      string
	essential []string // essential flows it takes part in
}

// New builds a Manager: it loads the inventory from the store, places it
// with the policy in force and compiles the decision.
func New(ctx context.Context, o Options) (*Manager, error) {
	if o.Policy == nil {
		return nil, errors.New("quarantine: no policy holder (Options.Policy)")
	}
	m := &Manager{st: o.Store, holder: o.Policy, reg: o.Drivers, log: o.Logger, noEnforce: o.NoEnforce, onPushErr: o.OnPushError}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if o.Dial != nil {
		m.pool = NewPool(o.Dial)
	} else {
		m.noEnforce = true
	}
	if _, err := m.view(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Sessions reports the pool of SSH sessions the Manager keeps open.
func (m *Manager) Sessions() PoolStats {
	if m.pool == nil {
		return PoolStats{}
	}
	return m.pool.Stats()
}

// Close closes the sessions the Manager keeps open.
func (m *Manager) Close() {
	if m.pool != nil {
		m.pool.Close()
	}
}

// Reload reads the inventory again and places it.
func (m *Manager) Reload(ctx context.Context) error {
	m.invGen.Add(1)
	_, err := m.view(ctx)
	return err
}

// view returns the view of the policy in force, building it when the
// policy's generation or the inventory changed since the last one.
func (m *Manager) view(ctx context.Context) (*view, error) {
	p := m.holder.Load()
	if p == nil {
		return nil, errors.New("no policy is in force: load a valid policy (ward validate) before quarantining")
	}
	m.inventoryMoved(ctx)
	inv := m.invGen.Load()
	if v := m.cur.Load(); v != nil && v.gen == p.Gen && v.invGen == inv {
		return v, nil
	}
	m.rebuild.Lock()
	defer m.rebuild.Unlock()
	old := m.cur.Load()
	if old != nil && old.gen == p.Gen && old.invGen == inv {
		return old, nil
	}
	dec := (*Decider)(nil)
	if old != nil && old.gen == p.Gen {
		dec = old.decider
	} else {
		var err error
		if dec, err = NewDecider(ctx, p.Config); err != nil {
			return nil, err
		}
	}
	v, err := m.load(ctx, p, dec)
	if err != nil {
		return nil, err
	}
	v.gen, v.invGen = p.Gen, inv
	m.cur.Store(v)
	if old != nil && old.gen != v.gen && m.pool != nil {
		// Targets are dialled as the new policy describes them.
		m.pool.Reset()
	}
	return v, nil
}

// inventoryMoved bumps invGen when the store's inventory version moved
// since it last looked, looking at most every invRecheck. A version that
// cannot be read keeps the view, and is logged.
func (m *Manager) inventoryMoved(ctx context.Context) {
	m.inv.Lock()
	if !m.inv.checked.IsZero() && time.Since(m.inv.checked) < invRecheck {
		m.inv.Unlock()
		return
	}
	m.inv.checked = time.Now()
	m.inv.Unlock()
	version, err := m.st.InventoryVersion(ctx)
	if err != nil {
		m.log.Warn("could not read the inventory's version; matching alerts with the inventory as last read", "err", err)
		return
	}
	m.inv.Lock()
	defer m.inv.Unlock()
	if version != m.inv.version {
		m.inv.version = version
		m.invGen.Add(1)
	}
}

// load reads the inventory and places it with policy p.
func (m *Manager) load(ctx context.Context, p *inforce.Policy, dec *Decider) (*view, error) {
	cfg := p.Config
	rows, err := m.st.CurrentDevices(ctx)
	if err != nil {
		return nil, err
	}
	invs := make([]inventory.Device, len(rows))
	for i, r := range rows {
		invs[i] = inventory.FromRow(r)
	}
	e, diags := engine.New(ctx, cfg, invs)
	if diags.HasErrors() {
		return nil, fmt.Errorf("loading the policy: %s", diags.Error())
	}
	res, err := e.Evaluate(ctx)
	if err != nil {
		return nil, err
	}
	v := &view{cfg: cfg, decider: dec, devices: map[string]*device{}, byID: map[uint64]*device{},
		byIP: map[netip.Addr]*device{}, byMAC: map[string]*device{}, targetIPs: map[netip.Addr]string{}}
	for i, r := range rows {
		d := &device{id: r.ID, inv: invs[i], zone: res.Zone[r.Name]}
		d.essential = essentialFlows(cfg, res, d)
		v.devices[r.Name], v.byID[r.ID] = d, d
		if d.inv.IP.IsValid() {
			v.byIP[d.inv.IP.Unmap()] = d
		}
		if d.inv.MAC != "" {
			v.byMAC[d.inv.MAC] = d
		}
	}
	for name, t := range cfg.Targets {
		if a, err := netip.ParseAddr(t.Address); err == nil {
			v.targetIPs[a.Unmap()] = name
		}
	}
	// The holder built the document when it put p in force.
	v.docQ = p.Doc.Quarantine
	if v.docQ == nil {
		v.docQ = &policy.DocQuarantine{Action: map[string]string{}, ApprovalRequired: []string{}, MinSeverity: "low"}
	}
	return v, nil
}

// essentialFlows lists the essential flows in force that the device takes
// part in: its zone, or a network holding its address, at either end.
func essentialFlows(cfg *policy.Config, res *engine.Result, d *device) []string {
	var out []string
	for name, f := range res.Flows {
		if !f.Essential {
			continue
		}
		if refsHold(cfg, f.From, d) || refsHold(cfg, f.To, d) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func refsHold(cfg *policy.Config, refs []policy.DocRef, d *device) bool {
	for _, r := range refs {
		switch r.Kind {
		case "zone":
			if d.zone != "" && r.Name == d.zone {
				return true
			}
		case "network":
			if n := cfg.Networks[r.Name]; n != nil {
				for _, p := range n.CIDRs {
					if p.Contains(d.inv.IP) {
						return true
					}
				}
			}
		}
	}
	return false
}

// Result is what happened to one alert.
type Result struct {
	Source       string `json:"source"`
	ID           string `json:"id"`
	AlertID      uint64 `json:"alert_id"`
	Status       string `json:"status"` // "recorded" or "duplicate"
	Device       string `json:"device,omitempty"`
	Action       string `json:"action"` // isolate, restrict, notify, none
	Pending      string `json:"pending,omitempty"`
	QuarantineID uint64 `json:"quarantine_id,omitempty"`
	// Held reports the storm guard held the alert for a person: a pending
	// quarantine (QuarantineID) waits for approval.
	Held         bool   `json:"held,omitempty"`
	Reason       string `json:"reason"`
	EnforceError string `json:"enforce_error,omitempty"`
}

// Intake handles alerts one by one, in order. An error is returned only
// when the store fails; every alert handled before it is recorded.
func (m *Manager) Intake(ctx context.Context, alerts []alert.Alert) ([]Result, error) {
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(alerts))
	for _, a := range alerts {
		r, err := m.intakeOne(ctx, v, a)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// change is what a decision does to a device's open quarantine.
type change struct {
	seen *store.Quarantine // the open quarantine as read, or nil: a new one
	q    *store.Quarantine // its new state
	from string            // the level enforced before it ("": none)
	push bool              // the targets must move from from to q.Level
}

// enforced is the level a quarantine has the targets enforce: none for a
// pending or ended one.
func enforced(q *store.Quarantine) string {
	if q == nil || q.Status != StatusActive || q.Level == LevelNotify {
		return ""
	}
	return q.Level
}

func (m *Manager) intakeOne(ctx context.Context, v *view, a alert.Alert) (Result, error) {
	// A resolved notification carries the ID of the alert it ends: it is
	// recorded on its own, once.
	extID := a.ID
	if a.Resolved {
		extID += "#resolved"
	}
	d, matchedIP := v.match(a)
	actor := "alert:" + a.Source
	var pre *early
	if d != nil && !a.Resolved {
		var err error
		if pre, err = m.decideEarly(ctx, v, d, a); err != nil {
			return Result{Source: a.Source, ID: a.ID}, fmt.Errorf("recording alert %s/%s: %w", a.Source, a.ID, err)
		}
	}
	var r Result
	var c *change
	decide := func(tx *store.QuarantineTx) error {
		r, c = Result{Source: a.Source, ID: a.ID, Status: "recorded", Action: "none"}, nil
		row := store.Alert{Source: a.Source, ExternalID: extID, Severity: string(a.Severity), MAC: a.MAC,
			Signature: a.Signature, Raw: string(a.Raw), Format: a.Format, ReceivedAt: tx.Now()}
		if len(a.Addresses) > 0 {
			row.IP = a.Addresses[0].String()
		}
		switch {
		case a.Resolved:
			r.Reason = "resolved: recorded, no action"
		case d == nil && matchedIP.IsValid():
			r.Reason = fmt.Sprintf("%s is target %s: Ward never quarantines its own targets", matchedIP, v.targetIPs[matchedIP])
		case d == nil:
			r.Reason = "no device in the inventory has this alert's addresses or MAC: recorded, no action"
		default:
			r.Device = d.inv.Name
			row.DeviceID = &d.id
			row.IP = d.inv.IP.String()
			var err error
			if c, err = m.decideAlert(ctx, tx, v, d, a, pre, &r); err != nil {
				return err
			}
			if c == nil && r.QuarantineID != 0 {
				row.QuarantineID = &r.QuarantineID
			}
		}
		row.Action, row.Decision = r.Action, r.Reason
		if c != nil {
			detail := map[string]any{"alert_source": a.Source, "alert_id": a.ID, "reason": r.Reason, "via": a.Via}
			if err := m.save(tx, v, c, actor, detail); err != nil {
				return err
			}
			row.QuarantineID = &c.q.ID
			r.QuarantineID = c.q.ID
		}
		// A duplicate is found when its insert conflicts, which rolls back
		// everything its decision would have recorded.
		if ok, err := tx.RecordAlert(&row); err != nil {
			return err
		} else if !ok {
			return errDuplicate
		}
		r.AlertID = row.ID
		if c != nil && c.q.AlertID == nil {
			c.q.AlertID = &row.ID
			return tx.LinkAlert(c.q.ID, row.ID)
		}
		return nil
	}
	err := m.decideRetrying(ctx, decide)
	if errors.Is(err, errDuplicate) {
		dup, err := m.st.FindAlert(ctx, a.Source, extID)
		if err != nil {
			return r, err
		}
		return v.duplicate(r, *dup), nil
	}
	if err != nil {
		return r, fmt.Errorf("recording alert %s/%s: %w", a.Source, a.ID, err)
	}
	if c != nil && c.push {
		r.EnforceError = m.finishEnforce(ctx, c.q)
	}
	m.log.Info("alert", "source", a.Source, "id", a.ID, "device", r.Device, "action", r.Action, "pending", r.Pending, "held", r.Held, "reason", r.Reason)
	return r, nil
}

// decideRetrying runs one decision transaction, and once more if the
// database refused a second open quarantine for the device: the new run
// sees the open one and acts on it as the decision logic says.
func (m *Manager) decideRetrying(ctx context.Context, fn func(*store.QuarantineTx) error) error {
	err := m.st.QuarantineDecision(ctx, fn)
	var open *store.OpenQuarantineError
	if errors.As(err, &open) {
		m.log.Warn("a second open quarantine was refused by the database; deciding again on the open one", "device_id", open.DeviceID, "open", open.Open.ID)
		err = m.st.QuarantineDecision(ctx, fn)
	}
	return err
}

// early is a decision evaluated before the decision transaction, on the
// device's open quarantine as read then: the Rego evaluation (which may
// take up to its deadline) does not hold the lock that excludes every
// other decider. The transaction uses it only if the open quarantine is
// still the same.
type early struct {
	cur *store.Quarantine
	dec Decision
}

// decideEarly reads d's open quarantine and evaluates the decision on it,
// outside any transaction.
func (m *Manager) decideEarly(ctx context.Context, v *view, d *device, a alert.Alert) (*early, error) {
	cur, err := m.st.OpenQuarantine(ctx, d.id)
	if err != nil {
		return nil, err
	}
	return &early{cur: cur, dec: m.decideAlertRego(ctx, v, d, cur, a)}, nil
}

// decideAlertRego evaluates the decision for an alert about d; a failed
// evaluation is notify with the reason, so no alert is lost to a broken
// decision module.
func (m *Manager) decideAlertRego(ctx context.Context, v *view, d *device, cur *store.Quarantine, a alert.Alert) Decision {
	dec, err := m.decide(ctx, v, d, cur, DecisionRequest{}, &DecisionAlert{Source: a.Source, ID: a.ID,
		Severity: string(a.Severity), Signature: a.Signature, Format: a.Format})
	if err != nil {
		m.log.Error("quarantine decision failed", "device", d.inv.Name, "error", err)
		dec = Decision{Action: LevelNotify, Reason: "the quarantine decision failed (" + err.Error() + "); a person decides"}
	}
	return dec
}

// sameOpen reports whether two readings of a device's open quarantine
// agree on what a decision depends on.
func sameOpen(a, b *store.Quarantine) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ID == b.ID && a.Status == b.Status && a.Level == b.Level && a.PendingLevel == b.PendingLevel
}

// decideAlert decides what an alert does to device d, inside the decision
// transaction, and fills r. It returns the change to record, or nil.
func (m *Manager) decideAlert(ctx context.Context, tx *store.QuarantineTx, v *view, d *device, a alert.Alert, pre *early, r *Result) (*change, error) {
	cur, err := tx.Open(d.id)
	if err != nil {
		return nil, err
	}
	dec := pre.dec
	if !sameOpen(cur, pre.cur) {
		// Another decision changed the device's quarantine since: decide
		// again on what is open now (rare; under the lock).
		dec = m.decideAlertRego(ctx, v, d, cur, a)
	}
	actor := "alert:" + a.Source
	held, n, err := m.storm(tx, v, cur, dec)
	if err != nil {
		return nil, err
	}
	if held {
		c, reason := m.hold(v, d, cur, dec, n, actor, tx.Now())
		r.Action, r.Pending, r.Reason, r.Held = LevelNotify, dec.Action, reason, true
		if c == nil {
			r.QuarantineID = cur.ID
			r.Reason += fmt.Sprintf("; already waiting for a person (#%d)", cur.ID)
		}
		return c, nil
	}
	r.Action, r.Pending, r.Reason = dec.Action, dec.Pending, dec.Reason
	c := m.plan(v, d, cur, dec, actor, "", 0, tx.Now())
	switch {
	case c == nil && cur != nil:
		r.Action, r.Pending = "none", ""
		r.Reason = fmt.Sprintf("already quarantined (%s, #%d): recorded against it; decision was: %s", describeLevel(cur), cur.ID, dec.Reason)
		r.QuarantineID = cur.ID
	case c != nil && !c.push:
		r.Action = LevelNotify // only a pending level: a person decides
	}
	return c, nil
}

// storm is the blast-radius guard: an automatic action that would start
// or strengthen a quarantine is held for a person when max_auto_per_hour
// automatic actions were taken in the last hour. The count is the
// store's, read inside the decision transaction that excludes every other
// decider, so it holds across processes; "the last hour" is by the
// store's clock, and actions stamped in its future (the clock went back)
// still count.
func (m *Manager) storm(tx *store.QuarantineTx, v *view, cur *store.Quarantine, dec Decision) (held bool, n int, err error) {
	q := v.cfg.Quarantine
	if q == nil || dec.Action == LevelNotify || (cur != nil && levelRank(dec.Action) <= levelRank(enforced(cur))) {
		return false, 0, nil
	}
	n, err = tx.AutomaticActionsSince(tx.Now().Add(-time.Hour))
	if err != nil {
		return false, 0, err
	}
	return n >= q.MaxAutoPerHour, n, nil
}

// hold turns a decision the storm guard held into a quarantine waiting
// for a person: a new pending one, or a stronger pending level on the
// device's open one. It returns nil when the open one already waits for
// as much.
func (m *Manager) hold(v *view, d *device, cur *store.Quarantine, dec Decision, n int, actor string, now time.Time) (*change, string) {
	q := v.cfg.Quarantine
	reason := fmt.Sprintf("held by the storm guard: %d automatic actions in the last hour, max_auto_per_hour %d; a person decides (ward approve) — would have been %s: %s",
		n, q.MaxAutoPerHour, dec.Action, dec.Reason)
	if cur == nil {
		exp := now.Add(cmp.Or(q.PendingTTL, policy.DefaultPendingTTL))
		nq := &store.Quarantine{DeviceID: d.id, Level: LevelNotify, PendingLevel: dec.Action, Status: StatusPending,
			Reason: reason, CreatedBy: actor, CreatedAt: now, ExpiresAt: &exp, Addresses: d.inv.IP.String()}
		if dec.Action == LevelIsolate {
			m.fillSwitch(v, nq, d)
		}
		return &change{q: nq}, reason
	}
	if levelRank(dec.Action) <= levelRank(cur.PendingLevel) || levelRank(dec.Action) <= levelRank(cur.Level) {
		return nil, reason
	}
	nq := *cur
	nq.PendingLevel = dec.Action
	if dec.Action == LevelIsolate {
		m.fillSwitch(v, &nq, d)
	}
	return &change{seen: cur, q: &nq, from: enforced(cur)}, reason
}

var errDuplicate = errors.New("duplicate alert")

// duplicate reports an alert received before, as it was recorded then.
func (v *view) duplicate(r Result, dup store.Alert) Result {
	r.Status, r.AlertID, r.Action, r.Pending, r.Device = "duplicate", dup.ID, dup.Action, "", ""
	r.Reason, r.QuarantineID, r.EnforceError, r.Held = "already received: "+dup.Decision, 0, "", false
	if dup.DeviceID != nil {
		r.Device = v.deviceName(*dup.DeviceID)
	}
	if dup.QuarantineID != nil {
		r.QuarantineID = *dup.QuarantineID
	}
	return r
}

// match finds the alert's device: by its addresses in order, then its MAC.
// An address that is a target's returns (nil, that address).
func (v *view) match(a alert.Alert) (*device, netip.Addr) {
	for _, ip := range a.Addresses {
		ip = ip.Unmap()
		if _, ok := v.targetIPs[ip]; ok {
			return nil, ip
		}
		if d := v.byIP[ip]; d != nil {
			return d, netip.Addr{}
		}
	}
	if d := v.byMAC[a.MAC]; a.MAC != "" && d != nil {
		return d, netip.Addr{}
	}
	return nil, netip.Addr{}
}

// decide evaluates the decision for d and applies the guards Ward keeps
// whatever the module says (the storm guard apart: see storm). cur is the
// device's open quarantine, or nil.
func (m *Manager) decide(ctx context.Context, v *view, d *device, cur *store.Quarantine, req DecisionRequest, al *DecisionAlert) (Decision, error) {
	in := DecisionInput{Request: req, Alert: al, Quarantine: v.docQ,
		Device: DecisionDevice{Name: d.inv.Name, Class: d.inv.Class, Vendor: d.inv.Vendor, Criticality: d.inv.Criticality,
			Zone: d.zone, Labels: nonNilMap(d.inv.Labels), EssentialFlows: nonNilSlice(d.essential)}}
	if cur != nil {
		in.Current = DecisionCurrent{Level: enforced(cur), Pending: cur.PendingLevel}
	}
	dec, err := v.decider.Decide(ctx, in)
	if err != nil {
		return Decision{}, err
	}
	q := v.cfg.Quarantine
	switch {
	case strings.EqualFold(d.inv.Labels["protected"], "true"):
		return Decision{Action: LevelNotify, Reason: "the device is labelled protected=true: Ward never quarantines it"}, nil
	case q == nil && dec.Action != LevelNotify:
		return Decision{Action: LevelNotify, Reason: "the policy has no quarantine block"}, nil
	}
	// An isolate breaks every flow but remediation: never without a person
	// for a device in an essential flow or of a criticality that needs one.
	if dec.Action == LevelIsolate && len(isolateApprovalReasons(q, d)) > 0 {
		dec = Decision{Action: LevelRestrict, Pending: LevelIsolate,
			Reason: dec.Reason + "; isolate waits for approval (essential flows or approval_required), restricted meanwhile"}
	}
	return dec, nil
}

// isolateApprovalReasons says why an isolate of d waits for a person
// (essential flows, a criticality in approval_required); none: it does not.
func isolateApprovalReasons(q *policy.Quarantine, d *device) []string {
	var out []string
	if q != nil && slices.Contains(q.ApprovalRequired, d.inv.Criticality) {
		out = append(out, fmt.Sprintf("criticality %s is in approval_required", d.inv.Criticality))
	}
	if len(d.essential) > 0 {
		out = append(out, fmt.Sprintf("the device takes part in essential flows (%s)", strings.Join(d.essential, ", ")))
	}
	return out
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// plan turns a decision into the change of the device's open quarantine
// cur (nil: none), or nil when the decision changes nothing.
func (m *Manager) plan(v *view, d *device, cur *store.Quarantine, dec Decision, actor, reason string, ttl time.Duration, now time.Time) *change {
	if dec.Action == LevelNotify && dec.Pending == "" {
		return nil
	}
	if ttl <= 0 && v.cfg.Quarantine != nil {
		ttl = v.cfg.Quarantine.TTLFor(dec.Action)
	}
	if cur == nil {
		if dec.Action == LevelNotify {
			return nil
		}
		exp := now.Add(ttl)
		q := &store.Quarantine{DeviceID: d.id, Level: dec.Action, PendingLevel: dec.Pending, Status: StatusActive,
			Reason: cmp.Or(reason, dec.Reason), CreatedBy: actor, CreatedAt: now, ExpiresAt: &exp,
			Addresses: d.inv.IP.String()}
		if dec.Action == LevelIsolate || dec.Pending == LevelIsolate {
			m.fillSwitch(v, q, d)
		}
		return &change{q: q, push: true}
	}
	q := *cur
	c := &change{seen: cur, q: &q, from: enforced(cur)}
	changed := false
	if levelRank(dec.Action) > levelRank(c.from) {
		q.Level = dec.Action
		changed, c.push = true, true
		if q.Status == StatusPending {
			// A quarantine held for a person becomes active: its time
			// starts now.
			q.Status = StatusActive
			exp := now.Add(ttl)
			q.ExpiresAt = &exp
			q.Reason = cmp.Or(reason, dec.Reason)
		}
		if q.Level == LevelIsolate {
			m.fillSwitch(v, &q, d)
		}
	}
	if dec.Pending != "" && levelRank(dec.Pending) > levelRank(q.Level) && q.PendingLevel != dec.Pending {
		q.PendingLevel = dec.Pending
		m.fillSwitch(v, &q, d)
		changed = true
	}
	if q.PendingLevel != "" && levelRank(q.PendingLevel) <= levelRank(q.Level) {
		q.PendingLevel = ""
		changed = changed || cur.PendingLevel != ""
	}
	if !changed {
		return nil
	}
	return c
}

// fillSwitch records the device's switch port and its own VLAN, for an
// isolate and its release.
func (m *Manager) fillSwitch(v *view, q *store.Quarantine, d *device) {
	if d.inv.Switch == "" || d.inv.Port == "" {
		return
	}
	q.SwitchTarget, q.SwitchPort = d.inv.Switch, d.inv.Port
	if z := v.cfg.Zones[d.zone]; z != nil {
		q.HomeVLAN = z.VLAN
	}
}

// save records change c in tx with its audit event and the push jobs that
// enforce it (enforce.go), committed together: a crash after the commit
// leaves the jobs to run after the restart.
func (m *Manager) save(tx *store.QuarantineTx, v *view, c *change, actor string, detail map[string]any) error {
	q := c.q
	action := "quarantine.update"
	if c.seen == nil {
		action = "quarantine.create"
	}
	detail["level"], detail["pending"], detail["status"], detail["expires_at"] = q.Level, q.PendingLevel, q.Status, q.ExpiresAt
	// What a restrict keeps open, as decided: the timeline shows this,
	// not a recomputation under a later policy or inventory.
	detail["essential_flows"] = []string{}
	if d := v.byID[q.DeviceID]; d != nil {
		detail["essential_flows"] = nonNilSlice(d.essential)
	}
	ev := store.AuditEntry{Actor: actor, Action: action, Object: v.deviceName(q.DeviceID), Detail: detail}
	// Only a change of what the targets enforce needs pushing: an alert
	// held for a person, or a level waiting for approval, enqueues
	// nothing (in an alert storm, that is most of them).
	var jobs []store.Job
	if c.push {
		jobs = m.syncJobs(*q)
	}
	if c.seen == nil {
		return tx.CreateQuarantine(q, ev, jobs)
	}
	return tx.UpdateQuarantine(*c.seen, q, ev, jobs)
}

func (v *view) deviceName(id uint64) string {
	if d := v.byID[id]; d != nil {
		return d.inv.Name
	}
	return fmt.Sprintf("device #%d", id)
}

// finishEnforce has the targets carry out the jobs q's committed change
// enqueued (push.go: with ward serve's queue it only wakes the queue) and
// returns what they reported.
func (m *Manager) finishEnforce(ctx context.Context, q *store.Quarantine) string {
	msg := m.afterCommit(ctx, q)
	q.EnforceError = msg
	return msg
}
