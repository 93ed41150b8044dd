package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// decideQ runs one quarantine change in a decision transaction, as the
// quarantine manager does.
func decideQ(t *testing.T, st *Store, fn func(tx *QuarantineTx) error) {
	t.Helper()
	if err := st.QuarantineDecision(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// TestQuarantineHistory: a device quarantined twice, and another device
// quarantined once; the history of the device's second quarantine has
// its own alerts, approval, audit events and pushes only, each in time
// order.
func TestQuarantineHistory(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		a, b := testDevice(t, st, "ws-a"), testDevice(t, st, "ws-b")
		create := func(dev uint64, name string) *Quarantine {
			q := openQ(dev, QuarantineActive, "restrict", "isolate")
			decideQ(t, st, func(tx *QuarantineTx) error {
				return tx.CreateQuarantine(q, AuditEntry{Actor: "alert:suricata", Action: "quarantine.create", Object: name, Detail: map[string]any{}}, nil)
			})
			return q
		}
		first := create(a, "ws-a")
		if _, err := endQ(st, *first, QuarantineReleased); err != nil {
			t.Fatal(err)
		}
		other := create(b, "ws-b")
		q := create(a, "ws-a")
		for i, qid := range []uint64{first.ID, q.ID, q.ID, other.ID} {
			id := qid
			al := &Alert{Source: "suricata", ExternalID: fmt.Sprint("e", i), Signature: fmt.Sprint("sig ", i), ReceivedAt: time.Now(), QuarantineID: &id}
			decideQ(t, st, func(tx *QuarantineTx) error { _, err := tx.RecordAlert(al); return err })
		}
		var approved *Quarantine
		decideQ(t, st, func(tx *QuarantineTx) error {
			var err error
			approved, err = tx.ApproveQuarantine(*q, st.Now().Add(time.Hour), Approval{Actor: "dr-kim", Decision: "approved", Comment: "confirmed"},
				AuditEntry{Actor: "dr-kim", Action: "quarantine.approve", Object: "ws-a", Detail: map[string]any{}}, nil)
			return err
		})
		t0 := time.Now()
		for i, p := range []struct{ target, msg string }{{"core-fw", "dial timeout"}, {"access-3w", ""}, {"core-fw", ""}} {
			if err := st.RecordTargetEnforcement(ctx, []uint64{q.ID, other.ID}, PushOutcome{Target: p.target, Error: p.msg, At: t0.Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		decideQ(t, st, func(tx *QuarantineTx) error {
			// Released after the device left the inventory: the manager
			// then names it by id.
			_, err := tx.EndQuarantine(*approved, QuarantineReleased, "alice",
				AuditEntry{Actor: "alice", Action: "quarantine.release", Object: fmt.Sprintf("device #%d", a), Detail: map[string]any{}}, nil)
			return err
		})

		h, err := st.QuarantineHistory(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h.Quarantine.ID != q.ID || h.Quarantine.Status != QuarantineReleased || h.Device.Name != "ws-a" {
			t.Errorf("quarantine %+v of device %q, want #%d released of ws-a", h.Quarantine, h.Device.Name, q.ID)
		}
		var sigs []string
		for _, al := range h.Alerts {
			sigs = append(sigs, al.Signature)
		}
		if fmt.Sprint(sigs) != "[sig 1 sig 2]" {
			t.Errorf("alerts %v, want [sig 1 sig 2]", sigs)
		}
		if len(h.Approvals) != 1 || h.Approvals[0].Actor != "dr-kim" || h.Approvals[0].Comment != "confirmed" {
			t.Errorf("approvals %+v, want dr-kim's", h.Approvals)
		}
		var actions []string
		for _, e := range h.Events {
			actions = append(actions, e.Action)
		}
		if fmt.Sprint(actions) != "[quarantine.create quarantine.approve quarantine.release]" {
			t.Errorf("audit events %v, want [quarantine.create quarantine.approve quarantine.release]", actions)
		}
		var pushes []string
		for _, p := range h.Pushes {
			pushes = append(pushes, fmt.Sprintf("%s %v %q", p.Target, p.OK, p.Error))
		}
		want := `[core-fw false "dial timeout" access-3w true "" core-fw true ""]`
		if fmt.Sprint(pushes) != want {
			t.Errorf("pushes %v, want %s", pushes, want)
		}

		if _, err := st.QuarantineHistory(ctx, q.ID+100); !errors.Is(err, ErrNotFound) {
			t.Errorf("history of an unknown quarantine: %v, want ErrNotFound", err)
		}
	})
}

// TestRecordTargetEnforcementStormHistory: one push carrying hundreds of
// quarantines adds one history row for each (more rows than one SQLite
// statement may carry parameters for), and an unknown id adds none.
func TestRecordTargetEnforcementStormHistory(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		const n = 450
		devs := make([]Device, n)
		for i := range devs {
			name := fmt.Sprintf("dev-%03d", i)
			devs[i] = Device{Name: name, NameKey: name, IP: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), Criticality: "low", Labels: map[string]string{}}
		}
		if err := st.DB.CreateInBatches(devs, 100).Error; err != nil {
			t.Fatal(err)
		}
		qs := make([]Quarantine, n)
		ids := make([]uint64, 0, n+1)
		for i, d := range devs {
			qs[i] = *openQ(d.ID, QuarantineActive, "isolate", "")
		}
		if err := st.DB.CreateInBatches(qs, 100).Error; err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			ids = append(ids, q.ID)
		}
		ids = append(ids, qs[n-1].ID+1000)
		if err := st.RecordTargetEnforcement(ctx, ids, PushOutcome{Target: "core-fw", Error: "", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		var rows int64
		st.DB.Model(&QuarantinePush{}).Where("target = ? AND ok", "core-fw").Count(&rows)
		var distinct int64
		st.DB.Model(&QuarantinePush{}).Distinct("quarantine_id").Count(&distinct)
		if rows != n || distinct != n {
			t.Errorf("%d push rows for %d quarantines, want %d for %d", rows, distinct, n, n)
		}
	})
}

// TestPushHistoryOfChecks: a push keeps every outcome in the history; a
// check (a reconcile that changed nothing) keeps only the outcomes that
// change what the quarantine's EnforceError says of the target.
func TestPushHistoryOfChecks(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		dev := testDevice(t, st, "ws-c")
		q := openQ(dev, QuarantineActive, "isolate", "")
		if err := st.DB.Create(q).Error; err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		steps := []struct {
			check       bool
			target, msg string
		}{
			{false, "core-fw", ""},            // the push: kept
			{true, "core-fw", ""},             // in place: not kept
			{true, "core-fw", ""},             // in place: not kept
			{true, "core-fw", "dial timeout"}, // fails: kept
			{true, "core-fw", "dial timeout"}, // still failing the same way: not kept
			{true, "edge-fw", "refused"},      // another target fails: kept
			{true, "core-fw", ""},             // recovers: kept
			{false, "core-fw", ""},            // a push again: kept
		}
		for i, s := range steps {
			write := st.RecordTargetEnforcement
			if s.check {
				write = st.RecordTargetCheck
			}
			if err := write(ctx, []uint64{q.ID}, PushOutcome{Target: s.target, Error: s.msg, At: t0.Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		h, err := st.QuarantineHistory(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range h.Pushes {
			got = append(got, fmt.Sprintf("%s %q", p.Target, p.Error))
		}
		want := `[core-fw "" core-fw "dial timeout" edge-fw "refused" core-fw "" core-fw ""]`
		if fmt.Sprint(got) != want {
			t.Errorf("history %v, want %s", got, want)
		}
		if h.Quarantine.EnforceError != "edge-fw: refused" {
			t.Errorf("enforce error %q, want edge-fw's", h.Quarantine.EnforceError)
		}
	})
}

// TestPushHistoryRecordsFence: a push recorded with a fencing token keeps
// that token in the history, each push its own; one recorded without
// keeps 0.
func TestPushHistoryRecordsFence(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		dev := testDevice(t, st, "ws-f")
		q := openQ(dev, QuarantineActive, "isolate", "")
		if err := st.DB.Create(q).Error; err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			fence int64 // 0: no token in the context
			msg   string
		}{
			{fence: 7},
			{fence: 0, msg: "connection refused"},
			{fence: 12},
		}
		t0 := time.Now()
		for i, s := range steps {
			if err := st.RecordTargetEnforcement(ctx, []uint64{q.ID}, PushOutcome{Target: "core-fw", Error: s.msg, At: t0.Add(time.Duration(i) * time.Second), Fence: s.fence}); err != nil {
				t.Fatal(err)
			}
		}
		h, err := st.QuarantineHistory(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Pushes) != len(steps) {
			t.Fatalf("%d pushes in the history, want %d", len(h.Pushes), len(steps))
		}
		for i, s := range steps {
			if got := h.Pushes[i].Fence; got != s.fence {
				t.Errorf("push %d: fence %d, want %d", i, got, s.fence)
			}
		}
	})
}
