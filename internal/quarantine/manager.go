// Package quarantine contains devices that an IDS or SIEM flags, without
// cutting a life-critical device off from the flows a patient depends on.
//
// Start with Manager: Intake takes alerts (normalised by the alert
// subpackage), matches each to an inventory device by IP or MAC, asks the
// Rego decision (package ward.quarantine: decision.go, policy/rego/
// quarantine.rego) what to do, records it, and enforces it incrementally —
// an address added to a quarantine set on every firewall Ward manages, and
// for an isolate the device's switch port moved to the quarantine VLAN —
// over SSH sessions kept open in a Pool. Quarantine (a person's request),
// Approve, Release, ExpireDue and Reconcile complete the lifecycle; every
// change is in the store and the audit log, so a restart neither drops nor
// forgets a quarantine.
//
// Whatever the decision module says, Manager never quarantines a device
// labelled protected=true or a target's own address, never isolates a
// device in an essential flow (or of a criticality in approval_required)
// without a person's approval, and turns automatic actions beyond
// max_auto_per_hour into notify.
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
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Quarantine statuses.
const (
	StatusActive   = "active"
	StatusReleased = "released"
	StatusExpired  = "expired"
)

// Options are a Manager's dependencies.
type Options struct {
	Store   *store.Store
	Config  *policy.Config
	Drivers *drivers.Registry
	// Dial opens sessions to targets (kept open in a Pool).
	Dial DialFunc
	// NoEnforce records and decides but changes no target: for measuring
	// intake, and for a Ward with no targets yet.
	NoEnforce bool
	Now       func() time.Time
	Logger    *slog.Logger
	// OnPushError, when set, is called for each target a quarantine change
	// could not be pushed to (for metrics).
	OnPushError func(target string, err error)
}

// Manager is the quarantine subsystem of one Ward process.
type Manager struct {
	st        *store.Store
	db        *gorm.DB // st.DB with prepared statements cached: intake runs the same few queries
	cfg       *policy.Config
	reg       *drivers.Registry
	pool      *Pool
	decider   *Decider
	now       func() time.Time
	log       *slog.Logger
	noEnforce bool
	onPushErr func(target string, err error)

	// mu serialises decisions and their enforcement, so the storm guard
	// counts exactly and one device's quarantine steps happen in order.
	mu        sync.Mutex
	devices   map[string]*device // by name
	byID      map[uint64]*device
	byIP      map[netip.Addr]*device
	byMAC     map[string]*device
	targetIPs map[netip.Addr]string
	docQ      *policy.DocQuarantine
	// autoTimes are the times of the automatic actions in the last hour,
	// oldest first: the storm guard's window (read from the store at start).
	autoTimes []time.Time
}

// device is an inventory device as quarantine needs it.
type device struct {
	id        uint64
	inv       inventory.Device
	zone      string
	essential []string // essential flows it takes part in
}

// New builds a Manager: it loads the inventory from the store, places it
// with the policy and compiles the decision.
func New(ctx context.Context, o Options) (*Manager, error) {
	m := &Manager{st: o.Store, db: o.Store.DB.Session(&gorm.Session{PrepareStmt: true}), cfg: o.Config, reg: o.Drivers, now: o.Now, log: o.Logger, noEnforce: o.NoEnforce, onPushErr: o.OnPushError}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if o.Dial != nil {
		m.pool = NewPool(o.Dial)
	} else {
		m.noEnforce = true
	}
	if err := m.SetConfig(ctx, o.Config); err != nil {
		return nil, err
	}
	return m, nil
}

// SetConfig switches the Manager to a new policy: it compiles the policy's
// decision and places the inventory with it. Active quarantines stay as
// they are; sessions to targets are closed, so the next push dials the
// targets as the new policy describes them. On error nothing changes.
func (m *Manager) SetConfig(ctx context.Context, cfg *policy.Config) error {
	dec, err := NewDecider(ctx, cfg)
	if err != nil {
		return err
	}
	if err := m.load(ctx, cfg, dec); err != nil {
		return err
	}
	if m.pool != nil {
		m.pool.Reset()
	}
	return nil
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
	m.mu.Lock()
	cfg, dec := m.cfg, m.decider
	m.mu.Unlock()
	return m.load(ctx, cfg, dec)
}

