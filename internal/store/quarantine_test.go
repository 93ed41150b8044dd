package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

func testDevice(t *testing.T, st *Store, name string) uint64 {
	t.Helper()
	var n int64
	st.DB.Model(&Device{}).Count(&n)
	d := Device{Name: name, NameKey: strings.ToLower(name), IP: fmt.Sprintf("10.0.0.%d", n+1), Criticality: "low", Labels: map[string]string{}}
	if err := st.DB.Create(&d).Error; err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func openQ(dev uint64, status, level, pending string) *Quarantine {
	return &Quarantine{DeviceID: dev, Status: status, Level: level, PendingLevel: pending, CreatedBy: "test"}
}

func countOpen(t *testing.T, st *Store, dev uint64) int64 {
	t.Helper()
	var n int64
	if err := st.DB.Model(&Quarantine{}).Where("device_id = ? AND status IN ?", dev, openStatuses).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSecondOpenQuarantineRefused tries every way of opening a second
// quarantine for a device — the store's create, a plain insert, reopening
// an ended one — and expects the database to refuse each.
func TestSecondOpenQuarantineRefused(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		dev := testDevice(t, st, "pump-1")
		first := openQ(dev, QuarantineActive, "restrict", "")
		if err := st.QuarantineDecision(ctx, func(tx *QuarantineTx) error {
			return tx.CreateQuarantine(first, AuditEntry{Actor: "t", Action: "quarantine.create"}, nil)
		}); err != nil {
			t.Fatal(err)
		}
		for _, status := range []string{QuarantineActive, QuarantinePending} {
			var open *OpenQuarantineError
			err := st.QuarantineDecision(ctx, func(tx *QuarantineTx) error {
				return tx.CreateQuarantine(openQ(dev, status, "isolate", ""), AuditEntry{Actor: "t", Action: "quarantine.create"}, nil)
			})
			if !errors.As(err, &open) || open.Open.ID != first.ID || !strings.Contains(err.Error(), fmt.Sprintf("device pump-1 already has an open quarantine #%d", first.ID)) {
				t.Errorf("second %s quarantine: %v, want refused naming #%d", status, err, first.ID)
			}
		}
		if err := st.DB.Create(openQ(dev, QuarantinePending, "notify", "isolate")).Error; !isUniqueViolation(err) {
			t.Errorf("a plain insert of a second open quarantine: %v, want a unique violation", err)
		}
		// Ended quarantines do not count, but cannot be reopened beside an
		// open one either.
		ended, err := endQ(st, *first, QuarantineReleased)
		if err != nil {
			t.Fatal(err)
		}
		second := openQ(dev, QuarantineActive, "isolate", "")
		if err := st.QuarantineDecision(ctx, func(tx *QuarantineTx) error {
			return tx.CreateQuarantine(second, AuditEntry{Actor: "t", Action: "quarantine.create"}, nil)
		}); err != nil {
			t.Fatalf("a new quarantine after the release: %v", err)
		}
		if err := st.DB.Model(&Quarantine{}).Where("id = ?", ended.ID).Update("status", QuarantineActive).Error; !isUniqueViolation(err) {
			t.Errorf("reopening a released quarantine beside an open one: %v, want a unique violation", err)
		}
		if n := countOpen(t, st, dev); n != 1 {
			t.Errorf("%d open quarantines, want 1", n)
		}
		// Nothing refused left an audit event behind.
		var events int64
		st.DB.Model(&AuditEvent{}).Where("action LIKE 'quarantine.%'").Count(&events)
		if events != 3 {
			t.Errorf("%d quarantine audit events, want 3 (create, release, create)", events)
		}
	})
}

func endQ(st *Store, seen Quarantine, status string) (*Quarantine, error) {
	var out *Quarantine
	err := st.QuarantineDecision(context.Background(), func(tx *QuarantineTx) error {
		var err error
		out, err = tx.EndQuarantine(seen, status, "t", AuditEntry{Actor: "t", Action: "quarantine.release"}, nil)
		return err
	})
	return out, err
}

