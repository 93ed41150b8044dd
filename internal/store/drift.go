package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// DriftCheck is one target's result in one drift check (ward drift, GET
// /api/v1/targets/{name}/drift): what the device ran against what Ward
// last applied. Rows are only added (migration 00008); the latest per
// target is its drift status in reports and the UI.
type DriftCheck struct {
	ID        uint64    `gorm:"primaryKey"`
	Target    string    `gorm:"not null;index:drift_checks_target_checked_at,priority:1"`
	CheckedAt time.Time `gorm:"not null;index:drift_checks_target_checked_at,priority:2"`
	// Status is one of the Drift* statuses.
	Status string `gorm:"not null"`
	// RunningHash is the SHA-256 (hex) of the running configuration's text
	// as read from the device; "" when none was read.
	RunningHash string `gorm:"not null;default:''"`
	// AppliedHash is the hash of the applied state compared with (the
	// target_states row's); "" when never applied.
	AppliedHash string `gorm:"not null;default:''"`
	Error       string `gorm:"not null;default:''"`
	Actor       string `gorm:"not null"`
}

// TableName is the drift checks' table (migration 00008).
func (DriftCheck) TableName() string { return "drift_checks" }

// A drift check's statuses (the table's CHECK constraint lists the same).
const (
	DriftInSync       = "in_sync"
	DriftDrift        = "drift"
	DriftError        = "error"
	DriftNeverApplied = "never_applied"
	DriftRenderOnly   = "render_only"
)

var driftStatuses = []string{DriftInSync, DriftDrift, DriftError, DriftNeverApplied, DriftRenderOnly}

// RecordDriftChecks stores one check's results, all at the same time (now)
// and by actor, with one audit event (target.drift_check) naming every
// target's status and running hash, in one transaction.
func (s *Store) RecordDriftChecks(ctx context.Context, checks []DriftCheck, actor string) error {
	_, err := s.recordDriftChecks(ctx, checks, actor, false)
	return err
}

// RecordScheduledDriftCheck stores one target's check made on a schedule
// (ward serve -drift-interval). The check is always stored; it is audited
// (target.drift_check, with the previous check's status) only when its
// result differs from the target's previous check — status, running or
// applied hash — or the target has none: a check every hour of every
// target would otherwise bury the audit log's changes under repeats of
// "still in sync", while drift_checks keeps every check for the report.
// It says whether it audited.
func (s *Store) RecordScheduledDriftCheck(ctx context.Context, c DriftCheck, actor string) (audited bool, err error) {
	return s.recordDriftChecks(ctx, []DriftCheck{c}, actor, true)
}

func (s *Store) recordDriftChecks(ctx context.Context, checks []DriftCheck, actor string, onlyChanges bool) (bool, error) {
	if len(checks) == 0 {
		return false, nil
	}
	if actor == "" {
		return false, errors.New("recording a drift check: no actor")
	}
	now := s.Now()
	rows := make([]DriftCheck, len(checks))
	for i, c := range checks {
		if !slices.Contains(driftStatuses, c.Status) {
			return false, fmt.Errorf("recording a drift check of target %q: unknown status %q", c.Target, c.Status)
		}
		c.ID, c.CheckedAt, c.Actor = 0, now, actor
		rows[i] = c
	}
	audited := false
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		detail := driftAuditDetail(rows)
		if onlyChanges {
			var prev []DriftCheck
			if err := tx.Where("target = ?", rows[0].Target).Order("id DESC").Limit(1).Find(&prev).Error; err != nil {
				return fmt.Errorf("reading target %q's previous drift check: %w", rows[0].Target, err)
			}
			if len(prev) == 1 {
				p, c := prev[0], rows[0]
				if p.Status == c.Status && p.RunningHash == c.RunningHash && p.AppliedHash == c.AppliedHash {
					detail = nil // a repeat: stored, not audited
				} else {
					detail["previous"] = map[string]any{"status": p.Status, "running_hash": p.RunningHash, "checked_at": p.CheckedAt.UTC()}
				}
			}
		}
		if err := tx.Create(&rows).Error; err != nil {
			return fmt.Errorf("recording a drift check: %w", err)
		}
		if detail == nil {
			return nil
		}
		object := rows[0].Target
		if len(rows) > 1 {
			object = fmt.Sprintf("%d targets", len(rows))
		}
		audited = true
		_, err := s.Audit(tx, AuditEntry{Actor: actor, Action: "target.drift_check", Object: object, Detail: detail})
		return err
	})
	if err != nil {
		return false, err
	}
	return audited, nil
}

