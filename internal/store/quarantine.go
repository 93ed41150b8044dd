package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Quarantine statuses. A device has at most one open quarantine — active or
// pending — and the database enforces it (the partial unique index
// quarantines_one_open, migration 00005), whichever process decides.
const (
	// QuarantineActive is enforced at Level; a stronger PendingLevel may
	// wait for a person's approval.
	QuarantineActive = "active"
	// QuarantinePending enforces nothing yet: PendingLevel waits for a
	// person (an alert the storm guard held). Approval makes it active;
	// unapproved it expires at ExpiresAt.
	QuarantinePending = "pending"
	// Released and expired quarantines are final: nothing re-adds them.
	QuarantineReleased = "released"
	QuarantineExpired  = "expired"
)

// OpenStatuses are the statuses of a device's one open quarantine.
var openStatuses = []string{QuarantineActive, QuarantinePending}

// quarantineLockKey serialises quarantine decisions of every process on
// PostgreSQL (pg_advisory_xact_lock): the storm guard counts and acts in
// one step. On SQLite every write transaction is already exclusive.
const quarantineLockKey = 0x77617271 // "warq"

// OpenQuarantineError is a second open quarantine for a device, refused by
// the database.
type OpenQuarantineError struct {
	DeviceID uint64
	Device   string     // its name
	Open     Quarantine // the device's open quarantine
}

func (e *OpenQuarantineError) Error() string {
	return fmt.Sprintf("device %s already has an open quarantine #%d (%s, %s): act on that one (ward quarantines lists it) instead of opening another",
		cmp.Or(e.Device, fmt.Sprintf("#%d", e.DeviceID)), e.Open.ID, e.Open.Status, e.Open.Level)
}

// QuarantineChangedError is a conditional change that found the quarantine
// no longer as its caller saw it: another process or request acted first.
// Nothing was changed.
type QuarantineChangedError struct {
	ID       uint64
	Expected string // what the caller saw
	Now      *Quarantine
}

func (e *QuarantineChangedError) Error() string {
	now := "gone"
	if e.Now != nil {
		now = describeState(*e.Now)
	}
	return fmt.Sprintf("quarantine #%d changed meanwhile (expected %s, now %s): nothing was done; look at it again (ward quarantines -all)", e.ID, e.Expected, now)
}

// describeState is what a conditional change compares of a quarantine —
// status, level, pending level — in words.
func describeState(q Quarantine) string {
	s := q.Status + ", " + cmp.Or(q.Level, "no level")
	if q.PendingLevel != "" {
		s += ", " + q.PendingLevel + " waiting for approval"
	}
	return s
}

// QuarantineTx is one quarantine decision's transaction: what it reads, it
// reads under the lock that serialises deciders; what it writes commits
// together with its audit event and the push jobs it causes, or not at all.
type QuarantineTx struct {
	s  *Store
	tx *gorm.DB
}

// QuarantineDecision runs fn in one transaction that excludes every other
// quarantine decision, in this process or another.
//
// Decisions asked for at the same time in this process are committed
// together (group commit): one transaction, each decision in a savepoint of
// its own, so one that fails rolls back only what it wrote, and each sees
// what the ones before it wrote — exactly as if they had run one after the
// other, which the lock makes them do anyway. One commit for several alerts
// is what keeps intake fast in a storm.
func (s *Store) QuarantineDecision(ctx context.Context, fn func(*QuarantineTx) error) error {
	p := &pendingDecision{fn: fn, done: make(chan error, 1)}
	b := &s.decisions
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if b.running {
		b.mu.Unlock()
		return <-p.done // the leader runs it; fn is not abandoned half-way
	}
	b.running = true
	for {
		batch := b.queue
		b.queue = nil
		b.mu.Unlock()
		s.runDecisions(ctx, batch)
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return <-p.done
		}
	}
}

// decisionBatcher queues the decisions of this process for group commit.
type decisionBatcher struct {
	mu      sync.Mutex
	queue   []*pendingDecision
	running bool // a leader is committing: new decisions wait for it
}

type pendingDecision struct {
	fn   func(*QuarantineTx) error
	err  error
	done chan error
}

// maxDecisionWait bounds a batch's transaction, which serves other
// callers than the one whose context started it.
const maxDecisionWait = 30 * time.Second

