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

// RecentQuarantines returns, for each of devices ids, up to perDevice of
// its quarantines, any status, newest first: what the targets may still
// hold for it (the addresses and switch ports a push must undo after a
// release). One query for all of them: a firewall push batches hundreds
// of devices.
func (s *Store) RecentQuarantines(ctx context.Context, ids []uint64, perDevice int) (map[uint64][]Quarantine, error) {
	out := make(map[uint64][]Quarantine, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	db := s.DB.WithContext(ctx)
	ranked := db.Model(&Quarantine{}).Select("id, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY id DESC) AS rn").Where("device_id IN ?", ids)
	var rows []Quarantine
	err := db.Where("id IN (?)", db.Table("(?) AS ranked", ranked).Select("id").Where("rn <= ?", perDevice)).
		Order("device_id, id DESC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reading the recent quarantines of %d devices: %w", len(ids), err)
	}
	for _, q := range rows {
		out[q.DeviceID] = append(out[q.DeviceID], q)
	}
	return out, nil
}

// PushOutcome is how one push of quarantines to one target went.
type PushOutcome struct {
	Target string
	// Error is the target's error, "" for success.
	Error string
	At    time.Time
	// Fence is the fencing token the push carried (drivers.FenceOf), 0
	// for none: the history then says which hold of the target pushed.
	Fence int64
}

// RecordTargetEnforcement records on quarantines ids the outcome o of
// pushing them to one target. A quarantine's EnforceError lists each
// target that failed ("core-fw: …; edge-fw: …"); pushes to different
// targets run at once, so each replaces only its own entry, in a
// transaction that locks the rows. A quarantine whose error becomes empty
// is marked enforced at o.At. Each outcome is also added to the
// quarantine's push history (quarantine_pushes) in the same transaction,
// since EnforceError keeps only the latest.
func (s *Store) RecordTargetEnforcement(ctx context.Context, ids []uint64, o PushOutcome) error {
	return s.recordEnforcement(ctx, ids, o, true)
}

// RecordTargetCheck is RecordTargetEnforcement for a check that changed
// nothing on the target (a reconcile finding every quarantine in place):
// the push history keeps only the outcomes that change what
// EnforceError says of target — a failure, a recovery — not one row per
// quarantine every reconcile interval.
func (s *Store) RecordTargetCheck(ctx context.Context, ids []uint64, o PushOutcome) error {
	return s.recordEnforcement(ctx, ids, o, false)
}

func (s *Store) recordEnforcement(ctx context.Context, ids []uint64, o PushOutcome, every bool) error {
	target, msg, now := o.Target, o.Error, o.At
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
		var history []Quarantine
		for _, r := range rows {
			next := MergeEnforceError(r.EnforceError, target, msg)
			if every || targetEntry(next, target) != targetEntry(r.EnforceError, target) {
				history = append(history, r)
			}
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
		return recordPushes(tx, history, o)
	})
}

// targetEntry is target's entry in an EnforceError, or "".
func targetEntry(enforceError, target string) string {
	for _, e := range strings.Split(enforceError, "; ") {
		if strings.HasPrefix(e, target+": ") {
			return e
		}
	}
	return ""
}

// pushBatch bounds one INSERT of push rows: a storm push carries
// hundreds of quarantines, and SQLite limits a statement's parameters.
const pushBatch = 200

// recordPushes adds one push-history row per quarantine of rows, in tx.
func recordPushes(tx *gorm.DB, rows []Quarantine, o PushOutcome) error {
	if len(rows) == 0 {
		return nil
	}
	pushes := make([]QuarantinePush, len(rows))
	for i, r := range rows {
		pushes[i] = QuarantinePush{QuarantineID: r.ID, Target: o.Target, At: o.At.UTC(), OK: o.Error == "", Error: o.Error, Fence: o.Fence}
	}
	if err := tx.CreateInBatches(pushes, pushBatch).Error; err != nil {
		return fmt.Errorf("recording the push of %d quarantines to %s in their history: %w", len(rows), o.Target, err)
	}
	return nil
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
