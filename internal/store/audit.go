package store

// The audit log is a chain: each event carries the hash of the one before
// it, so an edit, a deletion or an insertion in the middle breaks the chain
// at that event. A plain hash chain stops no one who can write the
// database: they recompute every hash after their edit, or cut the tail.
// So Ward keys the chain, and anchors its head outside the database:
//
//   - Keyed chain. Each event's Hash is HMAC-SHA256 under a key kept
//     outside the database, in Ward's credential store (audit.key, see
//     internal/credentials), over the event's fields and the previous
//     event's hash. Someone who can write the database but cannot read
//     that file cannot make a Hash that verifies: a re-hashed chain,
//     with plain SHA-256 or with a key of their own, breaks at the first
//     event they rewrote. Each event names its key by KeyID (a one-way
//     value derived from the key), so a replaced key is told apart from
//     a forged event.
//   - Checkpoints. A key cannot show that the newest events were cut
//     off: what remains is still a valid chain. `ward audit checkpoint`
//     exports the head (sequence, hash, time, event count), signed with
//     the same key, to a file kept elsewhere; verify against it finds a
//     tail shorter than the checkpoint, or a head it no longer matches.
//   - Triggers. The database itself refuses UPDATE, DELETE and (on
//     PostgreSQL) TRUNCATE of audit_events; the chain catches whoever
//     disables them.
//
// Events written before the log was keyed (migration 00003) keep Scheme
// "sha256": the old unkeyed chain, still checked link by link, and reported
// as unkeyed, never as keyed. The first keyed event chains onto the last
// unkeyed one, sealing them: from then on they cannot change without
// breaking it. An unkeyed event after a keyed one is a break: Ward never
// writes one, so it was written or rewritten by someone without the key.
//
// A Store opened without WithAuditKey refuses to write audit events, so no
// production path writes an unkeyed event by forgetting the key. Go test
// binaries are the one exception (testing.Testing): other packages' tests
// open stores freely and get unkeyed "sha256" events, which VerifyAudit
// reports as unkeyed.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"
)

// Audit schemes: how an event's Hash was made.
const (
	// AuditKeyed is HMAC-SHA256 under the audit key named by KeyID.
	AuditKeyed = "hmac-sha256"
	// AuditUnkeyed is plain SHA-256: events written before the log was
	// keyed, and events written by tests without a key.
	AuditUnkeyed = "sha256"
)

// genesisHash is the PrevHash of the first audit event.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// auditLockKey serialises appends on PostgreSQL (pg_advisory_xact_lock);
// on SQLite every write transaction is already exclusive.
const auditLockKey = 0x77617264 // "ward"

// minAuditKey is the shortest key WithAuditKey accepts: 256 bits.
const minAuditKey = 32

// ErrNoAuditKey is returned by writes to the audit log of a store opened
// without WithAuditKey.
var ErrNoAuditKey = errors.New("this process opened the database without the audit key, and Ward never writes an unkeyed audit event; " +
	"open the store with store.WithAuditKey (the ward command loads it from $WARD_CREDENTIALS_DIR/audit.key)")

// auditKey holds the keys derived from the audit key: one per use, so a
// chain MAC can never pass for a checkpoint's, and an id that names the key
// without revealing it.
type auditKey struct {
	id         string
	chain      []byte
	checkpoint []byte
	err        error // the key given was unusable
}

// WithAuditKey keys the audit chain and checkpoints with key (at least 32
// random bytes, kept outside the database).
func WithAuditKey(key []byte) Option {
	return func(s *Store) { s.auditKey = newAuditKey(key) }
}

