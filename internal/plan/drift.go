package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/store"
)

// Drift is how a target's running configuration differs from what Ward
// last applied.
type Drift struct {
	Target string `json:"target"`
	Status string `json:"status"` // "in_sync", "drift", "never_applied", "render_only" or "error"
	Diff   string `json:"diff,omitempty"`
	Error  string `json:"error,omitempty"`
	// RunningSHA256 is the SHA-256 of the running configuration's text as
	// the driver read it ("" when none was read).
	RunningSHA256 string `json:"running_sha256,omitempty"`
	// AppliedSHA256 is the hash of the applied state compared with.
	AppliedSHA256 string `json:"applied_sha256,omitempty"`
}

// CheckDrift reads the running configuration of every target Ward has
// applied, compares it with what it applied, and records the results
// (one drift check per target, audited as one event) as actor. Each read
// runs while owner (nil: none) holds the target. When recording fails the
// results are returned with the error: the check happened, but reports
// and the UI will not show it.
func CheckDrift(ctx context.Context, st *store.Store, reg *drivers.Registry, driverOf map[string]string, dial DialFunc, owner Owner, actor string) ([]Drift, error) {
	states, hashes, err := lastApplied(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Drift
	for _, name := range sortedKeysOf(driverOf) {
		if _, applied := states[name]; !applied {
			out = append(out, Drift{Target: name, Status: store.DriftNeverApplied})
			continue
		}
		out = append(out, checkHeld(ctx, st, reg, name, driverOf[name], hashes[name], dial, owner))
	}
	if err := recordDrift(ctx, st, out, actor); err != nil {
		return out, fmt.Errorf("drift checked, but recording the check failed (reports and the UI will not show it): %w", err)
	}
	return out, nil
}

// recordDrift stores one check's results.
func recordDrift(ctx context.Context, st *store.Store, drifts []Drift, actor string) error {
	rows := make([]store.DriftCheck, len(drifts))
	for i, d := range drifts {
		rows[i] = d.check()
	}
	return st.RecordDriftChecks(ctx, rows, actor)
}

// check is d as the store records it.
func (d Drift) check() store.DriftCheck {
	return store.DriftCheck{Target: d.Target, Status: d.Status, RunningHash: d.RunningSHA256, AppliedHash: d.AppliedSHA256, Error: d.Error}
}

// checkHeld checks one target while owner holds it, against its
// last-applied state read then: an apply may record a new state while this
// check waits for the target, and the device runs that one. hash is the
// state read before, reported when the target could not be had.
func checkHeld(ctx context.Context, st *store.Store, reg *drivers.Registry, name, driver, hash string, dial DialFunc, owner Owner) Drift {
	var d Drift
	err := ownerOrDirect(owner).Do(ctx, name, "drift", func(ctx context.Context) error {
		row, err := st.TargetStateOf(ctx, name)
		if err != nil {
			return err
		}
		if row == nil {
			d = Drift{Target: name, Status: store.DriftNeverApplied}
			return nil
		}
		var s AppliedState
		if err := json.Unmarshal([]byte(row.Content), &s); err != nil {
			return fmt.Errorf("target %s: stored state is unreadable: %w", name, err)
		}
		d = checkTarget(ctx, reg, name, driver, s, row.Hash, dial, direct{})
		return nil
	})
	if err != nil {
		return Drift{Target: name, Status: store.DriftError, AppliedSHA256: hash, Error: err.Error()}
	}
	return d
}

// checkTarget checks one target Ward applied state s (of hash) to.
func checkTarget(ctx context.Context, reg *drivers.Registry, name, driver string, s AppliedState, hash string, dial DialFunc, owner Owner) Drift {
	info, ok := reg.Lookup(driver)
	if !ok || info.New == nil {
		return Drift{Target: name, Status: store.DriftError, AppliedSHA256: hash, Error: fmt.Sprintf("driver %q is not available", driver)}
	}
	d := driftOf(ctx, info, s, name, dial, owner)
	d.AppliedSHA256 = hash
	return d
}

// driftOf reads one target's running configuration and compares its model
// with the one last applied.
func driftOf(ctx context.Context, info drivers.Info, s AppliedState, name string, dial DialFunc, owner Owner) Drift {
	var opts json.RawMessage
	if s.Intent != nil {
		if s.Intent.RenderOnly {
			return Drift{Target: name, Status: store.DriftRenderOnly}
		}
		opts = s.Intent.Options
	}
	d, err := info.Open(opts)
	if err != nil {
		return Drift{Target: name, Status: store.DriftError, Error: err.Error()}
	}
	running, err := readRunning(ctx, owner, dial, d, name, "drift")
	if err != nil {
		return Drift{Target: name, Status: store.DriftError, Error: err.Error()}
	}
	sum := sha256.Sum256([]byte(running.Text))
	hash := hex.EncodeToString(sum[:])
	same, diff, err := drivers.Compare(d, drivers.Config{Text: s.Config}, running)
	switch {
	case err != nil:
		return Drift{Target: name, Status: store.DriftError, Error: err.Error(), RunningSHA256: hash}
	case !same:
		return Drift{Target: name, Status: store.DriftDrift, Diff: diff, RunningSHA256: hash}
	}
	return Drift{Target: name, Status: store.DriftInSync, RunningSHA256: hash}
}

func sortedKeysOf(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