// load reads the inventory, places it with cfg, and makes cfg and dec the
// Manager's.
func (m *Manager) load(ctx context.Context, cfg *policy.Config, dec *Decider) error {
	var rows []store.Device
	if err := m.db.WithContext(ctx).Where("removed_at IS NULL").Find(&rows).Error; err != nil {
		return fmt.Errorf("reading the inventory: %w", err)
	}
	invs := make([]inventory.Device, len(rows))
	for i, r := range rows {
		invs[i] = inventory.FromRow(r)
	}
	e, diags := engine.New(ctx, cfg, invs)
	if diags.HasErrors() {
		return fmt.Errorf("loading the policy: %s", diags.Error())
	}
	res, err := e.Evaluate(ctx)
	if err != nil {
		return err
	}
	devices := map[string]*device{}
	byID := map[uint64]*device{}
	byIP := map[netip.Addr]*device{}
	byMAC := map[string]*device{}
	for i, r := range rows {
		d := &device{id: r.ID, inv: invs[i], zone: res.Zone[r.Name]}
		d.essential = essentialFlows(cfg, res, d)
		devices[r.Name], byID[r.ID] = d, d
		if d.inv.IP.IsValid() {
			byIP[d.inv.IP.Unmap()] = d
		}
		if d.inv.MAC != "" {
			byMAC[d.inv.MAC] = d
		}
	}
	targetIPs := map[netip.Addr]string{}
	for name, t := range cfg.Targets {
		if a, err := netip.ParseAddr(t.Address); err == nil {
			targetIPs[a.Unmap()] = name
		}
	}
	// Read the storm guard's window under the lock: an action recorded
	// between the read and the swap would otherwise be forgotten.
	m.mu.Lock()
	defer m.mu.Unlock()
	var auto []time.Time
	if err := m.db.WithContext(ctx).Model(&store.Alert{}).
		Where("received_at >= ? AND action IN ?", m.st.Now().Add(-time.Hour), []string{LevelIsolate, LevelRestrict}).
		Order("received_at").Pluck("received_at", &auto).Error; err != nil {
		return fmt.Errorf("reading the last hour's automatic quarantines: %w", err)
	}
	docQ := cfg.Document().Quarantine
	if docQ == nil {
		docQ = &policy.DocQuarantine{Action: map[string]string{}, ApprovalRequired: []string{}, MinSeverity: "low"}
	}
	m.devices, m.byID, m.byIP, m.byMAC, m.targetIPs, m.docQ, m.autoTimes = devices, byID, byIP, byMAC, targetIPs, docQ, auto
	m.cfg, m.decider = cfg, dec
	return nil
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
	Reason       string `json:"reason"`
	EnforceError string `json:"enforce_error,omitempty"`
}

