package store

import (
	"context"
	"fmt"
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