// runDecisions commits a batch of decisions in one transaction and tells
// each caller its outcome.
func (s *Store) runDecisions(ctx context.Context, batch []*pendingDecision) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxDecisionWait)
	defer cancel()
	err := s.hot.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.dialect == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", quarantineLockKey).Error; err != nil {
				return fmt.Errorf("taking the quarantine decision lock: %w", err)
			}
		}
		if len(batch) == 1 {
			batch[0].err = batch[0].fn(&QuarantineTx{s: s, tx: tx})
			return batch[0].err
		}
		for i, p := range batch {
			sp := fmt.Sprintf("decision%d", i)
			if err := tx.SavePoint(sp).Error; err != nil {
				return fmt.Errorf("quarantine decision savepoint: %w", err)
			}
			if p.err = p.fn(&QuarantineTx{s: s, tx: tx}); p.err != nil {
				if err := tx.RollbackTo(sp).Error; err != nil {
					return fmt.Errorf("rolling back a failed quarantine decision: %w", err)
				}
			}
		}
		return nil
	})
	for _, p := range batch {
		if err != nil && p.err == nil {
			p.err = err // the commit (or the lock) failed: nothing of it holds
		}
		p.done <- p.err
	}
}

// Now is the store's clock.
func (t *QuarantineTx) Now() time.Time { return t.s.Now() }

// Open returns the device's open quarantine, or nil.
func (t *QuarantineTx) Open(deviceID uint64) (*Quarantine, error) {
	return openQuarantine(t.tx, deviceID)
}

func openQuarantine(db *gorm.DB, deviceID uint64) (*Quarantine, error) {
	var rows []Quarantine
	// No ORDER BY: the unique index quarantines_one_open allows one open
	// row per device, and without it SQLite may walk the whole table in id
	// order instead of using the (device_id, status) index.
	if err := db.Where("device_id = ? AND status IN ?", deviceID, openStatuses).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the open quarantine of device #%d: %w", deviceID, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// AutomaticActionsSince counts the automatic actions — alerts that started
// or strengthened a quarantine (action isolate or restrict) — received at
// or after since, by the store's clock. Actions stamped later than now (the
// clock went back) still count: a backward jump never reopens the window
// early.
func (t *QuarantineTx) AutomaticActionsSince(since time.Time) (int, error) {
	var n int64
	if err := t.tx.Model(&Alert{}).Where("action IN ? AND received_at >= ?", automaticActions, since.UTC()).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("counting the automatic quarantines of the last hour: %w", err)
	}
	return int(n), nil
}

// automaticActions are the alert actions that count against the storm
// guard (the quarantine levels, quarantine.LevelIsolate and LevelRestrict).
var automaticActions = []string{"isolate", "restrict"}

// CreateQuarantine inserts q — which must be open — with its audit event
// and jobs. A device that has an open quarantine already is refused with
// *OpenQuarantineError, and nothing is written.
func (t *QuarantineTx) CreateQuarantine(q *Quarantine, ev AuditEntry, jobs []Job) error {
	if q.ID != 0 || (q.Status != QuarantineActive && q.Status != QuarantinePending) {
		return fmt.Errorf("creating a quarantine for device #%d: want a new active or pending one, got #%d %q", q.DeviceID, q.ID, q.Status)
	}
	// A savepoint keeps the transaction usable after a refused insert
	// (PostgreSQL aborts it otherwise), so the error can name the open one.
	if err := t.tx.SavePoint("quarantine_create").Error; err != nil {
		return err
	}
	if cerr := t.tx.Create(q).Error; cerr != nil {
		if !isUniqueViolation(cerr) {
			return fmt.Errorf("recording the quarantine of device #%d: %w", q.DeviceID, cerr)
		}
		q.ID = 0
		if err := t.tx.RollbackTo("quarantine_create").Error; err != nil {
			return err
		}
		open, err := t.Open(q.DeviceID)
		if err != nil {
			return err
		}
		if open == nil {
			// Refused by another unique index: report what it said.
			return fmt.Errorf("recording the quarantine of device #%d: %w", q.DeviceID, cerr)
		}
		var names []string
		t.tx.Model(&Device{}).Where("id = ?", q.DeviceID).Limit(1).Pluck("name", &names)
		e := &OpenQuarantineError{DeviceID: q.DeviceID, Open: *open}
		if len(names) == 1 {
			e.Device = names[0]
		}
		return e
	}
	return t.finish(q.ID, ev, jobs)
}

