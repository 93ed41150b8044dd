package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// QuarantineHistory is everything recorded about one quarantine: the
// evidence of its timeline (/ui/quarantines/{id}). Each list is in time
// order.
type QuarantineHistory struct {
	Quarantine Quarantine
	// Device is the quarantined device, removed from the inventory since
	// or not.
	Device Device
	// Alerts are the alerts recorded against the quarantine.
	Alerts []Alert
	// Approvals are the people's decisions on it.
	Approvals []Approval
	// Events are its audit events (quarantine.create, .update, .approve,
	// .release, .expire).
	Events []AuditEvent
	// Pushes are the outcomes of pushing it to each target.
	Pushes []QuarantinePush
}

// QuarantineHistory returns the history of quarantine id, or ErrNotFound.
func (s *Store) QuarantineHistory(ctx context.Context, id uint64) (*QuarantineHistory, error) {
	db := s.DB.WithContext(ctx)
	q, err := findQuarantine(db, id)
	if err != nil {
		return nil, err
	}
	h := &QuarantineHistory{Quarantine: *q}
	dev, err := s.DeviceByID(ctx, q.DeviceID)
	if err != nil {
		return nil, fmt.Errorf("reading the device of quarantine #%d: %w", id, err)
	}
	h.Device = *dev
	if err := db.Where("quarantine_id = ?", id).Order("received_at, id").Find(&h.Alerts).Error; err != nil {
		return nil, fmt.Errorf("reading the alerts of quarantine #%d: %w", id, err)
	}
	if err := db.Where("quarantine_id = ?", id).Order("created_at, id").Find(&h.Approvals).Error; err != nil {
		return nil, fmt.Errorf("reading the approvals of quarantine #%d: %w", id, err)
	}
	if err := db.Where("quarantine_id = ?", id).Order("at, id").Find(&h.Pushes).Error; err != nil {
		return nil, fmt.Errorf("reading the push history of quarantine #%d: %w", id, err)
	}
	// The audit log is keyed by object (the device's name, or "device
	// #ID" once the device left the inventory the quarantine manager
	// reads), not by quarantine: narrow it in SQL to the device's
	// quarantine events, then keep those whose detail names this
	// quarantine.
	objects := []string{dev.Name, fmt.Sprintf("device #%d", dev.ID)}
	var evs []AuditEvent
	if err := db.Where("object IN ? AND action LIKE ?", objects, "quarantine.%").Order("seq").Find(&evs).Error; err != nil {
		return nil, fmt.Errorf("reading the audit events of quarantine #%d: %w", id, err)
	}
	for _, e := range evs {
		var d struct {
			Quarantine uint64 `json:"quarantine"`
		}
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			return nil, fmt.Errorf("audit event #%d (%s on %s): detail is not JSON: %w; run ward audit verify", e.Seq, e.Action, e.Object, err)
		}
		if d.Quarantine == id {
			h.Events = append(h.Events, e)
		}
	}
	return h, nil
}
