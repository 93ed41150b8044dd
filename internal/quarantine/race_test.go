package quarantine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
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

// The tests here run the quarantine manager in two OS processes at once —
// this test binary started again as TestQuarantineChild — on one
// database, SQLite and PostgreSQL, the way the CLI and ward serve (or two
// replicas) share one: what one process's memory knows, the other's does
// not, so only the database can keep the invariants.

const childEnv = "WARD_QUARANTINE_CHILD" // the child's job: race or storm

// dbKinds returns a fresh SQLite URL and a fresh PostgreSQL database URL.
func dbKinds(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "ward.db") },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	}
}

// childReport is what a child process prints (one line, "REPORT " JSON).
type childReport struct {
	Ops        int            `json:"ops"`
	Outcomes   map[string]int `json:"outcomes"`   // ok, refused, not_found
	Unexpected []string       `json:"unexpected"` // errors no racing process explains
	// Refusals counts the second open quarantines the database refused:
	// the manager's own (decided again on the open one) and a plain insert
	// that skips the manager's lock, as an older Ward would.
	Refusals   int      `json:"refusals"`
	MaxOpen    int64    `json:"max_open"` // open quarantines of the device, checked after each step
	Results    []Result `json:"results,omitempty"`
	HeldAlerts int      `json:"held_alerts"`
}

// runChildren starts one child per entry of envs and returns their reports.
func runChildren(t *testing.T, job, url string, envs ...[]string) []childReport {
	t.Helper()
	reports := make([]childReport, len(envs))
	var wg sync.WaitGroup
	for i, env := range envs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestQuarantineChild$", "-test.count=1", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + job, "WARD_QUARANTINE_DB=" + url}, env...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("child %d (%s): %v\n%s\n%s", i, job, err, stdout.String(), stderr.String())
				return
			}
			sc := bufio.NewScanner(&stdout)
			sc.Buffer(nil, 64<<20)
			for sc.Scan() {
				if line, ok := strings.CutPrefix(sc.Text(), "REPORT "); ok {
					if err := json.Unmarshal([]byte(line), &reports[i]); err != nil {
						t.Errorf("child %d: report: %v", i, err)
					}
					return
				}
			}
			t.Errorf("child %d (%s) printed no report:\n%s\n%s", i, job, stdout.String(), stderr.String())
		})
	}
	wg.Wait()
	return reports
}

