package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/textdiff"
)

// TargetPlan is what a plan will do to one target: the intent, the
// configuration rendered from it, and how both differ from what Ward last
// applied there.
type TargetPlan struct {
	Name    string         `json:"name"`
	Driver  string         `json:"driver"`
	Role    string         `json:"role"` // intent.Target.RoleText
	Intent  *intent.Target `json:"intent"`
	Config  string         `json:"config"`
	Changed bool           `json:"changed"`
	// ConfigDiff is the unified diff from the last applied configuration.
	ConfigDiff string `json:"config_diff"`
	// BaseHash identifies the last-applied state the plan was made
	// against; apply refuses if another apply changed it since.
	BaseHash string `json:"base_hash"`
	// Unavailable says why this target cannot be applied by this build
	// (its driver is only a registered name), or is empty.
	Unavailable string `json:"unavailable,omitempty"`
	// Drifted says the target's running configuration, read when the plan
	// was made with refresh, differs from the planned one although the
	// last apply does not; ConfigDiff is then from the running one.
	Drifted bool `json:"drifted,omitempty"`
	// RefreshError says why the running configuration could not be read.
	RefreshError string `json:"refresh_error,omitempty"`
	// RenderOnly is push = false: the target is planned and rendered, but
	// apply never connects to it.
	RenderOnly bool `json:"render_only,omitempty"`
	// Overflows are the capacity limits of the target's model the
	// configuration exceeds; such a target is not applied.
	Overflows []string `json:"overflows,omitempty"`
}

// AppliedState is what Ward stores as a target's last-applied state.
type AppliedState struct {
	Intent *intent.Target `json:"intent"`
	Config string         `json:"config"`
}

// lastApplied reads every target's last-applied state.
func lastApplied(ctx context.Context, st *store.Store) (map[string]AppliedState, map[string]string, error) {
	rows, err := st.TargetStates(ctx)
	if err != nil {
		return nil, nil, err
	}
	states, hashes := map[string]AppliedState{}, map[string]string{}
	for _, r := range rows {
		var s AppliedState
		if err := json.Unmarshal([]byte(r.Content), &s); err != nil {
			return nil, nil, fmt.Errorf("target %s: stored state is unreadable: %w", r.Target, err)
		}
		states[r.Target], hashes[r.Target] = s, r.Hash
	}
	return states, hashes, nil
}

// planTargets renders every target's intent and compares it with the last
// applied state (states and their hashes, as lastApplied read them).
func planTargets(ctx context.Context, in *intent.Intent, reg *drivers.Registry, states map[string]AppliedState, hashes map[string]string, only []string, refresh DialFunc, owner Owner) ([]TargetPlan, *intent.Change, error) {
	old := &intent.Intent{Targets: map[string]*intent.Target{}}
	for name, s := range states {
		if len(only) == 0 || slices.Contains(only, name) {
			old.Targets[name] = s.Intent
		}
	}
	change := intent.Diff(old, in)
	var out []TargetPlan
	for _, name := range sortedTargetNames(in) {
		t := in.Targets[name]
		tp := TargetPlan{Name: name, Driver: t.Driver, Role: t.RoleText(), Intent: t, BaseHash: hashes[name], RenderOnly: t.RenderOnly}
		info, ok := reg.Lookup(t.Driver)
		if !ok || info.New == nil {
			tp.Unavailable = fmt.Sprintf("driver %q is not available in this build of Ward", t.Driver)
			out = append(out, tp)
			continue
		}
		d, err := info.Open(t.Options)
		if err != nil {
			return nil, nil, fmt.Errorf("target %s: %w", name, err)
		}
		cfg, err := d.Render(t)
		if err != nil {
			return nil, nil, fmt.Errorf("target %s: rendering: %w", name, err)
		}
		tp.Config = cfg.Text
		if cc, ok := d.(drivers.CapacityChecker); ok {
			for _, o := range cc.CheckCapacity(t, cfg) {
				tp.Overflows = append(tp.Overflows, o.String())
			}
			if len(tp.Overflows) > 0 {
				tp.Unavailable = fmt.Sprintf("the configuration exceeds the capacity of model %q: %s", t.Model, strings.Join(tp.Overflows, "; "))
			}
		}
		prev := states[name].Config
		tp.Changed = prev != cfg.Text
		tp.ConfigDiff = textdiff.Unified(name+" (last applied)", name+" (planned)", []byte(prev), []byte(cfg.Text))
		if refresh != nil && !tp.Changed && !tp.RenderOnly {
			running, err := readRunning(ctx, owner, refresh, d, name, "refresh")
			if err == nil {
				var same bool
				var diff string
				if same, diff, err = drivers.Compare(d, cfg, running); err == nil && !same {
					tp.Changed, tp.Drifted, tp.ConfigDiff = true, true, diff
				}
			}
			if err != nil {
				tp.RefreshError = err.Error()
			}
		}
		out = append(out, tp)
	}
	return out, change, nil
}

func readRunning(ctx context.Context, owner Owner, dial DialFunc, d drivers.Driver, name, op string) (drivers.Config, error) {
	var running drivers.Config
	err := ownerOrDirect(owner).Do(ctx, name, op, func(ctx context.Context) error {
		s, err := dial(ctx, name)
		if err != nil {
			return err
		}
		defer s.Close()
		running, err = d.Running(ctx, s)
		return err
	})
	return running, err
}

func sortedTargetNames(in *intent.Intent) []string {
	names := make([]string, 0, len(in.Targets))
	for n := range in.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RecordApplied stores a target's new last-applied state with its apply
// run and audit event, in one transaction.
func RecordApplied(ctx context.Context, st *store.Store, runID uint64, tp *TargetPlan, actor string) error {
	content, hash, err := appliedState(tp)
	if err != nil {
		return err
	}
	row := store.TargetState{Target: tp.Name, Content: content, Hash: hash, ApplyRunID: &runID, AppliedAt: st.Now()}
	detail := map[string]any{"driver": tp.Driver, "apply_run": runID, "state_hash": hash}
	if tok, ok := drivers.FenceOf(ctx); ok {
		// The fencing token the push carried (internal/jobs.Owner).
		detail["fence"] = tok
	}
	return st.SaveTargetState(ctx, row, store.AuditEntry{Actor: actor, Action: "target.apply", Object: tp.Name, Detail: detail})
}

// appliedState is what RecordApplied records for tp, and its hash.
func appliedState(tp *TargetPlan) (content, hash string, err error) {
	b, err := json.Marshal(AppliedState{Intent: tp.Intent, Config: tp.Config})
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:]), nil
}

// CurrentBaseHash returns the hash of a target's last-applied state ("" if
// never applied).
func CurrentBaseHash(ctx context.Context, st *store.Store, target string) (string, error) {
	return st.TargetStateHash(ctx, target)
}
