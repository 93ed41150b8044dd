package quarantine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wardnet/ward/internal/store"
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
// now and waits for Approve. A device's quarantine held by the storm guard
// becomes active at the requested level.
func (m *Manager) Quarantine(ctx context.Context, req Request) (*Outcome, error) {
	if req.Level != LevelIsolate && req.Level != LevelRestrict {
		return nil, refused("level %q: want isolate or restrict", req.Level)
	}
	if req.TTL < 0 {
		return nil, refused("ttl %s: want a positive duration", req.TTL)
	}
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	d := v.devices[req.Device]
	if d == nil {
		return nil, fmt.Errorf("device %q is not in the inventory: %w", req.Device, ErrNotFound)
	}
	if t, ok := v.targetIPs[d.inv.IP.Unmap()]; ok {
		return nil, refused("device %s has the address of target %s: Ward never quarantines its own targets", d.inv.Name, t)
	}
	// The decision is evaluated before the transaction, on the open
	// quarantine as read then, and again inside it only if that changed:
	// Rego does not run under the lock that excludes other deciders.
	req0 := DecisionRequest{Level: req.Level, Manual: true}
	seen, err := m.st.OpenQuarantine(ctx, d.id)
	if err != nil {
		return nil, err
	}
	dec0, err := m.decide(ctx, v, d, seen, req0, nil)
	if err != nil {
		return nil, err
	}
	var out *Outcome
	var c *change
	err = m.decideRetrying(ctx, func(tx *store.QuarantineTx) error {
		out, c = nil, nil
		cur, err := tx.Open(d.id)
		if err != nil {
			return err
		}
		dec := dec0
		if !sameOpen(cur, seen) {
			if dec, err = m.decide(ctx, v, d, cur, req0, nil); err != nil {
				return err
			}
		}
		if dec.Action == LevelNotify && dec.Pending == "" {
			return refused("not quarantined: %s", dec.Reason)
		}
		c = m.plan(v, d, cur, dec, req.Actor, req.Reason, req.TTL, tx.Now())
		out = &Outcome{Device: d.inv.Name, Message: dec.Reason}
		switch {
		case c == nil && cur == nil:
			// A decision module may answer notify with a pending level.
			return refused("not quarantined: %s", dec.Reason)
		case c == nil:
			out.Quarantine = *cur
			out.Message = fmt.Sprintf("already quarantined (%s, #%d); nothing changed", describeLevel(cur), cur.ID)
			return nil
		}
		return m.save(tx, v, c, req.Actor, map[string]any{"requested": req.Level, "reason": c.q.Reason, "decision": dec.Reason})
	})
	if err != nil {
		return nil, err
	}
	if c != nil {
		out.Changed = true
		if c.push {
			out.EnforceError = m.finishEnforce(ctx, c.q)
		}
		out.Quarantine = *c.q
	}
	return out, nil
}

func describeLevel(q *store.Quarantine) string {
	if q.Status == StatusPending {
		return "nothing enforced, " + q.PendingLevel + " held for a person"
	}
	if q.PendingLevel != "" {
		return q.Level + ", " + q.PendingLevel + " waiting for approval"
	}
	return q.Level
}

