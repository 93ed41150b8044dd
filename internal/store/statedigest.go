package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// A plan is judged — the essential-flow check above all — against every
// target's last-applied state, not only the targets it pushes. StateDigest
// names that whole recorded state, so an apply can start only from the
// state its plan was judged against (StartApplyFrom): two plans made from
// one state, each losing nothing while the other firewall still carries
// the flows, can no longer both be pushed.

// ErrPlanStale is wrapped by StartApplyFrom's refusal of a plan made from
// a recorded state that has changed since.
var ErrPlanStale = errors.New("the plan is stale")

// ErrApplyInProgress is wrapped by StartApplyFrom's refusal while another
// apply run has targets still pending.
var ErrApplyInProgress = errors.New("another apply is in progress")

// applyLockKey serialises the start of applies on PostgreSQL
// (pg_advisory_xact_lock); on SQLite every write transaction is already
// exclusive (immediate transactions: Open's _txlock=immediate).
const applyLockKey = 0x77617261 // "wara"

// StateDigest identifies every target's last-applied state: SHA-256 over
// the (target, hash) pairs sorted by target. A target never applied is
// absent from hashes, and so from the digest; no targets at all still has
// a digest, so "" always means "not recorded".
func StateDigest(hashes map[string]string) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(hashes)) {
		// Quoted, so no name or hash can run into the next pair.
		fmt.Fprintf(h, "%q %q\n", name, hashes[name])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// StateHashes returns the hash of each row's state, by target.
func StateHashes(rows []TargetState) map[string]string {
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Target] = r.Hash
	}
	return out
}

// ApplyBase is the recorded state an apply's plan was made from.
type ApplyBase struct {
	// Digest is the StateDigest of the targets' states the plan read.
	Digest string
	// Hashes, when known, are those states (target to hash): a refusal
	// then names the targets that changed.
	Hashes map[string]string
	// Audit is written in the start's transaction, after the run (an
	// essential-change approval): an apply refused records none of it.
	Audit []AuditEntry
}

// checkApplyBase refuses, inside tx, an apply while another run has
// targets pending, or from a recorded state that is no longer the
// current one (unless base is nil: a run not made from a plan).
func (s *Store) checkApplyBase(tx *gorm.DB, base *ApplyBase) error {
	if s.dialect == Postgres {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", applyLockKey).Error; err != nil {
			return fmt.Errorf("apply lock: %w", err)
		}
	}
	if err := pendingRun(tx); err != nil || base == nil {
		return err
	}
	if base.Digest == "" {
		return fmt.Errorf("the plan records no state of the targets (made by an older Ward): make a new plan and review it; nothing was applied: %w", ErrPlanStale)
	}
	var rows []TargetState
	if err := tx.Select("target", "hash", "apply_run_id").Order("target").Find(&rows).Error; err != nil {
		return fmt.Errorf("reading the targets' last-applied states: %w", err)
	}
	if StateDigest(StateHashes(rows)) == base.Digest {
		return nil
	}
	return fmt.Errorf("the recorded state of the targets changed since the plan was made%s, and the plan — its essential-flow check included — was judged against the state before: make a new plan and review it; nothing was applied: %w",
		changedTargets(rows, base.Hashes), ErrPlanStale)
}

// pendingRun refuses while an unfinished apply run has targets pending:
// its pushes may still change the state the new plan was judged against.
func pendingRun(tx *gorm.DB) error {
	var pending []ApplyTarget
	err := tx.Omit("plan").Where("status = ? AND run_id IN (?)", ApplyPending,
		tx.Model(&ApplyRun{}).Select("id").Where("finished_at IS NULL")).Order("run_id, target").Find(&pending).Error
	if err != nil {
		return fmt.Errorf("looking for applies in progress: %w", err)
	}
	if len(pending) == 0 {
		return nil
	}
	id := pending[0].RunID
	var run ApplyRun
	if err := tx.Take(&run, id).Error; err != nil {
		return fmt.Errorf("apply run %d: %w", id, err)
	}
	var names []string
	for _, t := range pending {
		if t.RunID == id {
			names = append(names, t.Target)
		}
	}
	return fmt.Errorf("apply run %d (by %s, started %s) still has %d target(s) pending: %s; an apply starts only when no other is pushing, so that its plan is judged against what that one did. "+
		"Let ward serve finish it, or cancel what has not started with ward apply -cancel %d (POST /api/v1/applies/%d/cancel), then make a new plan; nothing was applied: %w",
		id, actorName(run.Actor), run.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), len(names), strings.Join(names, ", "), id, id, ErrApplyInProgress)
}

func actorName(a string) string {
	if a == "" {
		return "an unnamed actor"
	}
	return a
}

// changedTargets names, as " (core-fw: applied by apply run 7; …)", the
// targets whose state differs from base; "" when base is unknown.
func changedTargets(rows []TargetState, base map[string]string) string {
	if base == nil {
		return ""
	}
	now := map[string]TargetState{}
	for _, r := range rows {
		now[r.Target] = r
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(now)) {
		r := now[name]
		if base[name] == r.Hash {
			continue
		}
		by := "changed"
		if r.ApplyRunID != nil {
			by = fmt.Sprintf("applied by apply run %d", *r.ApplyRunID)
		}
		out = append(out, name+": "+by)
	}
	for _, name := range slices.Sorted(maps.Keys(base)) {
		if _, ok := now[name]; !ok {
			out = append(out, name+": its state is gone")
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, "; ") + ")"
}