// UpdateQuarantine writes q's new state if the row is still as seen: same
// status, level and pending level. Otherwise it returns
// *QuarantineChangedError and writes nothing.
func (t *QuarantineTx) UpdateQuarantine(seen Quarantine, q *Quarantine, ev AuditEntry, jobs []Job) error {
	if seen.ID == 0 || q.ID != seen.ID {
		return fmt.Errorf("updating quarantine #%d: the row seen is #%d", q.ID, seen.ID)
	}
	res := t.tx.Model(&Quarantine{}).
		Where("id = ? AND status = ? AND level = ? AND pending_level = ?", seen.ID, seen.Status, seen.Level, seen.PendingLevel).
		Select("level", "status", "pending_level", "reason", "expires_at", "released_at", "released_by",
			"addresses", "switch_target", "switch_port", "home_vlan", "alert_id").
		Updates(q)
	if res.Error != nil {
		if isUniqueViolation(res.Error) {
			return fmt.Errorf("quarantine #%d: device #%d has another open quarantine: %w", q.ID, q.DeviceID, res.Error)
		}
		return fmt.Errorf("updating quarantine #%d: %w", q.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return t.changed(seen)
	}
	return t.finish(q.ID, ev, jobs)
}

func (t *QuarantineTx) changed(seen Quarantine) error {
	e := &QuarantineChangedError{ID: seen.ID, Expected: describeState(seen)}
	var now Quarantine
	if err := t.tx.Take(&now, seen.ID).Error; err == nil {
		e.Now = &now
	}
	return e
}

// ApproveQuarantine makes the level quarantine seen waits for its level —
// active, nothing pending, until expires — if it is still as seen, and
// records the approval. A lost race is *QuarantineChangedError: one
// approval, never two.
func (t *QuarantineTx) ApproveQuarantine(seen Quarantine, expires time.Time, approval Approval, ev AuditEntry, jobs []Job) (*Quarantine, error) {
	if seen.PendingLevel == "" || (seen.Status != QuarantineActive && seen.Status != QuarantinePending) {
		return nil, fmt.Errorf("quarantine #%d (%s) waits for no approval", seen.ID, seen.Status)
	}
	q := seen
	q.Level, q.PendingLevel, q.Status = seen.PendingLevel, "", QuarantineActive
	exp := expires.UTC()
	q.ExpiresAt = &exp
	if err := t.UpdateQuarantine(seen, &q, ev, jobs); err != nil {
		return nil, err
	}
	approval.ID, approval.QuarantineID = 0, q.ID
	if approval.CreatedAt.IsZero() {
		approval.CreatedAt = t.Now()
	}
	if err := t.tx.Create(&approval).Error; err != nil {
		return nil, fmt.Errorf("recording the approval of quarantine #%d: %w", q.ID, err)
	}
	return &q, nil
}

// EndQuarantine ends quarantine seen — released or expired, which is final
// — if it is still open as seen.
func (t *QuarantineTx) EndQuarantine(seen Quarantine, status, actor string, ev AuditEntry, jobs []Job) (*Quarantine, error) {
	if status != QuarantineReleased && status != QuarantineExpired {
		return nil, fmt.Errorf("ending quarantine #%d as %q: want released or expired", seen.ID, status)
	}
	q := seen
	now := t.Now()
	q.Status, q.ReleasedAt, q.ReleasedBy, q.PendingLevel = status, &now, actor, ""
	if err := t.UpdateQuarantine(seen, &q, ev, jobs); err != nil {
		return nil, err
	}
	return &q, nil
}

// RecordAlert inserts an alert; false means its (source, external id) was
// received before and nothing was written.
func (t *QuarantineTx) RecordAlert(a *Alert) (bool, error) {
	res := t.tx.Clauses(clause.OnConflict{DoNothing: true}).Create(a)
	if res.Error != nil {
		return false, fmt.Errorf("recording alert %s/%s: %w", a.Source, a.ExternalID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// LinkAlert records on quarantine id the alert that opened it.
func (t *QuarantineTx) LinkAlert(quarantineID, alertID uint64) error {
	return t.tx.Model(&Quarantine{}).Where("id = ? AND alert_id IS NULL", quarantineID).Update("alert_id", alertID).Error
}

// finish appends the audit event and enqueues the jobs of a change to
// quarantine id, in its transaction.
func (t *QuarantineTx) finish(id uint64, ev AuditEntry, jobs []Job) error {
	if d, ok := ev.Detail.(map[string]any); ok {
		d["quarantine"] = id
	}
	if _, err := t.s.Audit(t.tx, ev); err != nil {
		return err
	}
	if len(jobs) > 0 {
		return enqueueJobs(t.tx, jobs...)
	}
	return nil
}

// isUniqueViolation reports a unique index refusing a row.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// FindQuarantine returns quarantine id, or ErrNotFound.
func (s *Store) FindQuarantine(ctx context.Context, id uint64) (*Quarantine, error) {
	return findQuarantine(s.DB.WithContext(ctx), id)
}

// findQuarantine reads quarantine id through db (the store, or a
// transaction), or returns ErrNotFound.
func findQuarantine(db *gorm.DB, id uint64) (*Quarantine, error) {
	var rows []Quarantine
	if err := db.Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading quarantine #%d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("quarantine #%d: %w", id, ErrNotFound)
	}
	return &rows[0], nil
}

// OpenQuarantine returns the device's open quarantine (active or pending),
// or nil.
func (s *Store) OpenQuarantine(ctx context.Context, deviceID uint64) (*Quarantine, error) {
	return openQuarantine(s.hot.WithContext(ctx), deviceID)
}

// ActiveQuarantines returns every active quarantine: what the targets must
// enforce. Pending, released and expired quarantines enforce nothing.
func (s *Store) ActiveQuarantines(ctx context.Context) ([]Quarantine, error) {
	var rows []Quarantine
	if err := s.DB.WithContext(ctx).Where("status = ?", QuarantineActive).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the active quarantines: %w", err)
	}
	return rows, nil
}

// EndedFailingOn returns the ended (released or expired) quarantines
// whose EnforceError still names target: an undo that failed there, and
// that no push to the target has carried out since.
func (s *Store) EndedFailingOn(ctx context.Context, target string) ([]uint64, error) {
	var rows []Quarantine
	// LIKE only narrows the reading (a target's name may hold its
	// wildcards); targetEntry decides.
	err := s.DB.WithContext(ctx).Select("id", "enforce_error").
		Where("status IN ? AND enforce_error LIKE ?", []string{QuarantineReleased, QuarantineExpired}, "%"+target+": %").
		Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reading the ended quarantines whose undo failed on target %q: %w", target, err)
	}
	var out []uint64
	for _, r := range rows {
		if targetEntry(r.EnforceError, target) != "" {
			out = append(out, r.ID)
		}
	}
	return out, nil
}

// DueQuarantines returns the open quarantines whose time is up at now: an
// active one's TTL, or a pending one's wait for a person.
func (s *Store) DueQuarantines(ctx context.Context, now time.Time) ([]Quarantine, error) {
	var rows []Quarantine
	if err := s.DB.WithContext(ctx).Where("status IN ? AND expires_at <= ?", openStatuses, now.UTC()).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the quarantines due to expire: %w", err)
	}
	return rows, nil
}

