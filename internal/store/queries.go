package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// AuditQuery filters ListAuditEvents.
type AuditQuery struct {
	Limit  int    // at most this many events (required, > 0)
	Before uint64 // only events with seq < Before (0: no bound)
	Actor  string // exact match, when not empty
	Action string
	Object string
}

// ListAuditEvents returns the audit events matching q, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	db := s.DB.WithContext(ctx).Order("seq DESC").Limit(q.Limit)
	if q.Before > 0 {
		db = db.Where("seq < ?", q.Before)
	}
	for col, v := range map[string]string{"actor": q.Actor, "action": q.Action, "object": q.Object} {
		if v != "" {
			db = db.Where(col+" = ?", v)
		}
	}
	var rows []AuditEvent
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return rows, nil
}

// InventoryVersion returns a value that changes whenever a device is added,
// changed or removed: for caches of evaluations of the inventory.
func (s *Store) InventoryVersion(ctx context.Context) (string, error) {
	var n int64
	var updated, removed string
	row := s.DB.WithContext(ctx).Raw(`SELECT COUNT(*), COALESCE(CAST(MAX(updated_at) AS TEXT), ''), COALESCE(CAST(MAX(removed_at) AS TEXT), '') FROM devices`).Row()
	if err := row.Scan(&n, &updated, &removed); err != nil {
		return "", fmt.Errorf("reading the inventory's version: %w", err)
	}
	return fmt.Sprintf("%d|%s|%s", n, updated, removed), nil
}

// AlertQuery filters ListAlerts.
type AlertQuery struct {
	Source, Action string
	DeviceID       uint64 // 0: any device
	Limit, Offset  int
}

// ListAlerts returns one page of alerts matching q, newest first, and how
// many match in all.
func (s *Store) ListAlerts(ctx context.Context, q AlertQuery) ([]Alert, int64, error) {
	db := s.DB.WithContext(ctx).Model(&Alert{})
	if q.Source != "" {
		db = db.Where("source = ?", q.Source)
	}
	if q.Action != "" {
		db = db.Where("action = ?", q.Action)
	}
	if q.DeviceID != 0 {
		db = db.Where("device_id = ?", q.DeviceID)
	}
	var total int64
	if err := db.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("counting alerts: %w", err)
	}
	var rows []Alert
	if err := db.Order("id DESC").Limit(q.Limit).Offset(q.Offset).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("listing alerts: %w", err)
	}
	return rows, total, nil
}

// GetAlert returns one alert, or ErrNotFound.
func (s *Store) GetAlert(ctx context.Context, id uint64) (*Alert, error) {
	var r Alert
	err := s.DB.WithContext(ctx).Take(&r, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading alert %d: %w", id, err)
	}
	return &r, nil
}

// DeviceNames maps device IDs to names (removed devices included).
func (s *Store) DeviceNames(ctx context.Context, ids []uint64) (map[uint64]string, error) {
	names := map[uint64]string{}
	if len(ids) == 0 {
		return names, nil
	}
	var devs []Device
	if err := s.DB.WithContext(ctx).Select("id", "name").Where("id IN ?", ids).Find(&devs).Error; err != nil {
		return nil, fmt.Errorf("reading device names: %w", err)
	}
	for _, d := range devs {
		names[d.ID] = d.Name
	}
	return names, nil
}

// QuarantineLevelCount is how many active quarantines have one level and
// pending level.
type QuarantineLevelCount struct {
	Level        string
	PendingLevel string
	N            int64
}

// CountActiveQuarantines counts active quarantines by level and pending
// level (for metrics).
func (s *Store) CountActiveQuarantines(ctx context.Context) ([]QuarantineLevelCount, error) {
	var rows []QuarantineLevelCount
	err := s.DB.WithContext(ctx).Model(&Quarantine{}).Select("level, pending_level, COUNT(*) AS n").
		Where("status = ?", "active").Group("level, pending_level").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("counting quarantines: %w", err)
	}
	return rows, nil
}
