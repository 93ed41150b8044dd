package quarantine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wardnet/ward/internal/store"
	"gorm.io/gorm"
)

// Request is a person's quarantine of a device.
type Request struct {
	Device string
	Level  string        // isolate or restrict
	TTL    time.Duration // 0: the policy's for the level
	Reason string
	Actor  string
}

// Outcome is what a person's request did.
type Outcome struct {
	Quarantine   store.Quarantine `json:"quarantine"`
	Device       string           `json:"device"`
	Changed      bool             `json:"changed"`
	Message      string           `json:"message"`
	EnforceError string           `json:"enforce_error,omitempty"`
}

// ErrNotFound is returned for an unknown device or quarantine.
var ErrNotFound = store.ErrNotFound

// RefusedError is a request Manager understood and will not carry out as
// things are (a target's address, a decision of notify, nothing waiting
// for approval); other errors are failures of the store or the targets.
type RefusedError struct{ msg string }

func (e *RefusedError) Error() string { return e.msg }

func refused(format string, a ...any) error { return &RefusedError{fmt.Sprintf(format, a...)} }

// Quarantine quarantines a device on a person's request. An isolate that
// needs approval (essential flows, approval_required) restricts the device
// now and waits for Approve.
func (m *Manager) Quarantine(ctx context.Context, req Request) (*Outcome, error) {
	if req.Level != LevelIsolate && req.Level != LevelRestrict {
		return nil, refused("level %q: want isolate or restrict", req.Level)
	}
	if req.TTL < 0 {
		return nil, refused("ttl %s: want a positive duration", req.TTL)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.devices[req.Device]
	if d == nil {
		return nil, fmt.Errorf("device %q is not in the inventory: %w", req.Device, ErrNotFound)
	}
	if _, ok := m.targetIPs[d.inv.IP.Unmap()]; ok {
		return nil, refused("device %s has the address of target %s: Ward never quarantines its own targets", d.inv.Name, m.targetIPs[d.inv.IP.Unmap()])
	}
	dec, cur, err := m.decide(ctx, d, DecisionRequest{Level: req.Level, Manual: true}, nil, req.Actor)
	if err != nil {
		return nil, err
	}
	if dec.Action == LevelNotify && dec.Pending == "" {
		return nil, refused("not quarantined: %s", dec.Reason)
	}
	q, enforce := m.plan(d, cur, dec, req.Actor, req.Reason, req.TTL)
	out := &Outcome{Device: d.inv.Name, Message: dec.Reason}
	if q == nil && cur == nil {
		// A decision module may answer notify with a pending level.
		return nil, refused("not quarantined: %s", dec.Reason)
	}
	if q == nil {
		out.Quarantine = *cur
		out.Message = fmt.Sprintf("already quarantined (%s, #%d); nothing changed", describeLevel(cur), cur.ID)
		return out, nil
	}
	err = m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return m.saveQuarantine(tx, q, req.Actor, map[string]any{"requested": req.Level, "reason": q.Reason, "decision": dec.Reason})
	})
	if err != nil {
		return nil, err
	}
	out.Changed = true
	if enforce != nil {
		out.EnforceError = m.finishEnforce(ctx, q, enforce)
	}
	out.Quarantine = *q
	return out, nil
}

func describeLevel(q *store.Quarantine) string {
	if q.PendingLevel != "" {
		return q.Level + ", " + q.PendingLevel + " waiting for approval"
	}
	return q.Level
}