// Intake handles alerts one by one, in order. An error is returned only
// when the store fails; every alert handled before it is recorded.
func (m *Manager) Intake(ctx context.Context, alerts []alert.Alert) ([]Result, error) {
	out := make([]Result, 0, len(alerts))
	for _, a := range alerts {
		r, err := m.intakeOne(ctx, a)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (m *Manager) intakeOne(ctx context.Context, a alert.Alert) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := Result{Source: a.Source, ID: a.ID, Status: "recorded", Action: "none"}
	// A resolved notification carries the ID of the alert it ends: it is
	// recorded on its own, once.
	extID := a.ID
	if a.Resolved {
		extID += "#resolved"
	}

	// A duplicate is found when its insert conflicts (below), which rolls
	// back everything its decision would have recorded.
	var dup store.Alert

	row := store.Alert{Source: a.Source, ExternalID: extID, Severity: string(a.Severity), MAC: a.MAC,
		Signature: a.Signature, Raw: string(a.Raw), Format: a.Format, ReceivedAt: m.st.Now()}
	if len(a.Addresses) > 0 {
		row.IP = a.Addresses[0].String()
	}
	d, matchedIP := m.match(a)
	var q *store.Quarantine
	var enforce func(context.Context, *store.Quarantine) error
	switch {
	case a.Resolved:
		r.Reason = "resolved: recorded, no action"
	case d == nil && matchedIP.IsValid():
		r.Reason = fmt.Sprintf("%s is target %s: Ward never quarantines its own targets", matchedIP, m.targetIPs[matchedIP])
	case d == nil:
		r.Reason = "no device in the inventory has this alert's addresses or MAC: recorded, no action"
	default:
		r.Device = d.inv.Name
		row.DeviceID = &d.id
		row.IP = d.inv.IP.String()
		dec, cur, err := m.decide(ctx, d, DecisionRequest{}, &DecisionAlert{Source: a.Source, ID: a.ID,
			Severity: string(a.Severity), Signature: a.Signature, Format: a.Format}, "alert:"+a.Source)
		if err != nil {
			// Never lose the alert to a broken decision module: record it
			// for a person.
			m.log.Error("quarantine decision failed", "device", d.inv.Name, "error", err)
			dec, cur = Decision{Action: LevelNotify, Reason: "the quarantine decision failed (" + err.Error() + "); a person decides"}, nil
		}
		r.Action, r.Pending, r.Reason = dec.Action, dec.Pending, dec.Reason
		q, enforce = m.plan(d, cur, dec, "alert:"+a.Source, "", 0)
		switch {
		case q == nil && cur != nil:
			r.Action, r.Pending = "none", ""
			r.Reason = fmt.Sprintf("already quarantined (%s, #%d): recorded against it; decision was: %s", describeLevel(cur), cur.ID, dec.Reason)
			row.QuarantineID = &cur.ID
			r.QuarantineID = cur.ID
		case q != nil && enforce == nil:
			r.Action = LevelNotify // only a pending level: a person decides
		}
	}
	row.Action, row.Decision = r.Action, r.Reason

	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if q != nil {
			if err := m.saveQuarantine(tx, q, "alert:"+a.Source, map[string]any{"alert_source": a.Source, "alert_id": a.ID, "reason": r.Reason, "via": a.Via}); err != nil {
				return err
			}
			row.QuarantineID = &q.ID
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errDuplicate
		}
		if q != nil && q.AlertID == nil {
			return tx.Model(q).Update("alert_id", row.ID).Error
		}
		return nil
	})
	if errors.Is(err, errDuplicate) {
		if err := m.db.WithContext(ctx).Where("source = ? AND external_id = ?", a.Source, extID).Take(&dup).Error; err != nil {
			return r, err
		}
		return m.duplicate(r, dup), nil
	}
	if err != nil {
		return r, fmt.Errorf("recording alert %s/%s: %w", a.Source, a.ID, err)
	}
	r.AlertID = row.ID
	if r.Action == LevelIsolate || r.Action == LevelRestrict {
		m.autoTimes = append(m.autoTimes, row.ReceivedAt)
	}
	if q != nil {
		r.QuarantineID = q.ID
		if enforce != nil {
			r.EnforceError = m.finishEnforce(ctx, q, enforce)
		}
	}
	m.log.Info("alert", "source", a.Source, "id", a.ID, "device", r.Device, "action", r.Action, "pending", r.Pending, "reason", r.Reason)
	return r, nil
}

var errDuplicate = errors.New("duplicate alert")

// duplicate reports an alert received before, as it was recorded then.
func (m *Manager) duplicate(r Result, dup store.Alert) Result {
	r.Status, r.AlertID, r.Action, r.Pending, r.Device = "duplicate", dup.ID, dup.Action, "", ""
	r.Reason, r.QuarantineID, r.EnforceError = "already received: "+dup.Decision, 0, ""
	if dup.DeviceID != nil {
		r.Device = m.deviceName(*dup.DeviceID)
	}
	if dup.QuarantineID != nil {
		r.QuarantineID = *dup.QuarantineID
	}
	return r
}