// TestQuarantineChild is one of the racing processes; it does nothing
// unless started by a test of this file.
func TestQuarantineChild(t *testing.T) {
	job := os.Getenv(childEnv)
	if job == "" {
		t.Fatal("run only as a child process of TestTwoProcessesOneOpenQuarantine and TestStormAcrossProcesses")
	}
	st, err := store.Open(context.Background(), os.Getenv("WARD_QUARANTINE_DB"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEnvOn(t, st, nil)
	var rep childReport
	switch job {
	case "race":
		rep = raceChild(t, e)
	case "storm":
		rep = stormChild(t, e)
	default:
		t.Fatalf("unknown child job %q", job)
	}
	b, _ := json.Marshal(rep)
	fmt.Printf("REPORT %s\n", b)
}

// countingHandler counts the manager's log records that report a second
// open quarantine refused by the database.
type countingHandler struct{ n *atomic.Int64 }

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "second open quarantine was refused") {
		h.n.Add(1)
	}
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

const raceDevice = "pump-netlab-01" // life-critical: an isolate waits for approval

func raceChild(t *testing.T, e *env) childReport {
	ctx := context.Background()
	var refused atomic.Int64
	e.m.log = slog.New(countingHandler{&refused})
	rounds, _ := strconv.Atoi(os.Getenv("WARD_QUARANTINE_ROUNDS"))
	me := os.Getenv("WARD_QUARANTINE_NAME")
	bypass := os.Getenv("WARD_QUARANTINE_BYPASS") == "1"
	dev, err := e.st.DeviceNamed(ctx, raceDevice)
	if err != nil {
		t.Fatal(err)
	}
	rep := childReport{Outcomes: map[string]int{}}
	note := func(step string, err error) {
		rep.Ops++
		var rf *RefusedError
		switch {
		case err == nil:
			rep.Outcomes["ok"]++
		case errors.As(err, &rf):
			rep.Outcomes["refused"]++
		case errors.Is(err, ErrNotFound):
			rep.Outcomes["not_found"]++
		default:
			rep.Unexpected = append(rep.Unexpected, step+": "+err.Error())
		}
		var n int64
		if err := e.st.DB.Model(&store.Quarantine{}).Where("device_id = ? AND status IN ?", dev.ID, []string{StatusActive, StatusPending}).Count(&n).Error; err != nil {
			rep.Unexpected = append(rep.Unexpected, "counting: "+err.Error())
		}
		rep.MaxOpen = max(rep.MaxOpen, n)
	}
	for i := range rounds {
		level := LevelIsolate
		if i%3 == 0 {
			level = LevelRestrict
		}
		_, err := e.m.Quarantine(ctx, Request{Device: raceDevice, Level: level, Actor: me, Reason: fmt.Sprintf("round %d", i)})
		note("quarantine", err)
		if bypass {
			// An older Ward, deciding without the lock: the database alone
			// must refuse its second open quarantine.
			now := time.Now()
			err := e.st.DB.Create(&store.Quarantine{DeviceID: dev.ID, Level: LevelRestrict, Status: StatusActive, CreatedBy: me + " (bypass)",
				CreatedAt: now, ExpiresAt: &now, Addresses: pumpIP}).Error
			if err != nil {
				if !strings.Contains(err.Error(), "UNIQUE") && !strings.Contains(err.Error(), "23505") {
					rep.Unexpected = append(rep.Unexpected, "bypass insert: "+err.Error())
				}
				refused.Add(1)
			}
			note("bypass", nil)
		}
		if open, err := e.st.OpenQuarantine(ctx, dev.ID); err != nil {
			note("open", err)
		} else if open != nil && open.PendingLevel != "" {
			_, err := e.m.Approve(ctx, open.ID, me, "round "+strconv.Itoa(i))
			note("approve", err)
		}
		_, err = e.m.Release(ctx, raceDevice, me)
		note("release", err)
	}
	rep.Refusals = int(refused.Load())
	return rep
}

// TestTwoProcessesOneOpenQuarantine races two processes quarantining,
// approving and releasing one device, 100 rounds each — one of them also
// inserting open quarantines past the manager, as an older Ward would —
// and checks, after every step and from a third observer, that the
// device never has two open quarantines; that no approval is recorded
// twice; and that a released quarantine stays released when reconcile
// runs.
func TestTwoProcessesOneOpenQuarantine(t *testing.T) {
	for kind, newURL := range dbKinds(t) {
		t.Run(kind, func(t *testing.T) {
			url := newURL(t)
			ctx := context.Background()
			st := seededStore(t, url)
			dev, err := st.DeviceNamed(ctx, raceDevice)
			if err != nil {
				t.Fatal(err)
			}
			// The observer: the open quarantines of the device, as often as
			// the database answers, while the children run.
			stop := make(chan struct{})
			var observed atomic.Int64
			var polls atomic.Int64
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					var n int64
					if err := st.DB.Model(&store.Quarantine{}).Where("device_id = ? AND status IN ?", dev.ID, []string{StatusActive, StatusPending}).Count(&n).Error; err == nil {
						polls.Add(1)
						if n > observed.Load() {
							observed.Store(n)
						}
					}
					time.Sleep(time.Millisecond)
				}
			})
			const rounds = 100
			reports := runChildren(t, "race", url,
				[]string{"WARD_QUARANTINE_NAME=alice", "WARD_QUARANTINE_ROUNDS=" + strconv.Itoa(rounds)},
				[]string{"WARD_QUARANTINE_NAME=bob", "WARD_QUARANTINE_ROUNDS=" + strconv.Itoa(rounds), "WARD_QUARANTINE_BYPASS=1"})
			close(stop)
			wg.Wait()
			refusals, oks := 0, 0
			for i, r := range reports {
				if r.MaxOpen > 1 {
					t.Errorf("child %d saw %d open quarantines of %s at once", i, r.MaxOpen, raceDevice)
				}
				for _, u := range r.Unexpected {
					t.Errorf("child %d: %s", i, u)
				}
				refusals += r.Refusals
				oks += r.Outcomes["ok"]
				t.Logf("child %d: %d steps, outcomes %v, %d second open quarantines refused by the database", i, r.Ops, r.Outcomes, r.Refusals)
			}
			if n := observed.Load(); n > 1 {
				t.Errorf("the observer saw %d open quarantines of %s at once (%d polls)", n, raceDevice, polls.Load())
			}
			// The race was real: the database refused second open
			// quarantines, and the managers got work done.
			if refusals == 0 || oks < rounds {
				t.Errorf("%d refusals and %d successful steps: the processes did not race", refusals, oks)
			}
			var twice int64
			st.DB.Raw("SELECT count(*) FROM (SELECT quarantine_id FROM approvals GROUP BY quarantine_id HAVING count(*) > 1) x").Scan(&twice)
			if twice != 0 {
				t.Errorf("%d quarantines approved more than once", twice)
			}
			var approvedEnded int64
			st.DB.Raw("SELECT count(*) FROM approvals a JOIN quarantines q ON q.id = a.quarantine_id WHERE q.level <> ? AND q.status = ?", LevelIsolate, StatusActive).Scan(&approvedEnded)
			if approvedEnded != 0 {
				t.Errorf("%d active quarantines approved but not at the approved level", approvedEnded)
			}

			// A release is final: reconcile, on targets that still hold the
			// device (a push lost, a reboot), removes it and adds nothing.
			e := newEnvOn(t, st, nil)
			if _, err := e.m.Release(ctx, raceDevice, "carol"); err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
			e.f.mu.Lock()
			e.f.sets["core-fw"] = map[string]map[string]bool{intent.IsolateSet: {pumpIP: true}, intent.RestrictSet: {pumpIP: true}}
			e.f.ports["access-ovs"] = map[string]int{"p-pump1": 999}
			e.f.mu.Unlock()
			rep, err := e.m.Reconcile(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Added) != 0 || e.f.in(intent.IsolateSet, pumpIP) || e.f.in(intent.RestrictSet, pumpIP) || e.f.port("p-pump1") == 999 {
				t.Errorf("reconcile after the release: %+v; isolate %v restrict %v port %d — want the pump removed everywhere and nothing added",
					rep, e.f.in(intent.IsolateSet, pumpIP), e.f.in(intent.RestrictSet, pumpIP), e.f.port("p-pump1"))
			}
			// Twice: nothing comes back.
			if rep, err := e.m.Reconcile(ctx); err != nil || len(rep.Added) != 0 {
				t.Errorf("second reconcile: %+v %v", rep, err)
			}
		})
	}
}