// Approve enforces the level a quarantine waits for — a stronger level
// waiting for approval, or an alert the storm guard held — as the person
// actor. Two approvals of one quarantine, in any processes, enforce it
// once: the second is refused.
func (m *Manager) Approve(ctx context.Context, id uint64, actor, comment string) (*Outcome, error) {
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	var seen, q *store.Quarantine
	err = m.st.QuarantineDecision(ctx, func(tx *store.QuarantineTx) error {
		var err error
		if seen, err = tx.Find(id); err != nil {
			return err
		}
		if (seen.Status != StatusActive && seen.Status != StatusPending) || seen.PendingLevel == "" {
			return refused("quarantine #%d (%s, %s) is not waiting for approval", id, seen.Status, describeLevel(seen))
		}
		if v.cfg.Quarantine == nil {
			return refused("quarantine #%d: the policy in force has no quarantine block, so nothing can be enforced", id)
		}
		now := tx.Now()
		exp := now.Add(v.cfg.Quarantine.TTLFor(seen.PendingLevel))
		if seen.Status == StatusActive && seen.ExpiresAt != nil && seen.ExpiresAt.After(exp) {
			exp = *seen.ExpiresAt
		}
		ev := store.AuditEntry{Actor: actor, Action: "quarantine.approve", Object: v.deviceName(seen.DeviceID),
			Detail: map[string]any{"approved": seen.PendingLevel, "from": enforced(seen), "was": seen.Status, "comment": comment, "expires_at": exp}}
		next := *seen
		next.Level, next.Status = seen.PendingLevel, StatusActive
		q, err = tx.ApproveQuarantine(*seen, exp, store.Approval{Actor: actor, Decision: "approved", Comment: comment, CreatedAt: now}, ev, m.syncJobs(next))
		return err
	})
	var changed *store.QuarantineChangedError
	switch {
	case errors.As(err, &changed):
		return nil, refused("%v", changed)
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("quarantine #%d: %w", id, ErrNotFound)
	case err != nil:
		return nil, err
	}
	out := &Outcome{Device: v.deviceName(q.DeviceID), Changed: true, Message: fmt.Sprintf("approved: %s now %s", v.deviceName(q.DeviceID), q.Level)}
	out.EnforceError = m.finishEnforce(ctx, q)
	out.Quarantine = *q
	return out, nil
}

