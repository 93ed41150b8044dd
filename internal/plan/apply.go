package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/textdiff"
)

// DialFunc opens a session to a target by name.
type DialFunc func(ctx context.Context, target string) (drivers.Session, error)

// PushResult is what happened to one target.
type PushResult struct {
	Target   string        `json:"target"`
	Status   string        `json:"status"` // "applied", "failed" or "skipped"
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Apply pushes every changed target of p, at most parallel at a time, each
// on its own: one target failing neither stops nor undoes the others. A
// target whose last-applied state changed since the plan was made is
// skipped. It records the apply run, each target's new state and the
// audit events, and returns one result per changed target.
func Apply(ctx context.Context, p *Plan, reg *drivers.Registry, st *store.Store, dial DialFunc, actor string, parallel int) ([]PushResult, error) {
	row, err := Record(ctx, st, p, actor)
	if err != nil {
		return nil, err
	}
	_, results, err := ApplyRecorded(ctx, row.ID, p, reg, st, dial, actor, parallel)
	return results, err
}

// Record stores a plan, so it can be shown and applied later by its ID.
func Record(ctx context.Context, st *store.Store, p *Plan, actor string) (*store.Plan, error) {
	content, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	row := store.Plan{InventoryHash: p.Inventory.Hash, Content: string(content), CreatedBy: actor, CreatedAt: st.Now()}
	if err := st.DB.WithContext(ctx).Create(&row).Error; err != nil {
		return nil, fmt.Errorf("recording the plan: %w", err)
	}
	return &row, nil
}

// ApplyRecorded is Apply for a plan already recorded as planID. It returns
// the apply run's ID with the results.
func ApplyRecorded(ctx context.Context, planID uint64, p *Plan, reg *drivers.Registry, st *store.Store, dial DialFunc, actor string, parallel int) (uint64, []PushResult, error) {
	run := store.ApplyRun{PlanID: planID, Status: "running", Actor: actor, StartedAt: st.Now()}
	if err := st.DB.WithContext(ctx).Create(&run).Error; err != nil {
		return 0, nil, fmt.Errorf("recording the apply run: %w", err)
	}

	changed := p.Changed()
	results := make([]PushResult, len(changed))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, tp := range changed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			err := pushOne(ctx, tp, reg, st, dial, run.ID, actor)
			r := PushResult{Target: tp.Name, Status: "applied", Duration: time.Since(start)}
			var skip *skipError
			switch {
			case errors.As(err, &skip):
				r.Status, r.Error = "skipped", err.Error()
			case err != nil:
				r.Status, r.Error = "failed", err.Error()
			}
			results[i] = r
		}()
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Target < results[j].Target })

	status := "succeeded"
	for _, r := range results {
		if r.Status != "applied" {
			status = "failed"
		}
	}
	summary, _ := json.Marshal(results)
	now := st.Now()
	st.DB.WithContext(ctx).Model(&run).Updates(map[string]any{"status": status, "summary": string(summary), "finished_at": now})
	_, _ = st.AppendAudit(ctx, store.AuditEntry{Actor: actor, Action: "apply.finish", Object: fmt.Sprintf("apply run %d", run.ID),
		Detail: map[string]any{"status": status, "results": results, "policy_hash": p.Policy.Hash, "inventory_hash": p.Inventory.Hash, "plan_id": planID}})
	return run.ID, results, nil
}

type skipError struct{ msg string }

func (e *skipError) Error() string { return e.msg }

func pushOne(ctx context.Context, tp *TargetPlan, reg *drivers.Registry, st *store.Store, dial DialFunc, runID uint64, actor string) error {
	if tp.Unavailable != "" {
		return &skipError{tp.Unavailable}
	}
	base, err := CurrentBaseHash(ctx, st, tp.Name)
	if err != nil {
		return err
	}
	if base != tp.BaseHash {
		return &skipError{"another apply changed this target since the plan was made; run ward plan again"}
	}
	info, _ := reg.Lookup(tp.Driver)
	d := info.New()
	s, err := dial(ctx, tp.Name)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := d.Apply(ctx, s, drivers.Config{Text: tp.Config}); err != nil {
		return err
	}
	if err := RecordApplied(ctx, st, runID, tp, actor); err != nil {
		return fmt.Errorf("applied, but recording the new state failed (the next plan will show it again): %w", err)
	}
	return nil
}

// Drift is how a target's running configuration differs from what Ward
// last applied.
type Drift struct {
	Target string `json:"target"`
	Status string `json:"status"` // "in_sync", "drift", "never_applied" or "error"
	Diff   string `json:"diff,omitempty"`
	Error  string `json:"error,omitempty"`
}

// CheckDrift reads the running configuration of every target Ward has
// applied and compares it with what it applied.
func CheckDrift(ctx context.Context, st *store.Store, reg *drivers.Registry, driverOf map[string]string, dial DialFunc) ([]Drift, error) {
	states, _, err := lastApplied(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Drift
	for _, name := range sortedKeysOf(driverOf) {
		s, applied := states[name]
		if !applied {
			out = append(out, Drift{Target: name, Status: "never_applied"})
			continue
		}
		info, ok := reg.Lookup(driverOf[name])
		if !ok || info.New == nil {
			out = append(out, Drift{Target: name, Status: "error", Error: fmt.Sprintf("driver %q is not available", driverOf[name])})
			continue
		}
		sess, err := dial(ctx, name)
		if err != nil {
			out = append(out, Drift{Target: name, Status: "error", Error: err.Error()})
			continue
		}
		running, err := info.New().Running(ctx, sess)
		sess.Close()
		if err != nil {
			out = append(out, Drift{Target: name, Status: "error", Error: err.Error()})
			continue
		}
		d := Drift{Target: name, Status: "in_sync"}
		if running.Text != s.Config {
			d.Status = "drift"
			d.Diff = textdiff.Unified(name+" (last applied)", name+" (running)", []byte(s.Config), []byte(running.Text))
		}
		out = append(out, d)
	}
	return out, nil
}

func sortedKeysOf(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