// TestSlowDecisionHoldsNoLock: the decision lock excludes every decider
// in every process, so the Rego evaluation runs outside it. An operator
// module that loops to its deadline for one alert must not delay the
// decisions about other devices meanwhile.
func TestSlowDecisionHoldsNoLock(t *testing.T) {
	e := newEnv(t, func(cfg *policy.Config) {
		cfg.Modules = append(cfg.Modules, &policy.RegoModule{Filename: "soc.rego", Source: []byte(loopingDecision)})
	})
	ctx := context.Background()
	devices, err := e.st.CurrentDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		a := genericAlert("loop-1", tvIP, "critical")
		a.Signature = "loop"
		if _, err := e.m.Intake(ctx, []alert.Alert{a}); err != nil {
			t.Error(err)
		}
		done <- time.Since(start)
	}()
	// Alerts about other devices, one after another for as long as the
	// loop runs: each is decided at once.
	sent := 0
	for i := 0; ; i++ {
		select {
		case took := <-done:
			if took < time.Second {
				t.Fatalf("the looping decision finished in %v: the fixture did not loop to its deadline", took)
			}
			if sent < 5 {
				t.Fatalf("only %d alerts decided beside the loop", sent)
			}
			return
		default:
		}
		d := devices[1+i%(len(devices)-1)]
		if d.IP == tvIP {
			continue
		}
		t0 := time.Now()
		r := intake(t, e, genericAlert(fmt.Sprintf("beside-%d", i), d.IP, "critical"))[0]
		if took := time.Since(t0); took > 500*time.Millisecond {
			t.Fatalf("alert for %s took %v while another alert's decision looped: the decision lock is held during Rego", d.Name, took)
		}
		if r.Status != "recorded" {
			t.Fatalf("alert for %s: %+v", d.Name, r)
		}
		sent++
		time.Sleep(20 * time.Millisecond)
	}
}