// TestApproveAndEndAreConditional races approvals and releases of one
// quarantine: exactly one approval is recorded, a release is final.
func TestApproveAndEndAreConditional(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		dev := testDevice(t, st, "ws-1")
		q := openQ(dev, QuarantinePending, "notify", "isolate")
		if err := st.QuarantineDecision(ctx, func(tx *QuarantineTx) error {
			return tx.CreateQuarantine(q, AuditEntry{Actor: "t", Action: "quarantine.create"}, nil)
		}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				errs[i] = st.QuarantineDecision(ctx, func(tx *QuarantineTx) error {
					_, err := tx.ApproveQuarantine(*q, st.Now().Add(time.Hour), Approval{Actor: fmt.Sprint("admin", i), Decision: "approved"},
						AuditEntry{Actor: "t", Action: "quarantine.approve"}, nil)
					return err
				})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			var ch *QuarantineChangedError
			switch {
			case err == nil:
				ok++
			case !errors.As(err, &ch) || ch.Now == nil || ch.Now.Status != QuarantineActive:
				t.Errorf("a losing approval: %v, want QuarantineChangedError naming it active now", err)
			}
		}
		var approvals int64
		st.DB.Model(&Approval{}).Where("quarantine_id = ?", q.ID).Count(&approvals)
		if ok != 1 || approvals != 1 {
			t.Fatalf("%d approvals succeeded, %d recorded; want exactly 1", ok, approvals)
		}
		now, err := st.FindQuarantine(ctx, q.ID)
		if err != nil || now.Status != QuarantineActive || now.Level != "isolate" || now.PendingLevel != "" {
			t.Fatalf("after approval: %+v %v", now, err)
		}
		if _, err := endQ(st, *now, QuarantineReleased); err != nil {
			t.Fatal(err)
		}
		// A stale view (the active row as it was) can neither expire nor
		// release it again.
		var ch *QuarantineChangedError
		if _, err := endQ(st, *now, QuarantineExpired); !errors.As(err, &ch) {
			t.Errorf("expiring a released quarantine: %v, want QuarantineChangedError", err)
		}
		active, err := st.ActiveQuarantines(ctx)
		if err != nil || len(active) != 0 {
			t.Errorf("active quarantines after the release: %+v %v", active, err)
		}
	})
}

// TestMigrationResolvesDuplicateOpenQuarantines builds the database an
// older Ward left — several open quarantines for one device — and migrates
// it: the newest stays open, the others are released with a note.
func TestMigrationResolvesDuplicateOpenQuarantines(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		sqlDB, err := st.DB.DB()
		if err != nil {
			t.Fatal(err)
		}
		fsys, _ := fs.Sub(migrations, "migrations/"+string(st.Dialect()))
		dialect := goose.DialectSQLite3
		if st.Dialect() == Postgres {
			dialect = goose.DialectPostgres
		}
		p, err := goose.NewProvider(dialect, sqlDB, fsys)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 4); err != nil {
			t.Fatal(err)
		}
		a, b := testDevice(t, st, "a"), testDevice(t, st, "b")
		var ids []uint64
		for _, q := range []*Quarantine{openQ(a, QuarantineActive, "restrict", ""), openQ(a, QuarantineActive, "restrict", "isolate"),
			openQ(b, QuarantineActive, "isolate", ""), openQ(a, QuarantineActive, "isolate", ""), openQ(a, QuarantineReleased, "isolate", "")} {
			if err := st.DB.Create(q).Error; err != nil {
				t.Fatal(err)
			}
			ids = append(ids, q.ID)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		var rows []Quarantine
		st.DB.Order("id").Find(&rows)
		want := []string{QuarantineReleased, QuarantineReleased, QuarantineActive, QuarantineActive, QuarantineReleased}
		for i, q := range rows {
			if q.Status != want[i] {
				t.Errorf("quarantine #%d: %s, want %s", q.ID, q.Status, want[i])
			}
		}
		for _, i := range []int{0, 1} {
			if q := rows[i]; !strings.Contains(q.Reason, fmt.Sprintf("the newest, #%d, was kept", ids[3])) || q.ReleasedBy != "ward (migration 00005)" ||
				q.ReleasedAt == nil || q.PendingLevel != "" {
				t.Errorf("resolved duplicate %+v: want released by the migration, naming #%d", q, ids[3])
			}
		}
		if n := countOpen(t, st, a); n != 1 {
			t.Errorf("%d open quarantines for a, want 1", n)
		}
		if err := st.DB.Create(openQ(a, QuarantineActive, "isolate", "")).Error; !isUniqueViolation(err) {
			t.Errorf("after the migration a second open quarantine: %v, want refused", err)
		}
	})
}

// TestEndedFailingOn lists the ended quarantines whose EnforceError has an
// entry for the target, by entry, not by substring: a target whose name
// holds LIKE's wildcards, or is a suffix of another's, matches only its own.
func TestEndedFailingOn(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		rows := []struct {
			status, enforceError string
			want                 bool // listed for core_fw
		}{
			{QuarantineReleased, "core_fw: connection refused", true},
			{QuarantineExpired, "access-ovs: timeout; core_fw: refused", true},
			{QuarantineReleased, "coreXfw: connection refused", false},
			{QuarantineReleased, "edge-core_fw: timeout", false},
			{QuarantineReleased, "access-ovs: said core_fw: no", false},
			{QuarantineReleased, "", false},
			{QuarantineActive, "core_fw: connection refused", false},
		}
		var want []uint64
		for i, r := range rows {
			q := openQ(testDevice(t, st, fmt.Sprintf("dev-%d", i)), r.status, "restrict", "")
			q.EnforceError = r.enforceError
			if err := st.DB.Create(q).Error; err != nil {
				t.Fatal(err)
			}
			if r.want {
				want = append(want, q.ID)
			}
		}
		got, err := st.EndedFailingOn(ctx, "core_fw")
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("EndedFailingOn(core_fw) = %v, %v; want %v", got, err, want)
		}
	})
}