// match finds the alert's device: by its addresses in order, then its MAC.
// An address that is a target's returns (nil, that address).
func (m *Manager) match(a alert.Alert) (*device, netip.Addr) {
	for _, ip := range a.Addresses {
		ip = ip.Unmap()
		if _, ok := m.targetIPs[ip]; ok {
			return nil, ip
		}
		if d := m.byIP[ip]; d != nil {
			return d, netip.Addr{}
		}
	}
	if d := m.byMAC[a.MAC]; a.MAC != "" && d != nil {
		return d, netip.Addr{}
	}
	return nil, netip.Addr{}
}

// decide evaluates the decision for d and applies the guards Ward keeps
// whatever the module says. cur is the device's active quarantine, or nil.
func (m *Manager) decide(ctx context.Context, d *device, req DecisionRequest, al *DecisionAlert, actor string) (Decision, *store.Quarantine, error) {
	cur, err := m.active(ctx, d.id)
	if err != nil {
		return Decision{}, nil, err
	}
	in := DecisionInput{Request: req, Alert: al, Quarantine: m.docQ,
		Device: DecisionDevice{Name: d.inv.Name, Class: d.inv.Class, Vendor: d.inv.Vendor, Criticality: d.inv.Criticality,
			Zone: d.zone, Labels: nonNilMap(d.inv.Labels), EssentialFlows: nonNilSlice(d.essential)}}
	if cur != nil {
		in.Current = DecisionCurrent{Level: cur.Level, Pending: cur.PendingLevel}
	}
	dec, err := m.decider.Decide(ctx, in)
	if err != nil {
		return Decision{}, nil, err
	}
	q := m.cfg.Quarantine
	switch {
	case strings.EqualFold(d.inv.Labels["protected"], "true"):
		return Decision{Action: LevelNotify, Reason: "the device is labelled protected=true: Ward never quarantines it"}, cur, nil
	case q == nil && dec.Action != LevelNotify:
		return Decision{Action: LevelNotify, Reason: "the policy has no quarantine block"}, cur, nil
	}
	// An isolate breaks every flow but remediation: never without a person
	// for a device in an essential flow or of a criticality that needs one.
	if dec.Action == LevelIsolate && (len(d.essential) > 0 || slices.Contains(q.ApprovalRequired, d.inv.Criticality)) {
		dec = Decision{Action: LevelRestrict, Pending: LevelIsolate,
			Reason: dec.Reason + "; isolate waits for approval (essential flows or approval_required), restricted meanwhile"}
	}
	if !req.Manual && dec.Action != LevelNotify && (cur == nil || levelRank(dec.Action) > levelRank(cur.Level)) {
		n := m.autoActionsSince(m.st.Now().Add(-time.Hour))
		if n >= q.MaxAutoPerHour {
			dec = Decision{Action: LevelNotify, Reason: fmt.Sprintf("max_auto_per_hour (%d) reached: %d automatic quarantines in the last hour; a person decides (would have been: %s)",
				q.MaxAutoPerHour, n, dec.Action)}
		}
	}
	return dec, cur, nil
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

// autoActionsSince counts the automatic actions (alerts that started or
// strengthened a quarantine) since a time, forgetting older ones.
func (m *Manager) autoActionsSince(since time.Time) int {
	i := 0
	for i < len(m.autoTimes) && m.autoTimes[i].Before(since) {
		i++
	}
	m.autoTimes = m.autoTimes[i:]
	return len(m.autoTimes)
}

// active returns the device's active quarantine, or nil.
func (m *Manager) active(ctx context.Context, deviceID uint64) (*store.Quarantine, error) {
	var q store.Quarantine
	err := m.db.WithContext(ctx).Where("device_id = ? AND status = ?", deviceID, StatusActive).Order("id desc").Take(&q).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &q, err
}

// plan turns a decision into the quarantine row to save and the
// enforcement to run after it is saved (nil: nothing to push). It returns
// nil, nil when the decision changes nothing.
func (m *Manager) plan(d *device, cur *store.Quarantine, dec Decision, actor, reason string, ttl time.Duration) (*store.Quarantine, func(context.Context, *store.Quarantine) error) {
	if dec.Action == LevelNotify && dec.Pending == "" {
		return nil, nil
	}
	now := m.st.Now()
	if cur == nil {
		if dec.Action == LevelNotify {
			return nil, nil
		}
		if ttl <= 0 {
			ttl = m.cfg.Quarantine.TTLFor(dec.Action)
		}
		exp := now.Add(ttl)
		q := &store.Quarantine{DeviceID: d.id, Level: dec.Action, PendingLevel: dec.Pending, Status: StatusActive,
			Reason: cmp.Or(reason, dec.Reason), CreatedBy: actor, CreatedAt: now, ExpiresAt: &exp,
			Addresses: d.inv.IP.String()}
		if dec.Action == LevelIsolate || dec.Pending == LevelIsolate {
			m.fillSwitch(q, d)
		}
		return q, func(ctx context.Context, q *store.Quarantine) error { return m.push(ctx, q, "", q.Level) }
	}
	q := *cur
	changed := false
	var from string
	if levelRank(dec.Action) > levelRank(cur.Level) {
		from = cur.Level
		q.Level = dec.Action
		changed = true
		if q.Level == LevelIsolate {
			m.fillSwitch(&q, d)
		}
	}
	if dec.Pending != "" && levelRank(dec.Pending) > levelRank(q.Level) && q.PendingLevel != dec.Pending {
		q.PendingLevel = dec.Pending
		m.fillSwitch(&q, d)
		changed = true
	}
	if q.PendingLevel != "" && levelRank(q.PendingLevel) <= levelRank(q.Level) {
		q.PendingLevel = ""
	}
	if !changed {
		return nil, nil
	}
	if from == "" {
		return &q, nil // only a pending level: nothing to push
	}
	return &q, func(ctx context.Context, q *store.Quarantine) error { return m.push(ctx, q, from, q.Level) }
}

// fillSwitch records the device's switch port and its own VLAN, for an
// isolate and its release.
func (m *Manager) fillSwitch(q *store.Quarantine, d *device) {
	if d.inv.Switch == "" || d.inv.Port == "" {
		return
	}
	q.SwitchTarget, q.SwitchPort = d.inv.Switch, d.inv.Port
	if z := m.cfg.Zones[d.zone]; z != nil {
		q.HomeVLAN = z.VLAN
	}
}

// saveQuarantine creates or updates q and writes the audit event, in tx.
func (m *Manager) saveQuarantine(tx *gorm.DB, q *store.Quarantine, actor string, detail map[string]any) error {
	action := "quarantine.update"
	if q.ID == 0 {
		action = "quarantine.create"
		if err := tx.Create(q).Error; err != nil {
			return err
		}
	} else if err := tx.Save(q).Error; err != nil {
		return err
	}
	detail["quarantine"] = q.ID
	detail["level"], detail["pending"], detail["expires_at"] = q.Level, q.PendingLevel, q.ExpiresAt
	_, err := m.st.Audit(tx, store.AuditEntry{Actor: actor, Action: action, Object: m.deviceName(q.DeviceID), Detail: detail})
	return err
}

func (m *Manager) deviceName(id uint64) string {
	if d := m.byID[id]; d != nil {
		return d.inv.Name
	}
	return fmt.Sprintf("device #%d", id)
}

// finishEnforce runs enforce and records its outcome on q.
func (m *Manager) finishEnforce(ctx context.Context, q *store.Quarantine, enforce func(context.Context, *store.Quarantine) error) string {
	err := enforce(ctx, q)
	msg := ""
	if err != nil {
		msg = err.Error()
		m.log.Error("quarantine not fully enforced; it will be retried", "quarantine", q.ID, "error", msg)
	}
	now := m.st.Now()
	upd := map[string]any{"enforce_error": msg}
	if err == nil {
		upd["enforced_at"] = now
	}
	m.db.WithContext(context.WithoutCancel(ctx)).Model(&store.Quarantine{}).Where("id = ?", q.ID).Updates(upd)
	q.EnforceError = msg
	return msg
}
