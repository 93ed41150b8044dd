package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// genesisHash is the PrevHash of the first audit event.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// auditLockKey serialises appends on PostgreSQL (pg_advisory_xact_lock);
// on SQLite every write transaction is already exclusive.
const auditLockKey = 0x77617264 // "ward"

// AuditEntry is what a caller records; the store adds sequence, time and
// hashes.
type AuditEntry struct {
	Actor  string // who: a user, a token name, "ward serve"
	Action string // what, dotted: inventory.import, quarantine.create
	Object string // on what: a device, a file, a target
	Detail any    // anything else, stored as JSON
}

// Audit appends an event to the audit log inside tx, which must be a
// transaction (s.DB.Transaction), so the event commits or rolls back with
// the change it describes.
func (s *Store) Audit(tx *gorm.DB, e AuditEntry) (*AuditEvent, error) {
	detail := "{}"
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return nil, fmt.Errorf("audit detail: %w", err)
		}
		detail = string(b)
	}
	if s.dialect == Postgres {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", auditLockKey).Error; err != nil {
			return nil, fmt.Errorf("audit lock: %w", err)
		}
	}
	var last []AuditEvent
	if err := tx.Order("seq DESC").Limit(1).Find(&last).Error; err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	ev := &AuditEvent{Seq: 1, At: s.Now(), Actor: e.Actor, Action: e.Action, Object: e.Object, Detail: detail, PrevHash: genesisHash}
	if len(last) == 1 {
		ev.Seq, ev.PrevHash = last[0].Seq+1, last[0].Hash
	}
	ev.Hash = auditHash(ev)
	if err := tx.Create(ev).Error; err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return ev, nil
}

// AppendAudit records an event on its own.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) (*AuditEvent, error) {
	var ev *AuditEvent
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		ev, err = s.Audit(tx, e)
		return err
	})
	return ev, err
}

// auditHash chains an event to its predecessor: SHA-256 over every field
// but the row ID, one per line, ending with the previous event's hash.
func auditHash(ev *AuditEvent) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s\n%q\n%q\n%q\n%q\n%s", ev.Seq, ev.At.UTC().Format(time.RFC3339Nano),
		ev.Actor, ev.Action, ev.Object, ev.Detail, ev.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// ListAudit returns up to limit events, newest first (limit <= 0: all).
func (s *Store) ListAudit(ctx context.Context, limit int) ([]AuditEvent, error) {
	q := s.DB.WithContext(ctx).Order("seq DESC")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var evs []AuditEvent
	return evs, q.Find(&evs).Error
}

// AuditBreak is where the audit chain stops holding.
type AuditBreak struct {
	Event  AuditEvent
	Reason string
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit event %d (%s, %s by %s): %s", b.Event.Seq,
		b.Event.At.UTC().Format(time.RFC3339), b.Event.Action, b.Event.Actor, b.Reason)
}

// VerifyAudit walks the whole chain in order and returns the number of
// events checked and the first break, or nil when every event is intact.
func (s *Store) VerifyAudit(ctx context.Context) (int, *AuditBreak, error) {
	var (
		checked  int
		prevSeq  uint64
		prevHash = genesisHash
		broken   *AuditBreak
	)
	var batch []AuditEvent
	res := s.DB.WithContext(ctx).Order("seq").FindInBatches(&batch, 1000, func(tx *gorm.DB, _ int) error {
		for _, ev := range batch {
			switch {
			case ev.Seq != prevSeq+1:
				broken = &AuditBreak{ev, fmt.Sprintf("follows event %d: events %d to %d are missing", prevSeq, prevSeq+1, ev.Seq-1)}
			case ev.PrevHash != prevHash:
				broken = &AuditBreak{ev, "does not link to the event before it: an event was removed, inserted or rewritten"}
			case auditHash(&ev) != ev.Hash:
				broken = &AuditBreak{ev, "its content does not match its hash: the row was changed after it was written"}
			}
			if broken != nil {
				return errStopWalk
			}
			checked++
			prevSeq, prevHash = ev.Seq, ev.Hash
		}
		return nil
	})
	if res.Error != nil && res.Error != errStopWalk {
		return checked, nil, res.Error
	}
	return checked, broken, nil
}

var errStopWalk = fmt.Errorf("stop")
