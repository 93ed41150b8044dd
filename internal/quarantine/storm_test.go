package quarantine

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
	"github.com/wardnet/ward/policy"
)

func stormChild(t *testing.T, e *env) childReport {
	ctx := context.Background()
	from, _ := strconv.Atoi(os.Getenv("WARD_QUARANTINE_FROM"))
	to, _ := strconv.Atoi(os.Getenv("WARD_QUARANTINE_TO"))
	devices, err := e.st.CurrentDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep := childReport{Outcomes: map[string]int{}}
	var mu sync.Mutex
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				d := devices[i%len(devices)]
				rs, err := e.m.Intake(ctx, []alert.Alert{genericAlert(fmt.Sprintf("storm-%d", i), d.IP, "critical")})
				mu.Lock()
				rep.Ops++
				if err != nil {
					rep.Unexpected = append(rep.Unexpected, fmt.Sprintf("alert %d: %v", i, err))
				} else {
					rep.Results = append(rep.Results, rs[0])
					rep.Outcomes[rs[0].Status+"/"+rs[0].Action]++
					if rs[0].Held {
						rep.HeldAlerts++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return rep
}

// TestStormAcrossProcesses sends 1,000 alerts (100 of them by both) from
// two processes at once, far over max_auto_per_hour: the two together take
// exactly max_auto_per_hour automatic actions; every alert is recorded
// once and accounted for — acted on, recorded against an open quarantine,
// or held for a person as a pending quarantine it links to; a bulk
// approval then enforces every held one.
func TestStormAcrossProcesses(t *testing.T) {
	for kind, newURL := range dbKinds(t) {
		t.Run(kind, func(t *testing.T) {
			url := newURL(t)
			ctx := context.Background()
			st := seededStore(t, url)
			reports := runChildren(t, "storm", url,
				[]string{"WARD_QUARANTINE_FROM=0", "WARD_QUARANTINE_TO=550"},
				[]string{"WARD_QUARANTINE_FROM=450", "WARD_QUARANTINE_TO=1000"})
			e := newEnvOn(t, st, nil)
			max := e.cfg.Quarantine.MaxAutoPerHour
			auto, held, dups := 0, 0, 0
			for i, r := range reports {
				for _, u := range r.Unexpected {
					t.Errorf("child %d: %s", i, u)
				}
				for _, res := range r.Results {
					switch {
					case res.Status == "duplicate":
						dups++
					case res.Action == LevelIsolate || res.Action == LevelRestrict:
						auto++
					}
				}
				held += r.HeldAlerts
				t.Logf("child %d: %d alerts, %v, %d held", i, r.Ops, r.Outcomes, r.HeldAlerts)
			}
			if auto != max || dups != 100 {
				t.Errorf("%d automatic actions and %d duplicates across the two processes; want max_auto_per_hour (%d) and 100", auto, dups, max)
			}
			var alerts []store.Alert
			if err := st.DB.Order("id").Find(&alerts).Error; err != nil {
				t.Fatal(err)
			}
			byID := map[uint64]store.Quarantine{}
			var qs []store.Quarantine
			st.DB.Find(&qs)
			for _, q := range qs {
				byID[q.ID] = q
			}
			var recordedAuto, recordedHeld int
			for _, a := range alerts {
				var q *store.Quarantine
				if a.QuarantineID != nil {
					if qq, ok := byID[*a.QuarantineID]; ok {
						q = &qq
					}
				}
				switch {
				case a.Action == LevelIsolate || a.Action == LevelRestrict:
					recordedAuto++
					if q == nil || q.Status != StatusActive {
						t.Errorf("alert %s acted (%s) but its quarantine is %+v", a.ExternalID, a.Action, q)
					}
				case strings.HasPrefix(a.Decision, "held by the storm guard"):
					recordedHeld++
					if q == nil || (q.Status != StatusPending && q.Status != StatusActive) || (q.Status == StatusPending && q.PendingLevel == "") {
						t.Errorf("alert %s was held but waits in no pending quarantine: %+v", a.ExternalID, q)
					}
				case a.Action == "none" && q != nil:
				default:
					t.Errorf("alert %s (%s: %s) is lost: no action, nothing waiting for a person", a.ExternalID, a.Action, a.Decision)
				}
			}
			if len(alerts) != 1000 || recordedAuto != max || recordedHeld != held || held == 0 {
				t.Errorf("%d alerts recorded, %d automatic, %d held (children said %d); want 1000, %d, all held ones", len(alerts), recordedAuto, recordedHeld, held, max)
			}

			// Every held alert is in the one queue a person works from.
			pending, err := e.m.ListStatus(ctx, StatusPending)
			if err != nil {
				t.Fatal(err)
			}
			var wantPending int64
			st.DB.Model(&store.Quarantine{}).Where("status IN ? AND pending_level <> ''", []string{StatusActive, StatusPending}).Count(&wantPending)
			if int64(len(pending)) != wantPending || wantPending == 0 {
				t.Errorf("ward quarantines -status pending lists %d, the store holds %d waiting", len(pending), wantPending)
			}
			approved, err := e.m.ApprovePending(ctx, nil, true, "soc-lead", "storm reviewed")
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range approved {
				if a.Error != "" {
					t.Errorf("bulk approval of #%d: %s", a.ID, a.Error)
				}
			}
			if left, _ := e.m.ListStatus(ctx, StatusPending); len(approved) != len(pending) || len(left) != 0 {
				t.Errorf("bulk approval: %d approved of %d pending, %d still pending", len(approved), len(pending), len(left))
			}
		})
	}
}

// testClock is a store clock a test sets.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// TestSkewedReplicas: two replicas on one PostgreSQL whose hosts' clocks
// are two hours apart still count the storm guard's hour, and a
// quarantine's time to live, on one clock — the database server's: no
// more than max_auto_per_hour automatic actions between them, and no
// quarantine ended early by the host ahead.
func TestSkewedReplicas(t *testing.T) {
	url := pgtest.URL(t)
	host := func(skew time.Duration) store.Option {
		return store.WithHostClock(func() time.Time { return time.Now().Add(skew) })
	}
	slow := seededStore(t, url, host(0))
	fast, err := store.Open(context.Background(), url, host(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fast.Close() })
	edit := func(cfg *policy.Config) {
		cfg.Quarantine.MaxAutoPerHour = 3
		cfg.Quarantine.TTL[LevelIsolate] = time.Hour
		cfg.Quarantine.TTL[LevelRestrict] = time.Hour
	}
	a, b := newEnvOn(t, slow, edit), newEnvOn(t, fast, edit)
	devices, err := slow.CurrentDevices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	devices = slices.DeleteFunc(devices, func(d store.Device) bool { return d.Criticality != "low" })
	auto := 0
	for i, e := range []*env{a, a, a, b, b, b} {
		r := intake(t, e, genericAlert(fmt.Sprintf("skew-%d", i), devices[i].IP, "critical"))[0]
		if !r.Held && (r.Action == LevelIsolate || r.Action == LevelRestrict) {
			auto++
		}
	}
	if auto != 3 {
		t.Errorf("%d automatic actions within a minute across two replicas two hours apart; want max_auto_per_hour, 3", auto)
	}
	// The host two hours ahead finds nothing due: the quarantines' hour
	// is the server's.
	n, err := b.m.ExpireDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the host two hours ahead expired %d one-hour quarantines made a minute ago", n)
	}
}

// TestClockJumps moves the store's clock back and forward by two hours
// around an alert storm: a backward jump never reopens the storm window
// early, quarantines expire by the store's clock, and a forward jump —
// which expires everything at once — re-quarantines nothing: expired ones
// stay expired through reconcile, re-sent alerts are duplicates, and new
// alerts get max_auto_per_hour actions, no more.
func TestClockJumps(t *testing.T) {
	for kind, newURL := range dbKinds(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 6, 1, 12, 0, 0, 250000000, time.UTC)
			clock := &testClock{t: t0}
			st := seededStore(t, newURL(t), store.WithClock(clock.Now))
			e := newEnvOn(t, st, func(cfg *policy.Config) {
				cfg.Quarantine.MaxAutoPerHour = 3
				cfg.Quarantine.PendingTTL = time.Hour
				cfg.Quarantine.TTL[LevelIsolate] = 90 * time.Minute
				cfg.Quarantine.TTL[LevelRestrict] = 90 * time.Minute
			})
			devices, err := st.CurrentDevices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			devices = slices.DeleteFunc(devices, func(d store.Device) bool { return d.Criticality != "low" })
			if len(devices) < 12 {
				t.Fatalf("%d low devices in the example, want 12", len(devices))
			}
			send := func(ids ...int) (auto, held, dup int) {
				t.Helper()
				for _, i := range ids {
					r := intake(t, e, genericAlert(fmt.Sprintf("jump-%d", i), devices[i%len(devices)].IP, "critical"))[0]
					switch {
					case r.Status == "duplicate":
						dup++
					case r.Held:
						held++
					case r.Action == LevelIsolate || r.Action == LevelRestrict:
						auto++
					}
				}
				return
			}
			expire := func(want int, when string) {
				t.Helper()
				if n, err := e.m.ExpireDue(ctx); err != nil || n != want {
					t.Errorf("%s: ExpireDue = %d, %v; want %d", when, n, err, want)
				}
			}

			// T0: three actions, the fourth held for a person.
			if a, h, _ := send(0, 1, 2, 3); a != 3 || h != 1 {
				t.Fatalf("at T0: %d automatic, %d held; want 3 and 1", a, h)
			}
			// Back 2h: the T0 actions are in the store's future and still
			// count, so the window does not reopen.
			clock.Set(t0.Add(-2 * time.Hour))
			if a, h, _ := send(4); a != 0 || h != 1 {
				t.Errorf("2h back: %d automatic, %d held; want the alert held", a, h)
			}
			expire(0, "2h back")
			// T0+59m: the quarantines (90m) and the T0 hold (1h) are not due;
			// the hold made at T0-2h is, by the store's clock.
			clock.Set(t0.Add(59 * time.Minute))
			expire(1, "T0+59m")
			if a, h, _ := send(5); a != 0 || h != 1 {
				t.Errorf("T0+59m: %d automatic, %d held; want the alert held (the window holds the T0 actions)", a, h)
			}
			// Forward 2h past T0: everything is due and expires at once.
			clock.Set(t0.Add(2 * time.Hour))
			expire(5, "T0+2h")
			open, _ := e.m.ListStatus(ctx, "")
			if len(open) != 0 {
				t.Errorf("after the forward jump %d quarantines are open, want none: %+v", len(open), open)
			}
			// Nothing re-fires: reconcile adds nothing back, and the
			// senders' re-sent alerts are duplicates.
			if rep, err := e.m.Reconcile(ctx); err != nil || len(rep.Added) != 0 {
				t.Errorf("reconcile after the jump: %+v %v; want nothing added", rep, err)
			}
			for i := range 6 {
				if ip := devices[i].IP; e.f.in(intent.IsolateSet, ip) || e.f.in(intent.RestrictSet, ip) {
					t.Errorf("%s is still quarantined on core-fw after its quarantine expired", ip)
				}
			}
			if a, h, d := send(0, 1, 2, 3, 4, 5); a+h != 0 || d != 6 {
				t.Errorf("re-sent alerts: %d automatic, %d held, %d duplicates; want 6 duplicates", a, h, d)
			}
			// The window moved on with the clock: new alerts get exactly
			// max_auto_per_hour actions.
			if a, h, _ := send(6, 7, 8, 9, 10, 11); a != 3 || h != 3 {
				t.Errorf("new alerts at T0+2h: %d automatic, %d held; want 3 and 3", a, h)
			}
			// Back to T0: the T0+2h actions count (in the future), nothing
			// is due early, and reconcile re-adds no expired quarantine.
			clock.Set(t0)
			expire(0, "back at T0")
			if a, h, _ := send(12); a != 0 || h != 1 {
				t.Errorf("back at T0: %d automatic, %d held; want the alert held", a, h)
			}
			if rep, err := e.m.Reconcile(ctx); err != nil || len(rep.Added) != 0 {
				t.Errorf("reconcile back at T0: %+v %v; want nothing added", rep, err)
			}
			var active int64
			st.DB.Model(&store.Quarantine{}).Where("status = ?", StatusActive).Count(&active)
			if active != 3 {
				t.Errorf("%d active quarantines at the end, want the 3 of T0+2h", active)
			}
		})
	}
}