// QuarantineFilter selects quarantines for ListQuarantines.
type QuarantineFilter struct {
	// Status is "" (open: active or pending), "all", "pending" (waiting for
	// a person: held by the storm guard, or a level waiting for approval),
	// or one status.
	Status string
	Limit  int // default 1000
}

// ListQuarantines returns quarantines, newest first.
func (s *Store) ListQuarantines(ctx context.Context, f QuarantineFilter) ([]Quarantine, error) {
	tx := s.DB.WithContext(ctx).Order("id DESC")
	switch f.Status {
	case "":
		tx = tx.Where("status IN ?", openStatuses)
	case "all":
	case QuarantinePending:
		tx = tx.Where("status IN ? AND pending_level <> ''", openStatuses)
	case QuarantineActive, QuarantineReleased, QuarantineExpired:
		tx = tx.Where("status = ?", f.Status)
	default:
		return nil, fmt.Errorf("quarantine status %q: want active, pending, released, expired or all", f.Status)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	var rows []Quarantine
	if err := tx.Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("listing quarantines: %w", err)
	}
	return rows, nil
}

// FindAlert returns the alert received from source with external id extID.
func (s *Store) FindAlert(ctx context.Context, source, extID string) (*Alert, error) {
	var rows []Alert
	if err := s.DB.WithContext(ctx).Where("source = ? AND external_id = ?", source, extID).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading alert %s/%s: %w", source, extID, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("alert %s/%s: %w", source, extID, ErrNotFound)
	}
	return &rows[0], nil
}

// CurrentDevices returns the devices in the inventory now (not removed).
func (s *Store) CurrentDevices(ctx context.Context) ([]Device, error) {
	var rows []Device
	if err := s.DB.WithContext(ctx).Where("removed_at IS NULL").Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the inventory: %w", err)
	}
	return rows, nil
}

// DeviceNamed returns the device with this name, removed from the
// inventory or not (the newest of that name), or ErrNotFound.
func (s *Store) DeviceNamed(ctx context.Context, name string) (*Device, error) {
	var rows []Device
	if err := s.DB.WithContext(ctx).Where("name = ?", name).Order("id DESC").Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading device %q: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("device %q: %w", name, ErrNotFound)
	}
	return &rows[0], nil
}

// Find returns quarantine id as this transaction sees it, or ErrNotFound.
func (t *QuarantineTx) Find(id uint64) (*Quarantine, error) { return findQuarantine(t.tx, id) }

// DeviceByID returns device id, removed from the inventory or not, or
// ErrNotFound.
func (s *Store) DeviceByID(ctx context.Context, id uint64) (*Device, error) {
	var rows []Device
	if err := s.DB.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading device #%d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("device #%d: %w", id, ErrNotFound)
	}
	return &rows[0], nil
}