func newAuditKey(key []byte) *auditKey {
	if len(key) < minAuditKey {
		return &auditKey{err: fmt.Errorf("audit key: %d bytes, want at least %d random bytes", len(key), minAuditKey)}
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	return &auditKey{
		id:         hex.EncodeToString(derive("ward audit key id v1")[:8]),
		chain:      derive("ward audit chain v1"),
		checkpoint: derive("ward audit checkpoint v1"),
	}
}

// AuditKeyID names the store's audit key ("" when it has none), as events
// and checkpoints record it.
func (s *Store) AuditKeyID() string {
	if s.auditKey == nil {
		return ""
	}
	return s.auditKey.id
}

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
	if err := s.auditWritable(testing.Testing()); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
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
		if err := s.canFollow(&last[0]); err != nil {
			return nil, err
		}
		ev.Seq, ev.PrevHash = last[0].Seq+1, last[0].Hash
	}
	if k := s.auditKey; k != nil {
		ev.Scheme, ev.KeyID = AuditKeyed, k.id
		ev.Hash = k.mac(ev)
	} else {
		ev.Scheme = AuditUnkeyed
		ev.Hash = auditHash(ev)
	}
	if err := tx.Create(ev).Error; err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return ev, nil
}

// auditWritable says whether this store may write audit events: with a
// usable key, or without one only inside a Go test binary (inTest).
func (s *Store) auditWritable(inTest bool) error {
	switch {
	case s.auditKey != nil:
		return s.auditKey.err
	case inTest:
		return nil
	default:
		return ErrNoAuditKey
	}
}

// canFollow refuses to chain onto a keyed event this store could not have
// written: whatever it appended would break the chain at once.
func (s *Store) canFollow(last *AuditEvent) error {
	if last.Scheme != AuditKeyed {
		return nil
	}
	if s.auditKey == nil {
		return fmt.Errorf("audit log: event %d is keyed (audit key %s) and this store has no audit key; open it with store.WithAuditKey", last.Seq, last.KeyID)
	}
	if last.KeyID != s.auditKey.id {
		return fmt.Errorf("audit log: event %d was written with audit key %s, but this Ward holds audit key %s, and writing on would break the chain; "+
			"put back the audit.key Ward used (restore it from backup; on several replicas every one needs the same file)", last.Seq, last.KeyID, s.auditKey.id)
	}
	return nil
}