// Approved is the outcome of one quarantine of a bulk approval.
type Approved struct {
	ID      uint64   `json:"id"`
	Outcome *Outcome `json:"outcome,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// ApprovePending approves the quarantines ids, or (all) every quarantine
// waiting for a person, oldest first, each on its own: one that cannot be
// approved (changed meanwhile, unknown) is reported and the others go on.
func (m *Manager) ApprovePending(ctx context.Context, ids []uint64, all bool, actor, comment string) ([]Approved, error) {
	if all {
		rows, err := m.st.ListQuarantines(ctx, store.QuarantineFilter{Status: StatusPending, Limit: 100000})
		if err != nil {
			return nil, err
		}
		ids = ids[:0:0]
		for i := len(rows) - 1; i >= 0; i-- {
			ids = append(ids, rows[i].ID)
		}
	}
	out := make([]Approved, 0, len(ids))
	for _, id := range ids {
		o, err := m.Approve(ctx, id, actor, comment)
		a := Approved{ID: id, Outcome: o}
		if err != nil {
			var rf *RefusedError
			if !errors.As(err, &rf) && !errors.Is(err, ErrNotFound) {
				return out, err
			}
			a.Error = err.Error()
		}
		out = append(out, a)
	}
	return out, nil
}

// Release ends a device's open quarantine: active, or held for a person.
// A release is final: nothing re-adds it.
func (m *Manager) Release(ctx context.Context, deviceName, actor string) (*Outcome, error) {
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	var id uint64
	if d := v.devices[deviceName]; d != nil {
		id = d.id
	} else {
		// A device removed from the inventory since: find it by name.
		row, err := m.st.DeviceNamed(ctx, deviceName)
		if err != nil {
			return nil, fmt.Errorf("device %q has no open quarantine: %w", deviceName, ErrNotFound)
		}
		id = row.ID
	}
	var seen *store.Quarantine
	out, err := m.end(ctx, v, StatusReleased, actor, func(tx *store.QuarantineTx) (*store.Quarantine, error) {
		var err error
		if seen, err = tx.Open(id); err == nil && seen == nil {
			err = fmt.Errorf("device %q has no open quarantine: %w", deviceName, ErrNotFound)
		}
		return seen, err
	})
	var changed *store.QuarantineChangedError
	if errors.As(err, &changed) {
		return nil, refused("%v", changed)
	}
	return out, err
}

// ReleaseID releases quarantine id — that one, not whatever is open on its
// device: a quarantine that ended meanwhile (expired, released) is
// refused, even if a new one has opened on the device since, which the
// person asking to release #id has not seen.
func (m *Manager) ReleaseID(ctx context.Context, id uint64, actor string) (*Outcome, error) {
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	out, err := m.end(ctx, v, StatusReleased, actor, func(tx *store.QuarantineTx) (*store.Quarantine, error) {
		q, err := tx.Find(id)
		if err != nil {
			return nil, err
		}
		if q.Status != StatusActive && q.Status != StatusPending {
			return nil, refused("quarantine #%d of %s is %s already", id, v.deviceName(q.DeviceID), q.Status)
		}
		return q, nil
	})
	var changed *store.QuarantineChangedError
	if errors.As(err, &changed) {
		return nil, refused("%v", changed)
	}
	return out, err
}

// end ends the quarantine find returns (in the transaction), as status,
// and undoes it on the targets. A nil quarantine from find ends nothing.
func (m *Manager) end(ctx context.Context, v *view, status, actor string, find func(*store.QuarantineTx) (*store.Quarantine, error)) (*Outcome, error) {
	var seen, q *store.Quarantine
	err := m.st.QuarantineDecision(ctx, func(tx *store.QuarantineTx) error {
		var err error
		if seen, err = find(tx); err != nil || seen == nil {
			return err
		}
		ev := store.AuditEntry{Actor: actor, Action: "quarantine." + map[string]string{StatusReleased: "release", StatusExpired: "expire"}[status],
			Object: v.deviceName(seen.DeviceID), Detail: map[string]any{"level": seen.Level, "status": seen.Status, "pending": seen.PendingLevel}}
		next := *seen
		next.Status = status
		var jobs []store.Job
		if enforced(seen) != "" {
			jobs = m.syncJobs(next) // a held quarantine enforced nothing to undo
		}
		q, err = tx.EndQuarantine(*seen, status, actor, ev, jobs)
		return err
	})
	if err != nil || q == nil {
		return nil, err
	}
	out := &Outcome{Device: v.deviceName(q.DeviceID), Changed: true, Message: fmt.Sprintf("%s %s (was %s)", status, v.deviceName(q.DeviceID), describeLevel(seen))}
	// An ended quarantine whose undo failed is retried by Reconcile, which
	// removes whatever no active quarantine explains.
	if enforced(seen) != "" {
		out.EnforceError = m.finishEnforce(ctx, q)
	}
	out.Quarantine = *q
	return out, nil
}

// ExpireDue ends every open quarantine whose time is up by the store's
// clock — an active one's TTL, a pending one's wait for a person — and
// returns how many it ended. Each is re-read in its own transaction: one
// approved, released or expired meanwhile (by another process) is left
// as it is.
func (m *Manager) ExpireDue(ctx context.Context) (int, error) {
	v, err := m.view(ctx)
	if err != nil {
		return 0, err
	}
	due, err := m.st.DueQuarantines(ctx, m.st.Now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		out, err := m.end(ctx, v, StatusExpired, "ward (ttl)", func(tx *store.QuarantineTx) (*store.Quarantine, error) {
			q, err := tx.Find(d.ID)
			if err != nil || (q.Status != StatusActive && q.Status != StatusPending) || q.ExpiresAt == nil || q.ExpiresAt.After(tx.Now()) {
				return nil, err
			}
			return q, nil
		})
		var changed *store.QuarantineChangedError
		switch {
		case errors.As(err, &changed):
			continue
		case err != nil:
			return n, err
		case out != nil:
			n++
		}
	}
	return n, nil
}

// List returns quarantines, newest first: the open ones (active and held
// for a person), or all.
func (m *Manager) List(ctx context.Context, all bool) ([]Listed, error) {
	if all {
		return m.ListStatus(ctx, "all")
	}
	return m.ListStatus(ctx, "")
}

// ListStatus returns quarantines, newest first, by status: "" (open),
// "pending" (waiting for a person: held by the storm guard or a level
// waiting for approval), "active", "released", "expired" or "all".
func (m *Manager) ListStatus(ctx context.Context, status string) ([]Listed, error) {
	rows, err := m.st.ListQuarantines(ctx, store.QuarantineFilter{Status: status})
	if err != nil {
		if status != "" && status != "all" && !slices.Contains([]string{StatusActive, StatusPending, StatusReleased, StatusExpired}, status) {
			return nil, refused("%v", err)
		}
		return nil, err
	}
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Listed, len(rows))
	for i, q := range rows {
		out[i] = Listed{Quarantine: q, Device: v.deviceName(q.DeviceID)}
	}
	return out, nil
}

// Listed is a quarantine with its device's name.
type Listed struct {
	store.Quarantine
	Device string `json:"device"`
}