// Approve enforces the level a quarantine waits for, as the person actor.
func (m *Manager) Approve(ctx context.Context, id uint64, actor, comment string) (*Outcome, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var q store.Quarantine
	if err := m.db.WithContext(ctx).Take(&q, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("quarantine #%d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	if q.Status != StatusActive || q.PendingLevel == "" {
		return nil, refused("quarantine #%d (%s, %s) is not waiting for approval", id, q.Status, describeLevel(&q))
	}
	from := q.Level
	q.Level, q.PendingLevel = q.PendingLevel, ""
	if ttl := m.cfg.Quarantine.TTLFor(q.Level); q.ExpiresAt != nil && q.ExpiresAt.Before(m.st.Now().Add(ttl)) {
		exp := m.st.Now().Add(ttl)
		q.ExpiresAt = &exp
	}
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&store.Approval{QuarantineID: q.ID, Actor: actor, Decision: "approved", Comment: comment, CreatedAt: m.st.Now()}).Error; err != nil {
			return err
		}
		return m.saveQuarantine(tx, &q, actor, map[string]any{"approved": q.Level, "from": from, "comment": comment})
	})
	if err != nil {
		return nil, err
	}
	out := &Outcome{Device: m.deviceName(q.DeviceID), Changed: true, Message: fmt.Sprintf("approved: %s now %s", m.deviceName(q.DeviceID), q.Level)}
	out.EnforceError = m.finishEnforce(ctx, &q, func(ctx context.Context, q *store.Quarantine) error { return m.push(ctx, q, from, q.Level) })
	out.Quarantine = q
	return out, nil
}

// Release ends a device's active quarantine.
func (m *Manager) Release(ctx context.Context, deviceName, actor string) (*Outcome, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.devices[deviceName]
	var q *store.Quarantine
	var err error
	if d != nil {
		q, err = m.active(ctx, d.id)
	} else {
		// A device removed from the inventory since: find it by name.
		var row store.Device
		if e := m.db.WithContext(ctx).Where("name = ?", deviceName).Take(&row).Error; e == nil {
			q, err = m.active(ctx, row.ID)
		}
	}
	if err != nil {
		return nil, err
	}
	if q == nil {
		return nil, fmt.Errorf("device %q has no active quarantine: %w", deviceName, ErrNotFound)
	}
	return m.end(ctx, q, StatusReleased, actor)
}

// end undoes q on the targets and records it as status.
func (m *Manager) end(ctx context.Context, q *store.Quarantine, status, actor string) (*Outcome, error) {
	from := q.Level
	now := m.st.Now()
	q.Status, q.ReleasedAt, q.ReleasedBy, q.PendingLevel = status, &now, actor, ""
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Save(q).Error; err != nil {
			return err
		}
		_, err := m.st.Audit(tx, store.AuditEntry{Actor: actor, Action: "quarantine." + map[string]string{StatusReleased: "release", StatusExpired: "expire"}[status],
			Object: m.deviceName(q.DeviceID), Detail: map[string]any{"quarantine": q.ID, "level": from}})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &Outcome{Device: m.deviceName(q.DeviceID), Changed: true, Message: fmt.Sprintf("%s %s (was %s)", status, m.deviceName(q.DeviceID), from)}
	// An ended quarantine whose undo failed is retried by Reconcile, which
	// removes whatever no active quarantine explains.
	out.EnforceError = m.finishEnforce(ctx, q, func(ctx context.Context, q *store.Quarantine) error { return m.push(ctx, q, from, "") })
	out.Quarantine = *q
	return out, nil
}

// ExpireDue ends every active quarantine whose time is up, and returns how
// many it ended.
func (m *Manager) ExpireDue(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []store.Quarantine
	if err := m.db.WithContext(ctx).Where("status = ? AND expires_at <= ?", StatusActive, m.st.Now()).Find(&due).Error; err != nil {
		return 0, err
	}
	for i := range due {
		if _, err := m.end(ctx, &due[i], StatusExpired, "ward (ttl)"); err != nil {
			return i, err
		}
	}
	return len(due), nil
}

// List returns quarantines, newest first: the active ones, or all.
func (m *Manager) List(ctx context.Context, all bool) ([]Listed, error) {
	var rows []store.Quarantine
	tx := m.db.WithContext(ctx).Order("id desc")
	if !all {
		tx = tx.Where("status = ?", StatusActive)
	}
	if err := tx.Limit(1000).Find(&rows).Error; err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Listed, len(rows))
	for i, q := range rows {
		out[i] = Listed{Quarantine: q, Device: m.deviceName(q.DeviceID)}
	}
	return out, nil
}

// Listed is a quarantine with its device's name.
type Listed struct {
	store.Quarantine
	Device string `json:"device"`
}