// CheckAuditKey reports whether this store can extend the audit log: it has
// a usable key, and the newest keyed event was written with that key. Call
// it at start-up, so a wrong key stops Ward before its first change rather
// than failing each one.
func (s *Store) CheckAuditKey(ctx context.Context) error {
	if err := s.auditWritable(false); err != nil {
		return err
	}
	var last []AuditEvent
	if err := s.DB.WithContext(ctx).Where("scheme = ?", AuditKeyed).Order("seq DESC").Limit(1).Find(&last).Error; err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if len(last) == 1 {
		return s.canFollow(&last[0])
	}
	return nil
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

// auditHash is the unkeyed scheme: SHA-256 over every field but the row ID,
// one per line, ending with the previous event's hash. Unchanged since
// before the log was keyed, so those events still verify.
func auditHash(ev *AuditEvent) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s\n%q\n%q\n%q\n%q\n%s", ev.Seq, ev.At.UTC().Format(time.RFC3339Nano),
		ev.Actor, ev.Action, ev.Object, ev.Detail, ev.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// mac is the keyed scheme: HMAC-SHA256 over the scheme, the key id and
// what auditHash covers.
func (k *auditKey) mac(ev *AuditEvent) string {
	h := hmac.New(sha256.New, k.chain)
	fmt.Fprintf(h, "%q\n%q\n%d\n%s\n%q\n%q\n%q\n%q\n%s", ev.Scheme, ev.KeyID, ev.Seq, ev.At.UTC().Format(time.RFC3339Nano),
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

// AuditBreak is where the audit chain stops holding: the first event that
// cannot be trusted.
type AuditBreak struct {
	Event AuditEvent
	// Missing: the event is gone from the log (Event holds only its Seq).
	Missing bool
	Reason  string
}

func (b *AuditBreak) Error() string {
	if b.Missing {
		return fmt.Sprintf("audit event %d: %s", b.Event.Seq, b.Reason)
	}
	return fmt.Sprintf("audit event %d (%s, %s by %s): %s", b.Event.Seq,
		b.Event.At.UTC().Format(time.RFC3339), b.Event.Action, b.Event.Actor, b.Reason)
}

// AuditReport is what VerifyAuditLog found.
type AuditReport struct {
	// Head is the newest event in the log (nil when it is empty).
	Head *AuditEvent
	// Checked counts the events verified, from the first, before any
	// break. Unkeyed of them (events 1 to Unkeyed) are in the unkeyed
	// scheme; Keyed are keyed with KeyID.
	Checked, Unkeyed, Keyed int
	KeyID                   string
	// Checkpoint is the checkpoint the log was checked against, if any.
	Checkpoint *AuditCheckpoint
	// Break is the first event that cannot be trusted; nil if none.
	Break *AuditBreak
}

// VerifyAudit walks the whole chain in order and returns the number of
// events checked and the first break, or nil when every event is intact.
// It is VerifyAuditLog without a checkpoint.
func (s *Store) VerifyAudit(ctx context.Context) (int, *AuditBreak, error) {
	rep, err := s.VerifyAuditLog(ctx, nil)
	if err != nil {
		return 0, nil, err
	}
	return rep.Checked, rep.Break, nil
}

// VerifyAuditLog walks the whole chain in order, checking each event's link
// to the one before and its hash (keyed events under the store's key), and,
// given a checkpoint, that the log still reaches it and matches it there.
// An error means the log could not be checked (no key for keyed events, a
// checkpoint that is not genuine, a database failure); a tampered log is
// reported in the report's Break.
func (s *Store) VerifyAuditLog(ctx context.Context, cp *AuditCheckpoint) (*AuditReport, error) {
	if cp != nil {
		if err := s.checkCheckpoint(cp); err != nil {
			return nil, err
		}
	}
	w := &auditWalk{s: s, cp: cp, rep: &AuditReport{Checkpoint: cp, KeyID: s.AuditKeyID()}}
	return w.run(ctx)
}

// VerifyAuditAfter extends prev — an intact report of VerifyAuditLog or
// of this method, without a checkpoint — over the events written since:
// it checks that prev's head event is still as it was, then walks only
// the newer events. Events before prev's head are trusted as prev found
// them: a full walk (VerifyAuditLog) is what finds an old event rewritten
// while the head stays; callers repeat one now and then. With prev nil,
// broken, or its head gone or changed, it walks the whole log.
func (s *Store) VerifyAuditAfter(ctx context.Context, prev *AuditReport) (*AuditReport, error) {
	if prev == nil || prev.Break != nil || prev.Head == nil || prev.Checkpoint != nil || prev.KeyID != s.AuditKeyID() {
		return s.VerifyAuditLog(ctx, nil)
	}
	var now []AuditEvent
	if err := s.DB.WithContext(ctx).Where("seq = ?", prev.Head.Seq).Limit(1).Find(&now).Error; err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	if len(now) != 1 || now[0].Hash != prev.Head.Hash || now[0].PrevHash != prev.Head.PrevHash || !s.sealed(&now[0]) {
		return s.VerifyAuditLog(ctx, nil)
	}
	head := now[0]
	rep := *prev
	rep.Head = nil
	w := &auditWalk{s: s, rep: &rep, last: &head}
	return w.run(ctx)
}

// sealed reports whether ev's content still matches its hash.
func (s *Store) sealed(ev *AuditEvent) bool {
	switch ev.Scheme {
	case AuditUnkeyed:
		return auditHash(ev) == ev.Hash
	case AuditKeyed:
		k := s.auditKey
		return k != nil && k.err == nil && ev.KeyID == k.id && hmac.Equal([]byte(k.mac(ev)), []byte(ev.Hash))
	}
	return false
}

// run walks the log from the event after w.last (the first if nil).
func (w *auditWalk) run(ctx context.Context) (*AuditReport, error) {
	s := w.s
	// Paged by seq itself, not by row id: the walk must not depend on ids
	// following seq, which whoever tampers with the table can change.
	const page = 1000
walk:
	for {
		q := s.DB.WithContext(ctx).Order("seq").Limit(page)
		if w.last != nil {
			q = q.Where("seq > ?", w.last.Seq)
		}
		var batch []AuditEvent
		if err := q.Find(&batch).Error; err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		for _, ev := range batch {
			brk, err := w.check(ev)
			if err != nil {
				return nil, err
			}
			if brk != nil {
				w.rep.Break = brk
				break walk
			}
			w.rep.Checked++
			w.last = &ev
		}
		if len(batch) < page {
			break
		}
	}
	if w.rep.Break == nil {
		w.rep.Break = w.checkTail()
	}
	if w.rep.Break == nil {
		w.rep.Head = w.last
		return w.rep, nil
	}
	var head []AuditEvent
	if err := s.DB.WithContext(ctx).Order("seq DESC").Limit(1).Find(&head).Error; err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	if len(head) == 1 {
		w.rep.Head = &head[0]
	}
	return w.rep, nil
}

// auditWalk is one verification pass over the log, oldest event first.
type auditWalk struct {
	s    *Store
	cp   *AuditCheckpoint
	rep  *AuditReport
	last *AuditEvent // the last event found intact
}

// check verifies ev against the events before it: nil if it holds, the
// break if not, an error if it cannot be checked (a keyed event and no key).
func (w *auditWalk) check(ev AuditEvent) (*AuditBreak, error) {
	broken := func(reason string, args ...any) (*AuditBreak, error) {
		return &AuditBreak{Event: ev, Reason: fmt.Sprintf(reason, args...)}, nil
	}
	prevSeq, prevHash := uint64(0), genesisHash
	if w.last != nil {
		prevSeq, prevHash = w.last.Seq, w.last.Hash
	}
	switch {
	case ev.Seq == prevSeq+2:
		return broken("follows event %d: event %d is missing", prevSeq, prevSeq+1)
	case ev.Seq != prevSeq+1:
		return broken("follows event %d: events %d to %d are missing", prevSeq, prevSeq+1, ev.Seq-1)
	case ev.PrevHash != prevHash:
		return broken("does not link to the event before it: an event was removed, inserted or rewritten")
	}
	k := w.s.auditKey
	switch ev.Scheme {
	case AuditUnkeyed:
		if w.rep.Keyed > 0 {
			return broken("is unkeyed but follows keyed events: Ward writes no unkeyed event once the log is keyed, so this one was written or rewritten without the audit key")
		}
		if auditHash(&ev) != ev.Hash {
			return broken("its content does not match its hash: the row was changed after it was written")
		}
	case AuditKeyed:
		if k == nil || k.err != nil {
			return nil, fmt.Errorf("audit event %d is keyed (audit key %s) and no usable audit key was given, so it cannot be checked; verify with the audit key (the ward command reads $WARD_CREDENTIALS_DIR/audit.key)", ev.Seq, ev.KeyID)
		}
		if ev.KeyID != k.id {
			return broken("was written with audit key %s, not with the key given (%s): if the key file was replaced, verify with the original; otherwise the event was forged", ev.KeyID, k.id)
		}
		if !hmac.Equal([]byte(k.mac(&ev)), []byte(ev.Hash)) {
			return broken("its content does not match its keyed hash: the row was changed after it was written, or the chain was recomputed without the audit key")
		}
	default:
		return broken("has unknown hash scheme %q: the row was changed after it was written", ev.Scheme)
	}
	if cp := w.cp; cp != nil && ev.Seq == cp.Seq && ev.Hash != cp.Hash {
		return broken("does not match the checkpoint taken %s (hash %s there, %s now): this event or one before it was rewritten after the checkpoint",
			cp.Taken.UTC().Format(time.RFC3339), short(cp.Hash), short(ev.Hash))
	}
	if ev.Scheme == AuditKeyed {
		w.rep.Keyed++
	} else {
		w.rep.Unkeyed++
	}
	return nil, nil
}

// checkTail, after an intact walk, reports a log that ends before the
// checkpoint's event: its tail was cut off.
func (w *auditWalk) checkTail() *AuditBreak {
	var headSeq uint64
	if w.last != nil {
		headSeq = w.last.Seq
	}
	cp := w.cp
	if cp == nil || cp.Seq <= headSeq {
		return nil
	}
	return &AuditBreak{Event: AuditEvent{Seq: headSeq + 1}, Missing: true,
		Reason: fmt.Sprintf("events %d to %d are gone: the checkpoint taken %s recorded event %d (hash %s), the log now ends at event %d; its tail was deleted",
			headSeq+1, cp.Seq, cp.Taken.UTC().Format(time.RFC3339), cp.Seq, short(cp.Hash), headSeq)}
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// AuditCheckpointFormat identifies a checkpoint document and its version.
const AuditCheckpointFormat = "ward-audit-checkpoint/1"

// AuditCheckpoint is the head of the audit log at one moment, signed with
// the audit key: exported (ward audit checkpoint -o FILE) and kept outside
// the database, it lets a later verify tell a log cut short or rewritten.
type AuditCheckpoint struct {
	Format string    `json:"format"`
	Seq    uint64    `json:"seq"`    // the head event's sequence (0: empty log)
	Hash   string    `json:"hash"`   // its hash
	At     time.Time `json:"at"`     // when it was written
	Events int       `json:"events"` // how many events the log held
	Taken  time.Time `json:"taken"`  // when the checkpoint was made
	KeyID  string    `json:"key_id"` // the audit key that signed it
	MAC    string    `json:"mac"`    // HMAC-SHA256 over the fields above
}

func (k *auditKey) checkpointMAC(cp *AuditCheckpoint) string {
	h := hmac.New(sha256.New, k.checkpoint)
	fmt.Fprintf(h, "%q\n%d\n%q\n%s\n%d\n%s\n%q", cp.Format, cp.Seq, cp.Hash, cp.At.UTC().Format(time.RFC3339Nano),
		cp.Events, cp.Taken.UTC().Format(time.RFC3339Nano), cp.KeyID)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditCheckpoint verifies the whole log and returns its head, signed. It
// refuses to sign a log that does not verify: the checkpoint would vouch for
// the tampering.
func (s *Store) AuditCheckpoint(ctx context.Context) (*AuditCheckpoint, error) {
	if s.auditKey == nil {
		return nil, fmt.Errorf("audit checkpoint: %w", ErrNoAuditKey)
	}
	if s.auditKey.err != nil {
		return nil, s.auditKey.err
	}
	rep, err := s.VerifyAuditLog(ctx, nil)
	if err != nil {
		return nil, err
	}
	if rep.Break != nil {
		return nil, fmt.Errorf("the audit log does not verify, so no checkpoint was made (it would vouch for the damage): %w", rep.Break)
	}
	cp := &AuditCheckpoint{Format: AuditCheckpointFormat, Hash: genesisHash, Events: rep.Checked, Taken: s.Now(), KeyID: s.auditKey.id}
	if rep.Head != nil {
		cp.Seq, cp.Hash, cp.At = rep.Head.Seq, rep.Head.Hash, rep.Head.At.UTC()
	}
	cp.MAC = s.auditKey.checkpointMAC(cp)
	return cp, nil
}

// ParseAuditCheckpoint decodes a checkpoint document. Its signature is
// checked by VerifyAuditLog, which holds the key.
func ParseAuditCheckpoint(b []byte) (*AuditCheckpoint, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cp AuditCheckpoint
	if err := dec.Decode(&cp); err != nil {
		return nil, fmt.Errorf("not an audit checkpoint: %w", err)
	}
	if cp.Format != AuditCheckpointFormat {
		return nil, fmt.Errorf("not an audit checkpoint: format %q, want %q (made by ward audit checkpoint)", cp.Format, AuditCheckpointFormat)
	}
	return &cp, nil
}

// checkCheckpoint verifies a checkpoint's signature with the store's key.
func (s *Store) checkCheckpoint(cp *AuditCheckpoint) error {
	if s.auditKey == nil || s.auditKey.err != nil {
		return fmt.Errorf("the checkpoint is signed with audit key %s and no usable audit key was given to check it", cp.KeyID)
	}
	if cp.KeyID != s.auditKey.id {
		return fmt.Errorf("the checkpoint was signed with audit key %s, not with the key given (%s): verify with the key Ward used when the checkpoint was taken", cp.KeyID, s.auditKey.id)
	}
	if !hmac.Equal([]byte(s.auditKey.checkpointMAC(cp)), []byte(cp.MAC)) {
		return errors.New("the checkpoint's signature does not match its content: it was edited after it was made, or was not made by Ward; use an untouched copy")
	}
	return nil
}