// driftAuditDetail is the audit event's detail of one check of rows.
func driftAuditDetail(rows []DriftCheck) map[string]any {
	counts := map[string]int{}
	targets := map[string]any{}
	for _, c := range rows {
		counts[c.Status]++
		targets[c.Target] = map[string]string{"status": c.Status, "running_hash": c.RunningHash, "applied_hash": c.AppliedHash}
	}
	return map[string]any{"counts": counts, "targets": targets}
}

// LatestDriftChecks returns each target's latest drift check made at or
// before asOf (the zero time: the latest of all), by target name.
func (s *Store) LatestDriftChecks(ctx context.Context, asOf time.Time) (map[string]DriftCheck, error) {
	latest := s.DB.WithContext(ctx).Model(&DriftCheck{}).Select("MAX(id)").Group("target")
	if !asOf.IsZero() {
		latest = latest.Where("checked_at <= ?", asOf.UTC())
	}
	var rows []DriftCheck
	if err := s.DB.WithContext(ctx).Where("id IN (?)", latest).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the latest drift checks: %w", err)
	}
	out := make(map[string]DriftCheck, len(rows))
	for _, r := range rows {
		out[r.Target] = r
	}
	return out, nil
}

// PruneDriftChecks deletes drift checks made before before, except each
// target's newest keepPerTarget checks, which stay whatever their age: the
// report's proof of enforcement reads a target's latest check, so a target
// checked rarely must not lose it. keepPerTarget must be at least 1. When
// it deletes rows it writes one audit event (drift_check.prune) with how
// many, per target, in the same transaction. It returns how many it deleted.
func (s *Store) PruneDriftChecks(ctx context.Context, before time.Time, keepPerTarget int) (int64, error) {
	if keepPerTarget < 1 {
		return 0, fmt.Errorf("pruning drift checks: keepPerTarget is %d; keep at least 1 per target, since reports read each target's latest check", keepPerTarget)
	}
	// Newest by id, as LatestDriftChecks picks the latest.
	kept := s.DB.Raw(`SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY target ORDER BY id DESC) AS rn FROM drift_checks) ranked WHERE rn <= ?`, keepPerTarget)
	var deleted int64
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		doomed := tx.Model(&DriftCheck{}).Where("checked_at < ? AND id NOT IN (?)", before.UTC(), kept)
		var counts []struct {
			Target string
			N      int64
		}
		if err := doomed.Session(&gorm.Session{}).Select("target, COUNT(*) AS n").Group("target").Order("target").Scan(&counts).Error; err != nil {
			return err
		}
		if len(counts) == 0 {
			return nil
		}
		res := tx.Where("checked_at < ? AND id NOT IN (?)", before.UTC(), kept).Delete(&DriftCheck{})
		if res.Error != nil {
			return res.Error
		}
		deleted = res.RowsAffected
		perTarget := make(map[string]int64, len(counts))
		for _, c := range counts {
			perTarget[c.Target] = c.N
		}
		_, err := s.Audit(tx, AuditEntry{Actor: "ward (retention)", Action: "drift_check.prune", Object: "drift_checks",
			Detail: map[string]any{"before": before.UTC(), "keep_per_target": keepPerTarget, "deleted": deleted, "targets": perTarget}})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning drift checks made before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return deleted, nil
}
