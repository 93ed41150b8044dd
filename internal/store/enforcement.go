package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DeviceQuarantines returns up to limit of the device's quarantines, any
// status, newest first: what the targets may still hold for it (the
// addresses and switch ports a push must undo after a release).
func (s *Store) DeviceQuarantines(ctx context.Context, deviceID uint64, limit int) ([]Quarantine, error) {
	var rows []Quarantine
	if err := s.DB.WithContext(ctx).Where("device_id = ?", deviceID).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the quarantines of device #%d: %w", deviceID, err)
	}
	return rows, nil
}

// RecordTargetEnforcement records on quarantines ids the outcome of
// pushing them to one target: msg is the target's error, or "" for
// success. A quarantine's EnforceError lists each target that failed
// ("core-fw: …; edge-fw: …"); pushes to different targets run at once,
// so each replaces only its own entry, in a transaction that locks the
// rows. A quarantine whose error becomes empty is marked enforced at now.
func (s *Store) RecordTargetEnforcement(ctx context.Context, ids []uint64, target, msg string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&Quarantine{}).Select("id", "enforce_error", "enforced_at").Where("id IN ?", ids)
		if s.dialect == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var rows []Quarantine
		if err := q.Find(&rows).Error; err != nil {
			return fmt.Errorf("reading the enforcement state of quarantines %v: %w", ids, err)
		}
		for _, r := range rows {
			next := MergeEnforceError(r.EnforceError, target, msg)
			if next == r.EnforceError && (next != "" || r.EnforcedAt != nil) {
				continue
			}
			upd := map[string]any{"enforce_error": next}
			if next == "" {
				upd["enforced_at"] = now.UTC()
			}
			if err := tx.Model(&Quarantine{}).Where("id = ?", r.ID).Updates(upd).Error; err != nil {
				return fmt.Errorf("recording the enforcement of quarantine #%d on %s: %w", r.ID, target, err)
			}
		}
		return nil
	})
}

// MergeEnforceError replaces target's entry in a quarantine's
// EnforceError ("target: error; …", sorted by target) with msg, or drops
// it when msg is empty. msg is kept on one line, and its "; " becomes ", "
// so that the entries stay apart.
func MergeEnforceError(cur, target, msg string) string {
	var entries []string
	for _, e := range strings.Split(cur, "; ") {
		if e == "" || strings.HasPrefix(e, target+": ") {
			continue
		}
		entries = append(entries, e)
	}
	if msg != "" {
		msg = strings.Join(strings.Fields(msg), " ")
		msg = strings.ReplaceAll(msg, "; ", ", ")
		entries = append(entries, target+": "+msg)
	}
	slices.Sort(entries)
	return strings.Join(entries, "; ")
}
