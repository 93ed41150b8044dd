package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
)

// DialFunc opens a session to a target by name.
type DialFunc func(ctx context.Context, target string) (drivers.Session, error)

// PushResult is what happened to one target.
type PushResult struct {
	Target   string        `json:"target"`
	Status   string        `json:"status"` // "applied", "failed", "skipped" or "not_pushed" (push = false)
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// ApplyOptions are what an apply needs besides the plan.
type ApplyOptions struct {
	Drivers *drivers.Registry
	Store   *store.Store
	Dial    DialFunc
	// Queue runs the apply's pushes: one job per target (ApplyJobKind),
	// under the target's owner (internal/jobs.Owner), so every device I/O
	// to a target is serialised across processes and a push survives the
	// death of the process that asked for it. QueueWorked says a Run loop
	// works Queue (ward serve, whose queue has HandleApplyJobs): the apply
	// then only waits. Otherwise the apply runs the jobs itself (Drain), on
	// Queue or, when nil, on a queue of its own.
	Queue       *jobs.Queue
	QueueWorked bool
	Logger      *slog.Logger
	// Signer signs the plan Apply records; nil records it unsigned, and
	// an unsigned plan can never be applied again from the store.
	Signer *Signer
	Actor  string
	// Parallel is how many targets are pushed at once by a queue the apply
	// makes for itself; 0 or less is DefaultParallel. (A queue given is
	// bounded by its own Concurrency.)
	Parallel int
	// OnResult, when set, is told each target's result as soon as that
	// target finishes (a progress line, a streamed event), in the order
	// they finish. Await makes the calls from one goroutine, so OnResult
	// need not be safe for concurrent use; a slow OnResult holds back the
	// others' reports (not their pushes).
	OnResult func(PushResult)
	// OnBusy, when set, is told of a target that another process held for
	// the whole of the owner's wait, when the apply runs its own jobs: the
	// apply goes on waiting for it.
	OnBusy func(*jobs.BusyError)
}

// DefaultParallel is how many targets an apply pushes at once unless told
// otherwise. A push is device and network latency, not CPU: at 32, 200
// targets taking 0.5 s each apply in under 4 s, and an apply holds at most
// 32 SSH sessions and, on PostgreSQL, about 50 database sessions at peak
// (32 pinned for the targets' advisory locks, and the pushes' queries;
// BenchmarkApplyFanOut200Postgres): size max_connections for the replicas
// (docs/ha.md).
const DefaultParallel = 32

// Apply pushes every changed target of p, at most parallel at a time, each
// on its own: one target failing neither stops nor undoes the others. It
// is for a plan Build made in this process; a plan read from a file or the
// store goes through PrepareApply first. See ApplyWith.
func Apply(ctx context.Context, p *Plan, reg *drivers.Registry, st *store.Store, dial DialFunc, actor string, parallel int) ([]PushResult, error) {
	return ApplyWith(ctx, p, ApplyOptions{Drivers: reg, Store: st, Dial: dial, Actor: actor, Parallel: parallel})
}

// ApplyWith records p and pushes every changed target of it. A target
// whose last-applied state changed since the plan was made is skipped. It
// records the apply run, each target's new state and the audit events,
// and returns one result per changed target.
func ApplyWith(ctx context.Context, p *Plan, o ApplyOptions) ([]PushResult, error) {
	if err := CheckDrivers(p, o.Drivers); err != nil {
		return nil, err
	}
	row, err := Record(ctx, o.Store, o.Signer, p, o.Actor)
	if err != nil {
		return nil, err
	}
	_, results, err := ApplyRecorded(ctx, row.ID, p, o)
	return results, err
}

// Record stores a plan, signed when signer is not nil, so it can be shown
// and applied later by its ID.
func Record(ctx context.Context, st *store.Store, signer *Signer, p *Plan, actor string, audit ...func(id uint64) store.AuditEntry) (*store.Plan, error) {
	var content []byte
	var err error
	if signer != nil {
		content, err = signer.Sign(p)
	} else {
		content, err = json.Marshal(p)
	}
	if err != nil {
		return nil, err
	}
	row := store.Plan{InventoryHash: p.Inventory.Hash, Content: string(content), CreatedBy: actor, CreatedAt: st.Now()}
	if err := st.CreatePlan(ctx, &row, audit...); err != nil {
		return nil, err
	}
	return &row, nil
}

// CheckDrivers refuses a plan that would push to a target whose driver
// this build of Ward does not have, before any device is contacted.
func CheckDrivers(p *Plan, reg *drivers.Registry) error {
	for _, tp := range p.Changed() {
		if tp.Unavailable != "" || tp.RenderOnly {
			continue // reported as skipped or not pushed, never pushed
		}
		if info, ok := reg.Lookup(tp.Driver); !ok || info.New == nil {
			return fmt.Errorf("target %s: driver %q is not available in this build of Ward (it can apply %s); nothing was applied", tp.Name, tp.Driver, strings.Join(available(reg), ", "))
		}
	}
	return nil
}

// available names the drivers this build can apply with.
func available(reg *drivers.Registry) []string {
	var out []string
	for _, name := range reg.Names() {
		if info, _ := reg.Lookup(name); info.New != nil {
			out = append(out, name)
		}
	}
	return out
}

// ApplyRecorded is ApplyWith for a plan already recorded as planID: it
// starts the apply (StartApply) and waits for every target's push
// (Await). It returns the apply run's ID with the results.
func ApplyRecorded(ctx context.Context, planID uint64, p *Plan, o ApplyOptions) (uint64, []PushResult, error) {
	runID, err := StartApply(ctx, planID, p, o)
	if err != nil {
		return 0, nil, err
	}
	results, err := Await(ctx, runID, o)
	return runID, results, err
}

type skipError struct{ msg string }

func (e *skipError) Error() string { return e.msg }

// pushOne pushes one target. It runs while this process owns the target,
// so the base-state check and the push see the same last-applied state.
func pushOne(ctx context.Context, tp *TargetPlan, reg *drivers.Registry, st *store.Store, dial DialFunc, runID uint64, actor string) error {
	base, err := CurrentBaseHash(ctx, st, tp.Name)
	if err != nil {
		return err
	}
	if base != tp.BaseHash {
		return &skipError{"another apply changed this target since the plan was made; run ward plan again"}
	}
	info, ok := reg.Lookup(tp.Driver)
	if !ok || info.New == nil {
		return fmt.Errorf("driver %q is not available in this build of Ward; nothing was sent", tp.Driver)
	}
	d, err := info.Open(tp.Intent.Options)
	if err != nil {
		return fmt.Errorf("%w; nothing was sent", err)
	}
	s, err := dial(ctx, tp.Name)
	if err != nil {
		return err
	}
	defer s.Close()
	err = d.Apply(ctx, s, drivers.Config{Text: tp.Config})
	switch {
	case err == nil:
	case errors.Is(err, drivers.ErrNotVerified):
		// The new configuration is in force; only its read-back failed.
		if rerr := RecordApplied(ctx, st, runID, tp, actor); rerr != nil {
			return fmt.Errorf("%w; recording the new state failed too: %v", err, rerr)
		}
		return fmt.Errorf("%w (recorded as applied: the device committed it)", err)
	case errors.Is(err, drivers.ErrOutcomeUnknown):
		return settleOutcome(ctx, err, d, tp, st, dial, runID, actor)
	default:
		return err
	}
	if err := RecordApplied(ctx, st, runID, tp, actor); err != nil {
		return fmt.Errorf("applied, but recording the new state failed (the next plan will show it again): %w", err)
	}
	return nil
}

// settleOutcome finds out, on a new session, which configuration a target
// runs after a push whose outcome the driver could not know (the session
// was cut while the device committed), and records the new state when it is
// the one pushed — so the recorded state never claims a table the device
// does not run, and the next plan starts from the truth.
func settleOutcome(ctx context.Context, pushErr error, d drivers.Driver, tp *TargetPlan, st *store.Store, dial DialFunc, runID uint64, actor string) error {
	states, _, err := lastApplied(ctx, st)
	if err != nil {
		return fmt.Errorf("%w; reading the last applied state to tell which is in force failed: %v", pushErr, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := dial(rctx, tp.Name)
	if err != nil {
		return fmt.Errorf("%w; a new session to tell which is in force failed: %v (run ward drift)", pushErr, err)
	}
	defer s.Close()
	prev := drivers.Config{Text: states[tp.Name].Config}
	outcome, err := drivers.Which(rctx, d, s, drivers.Config{Text: tp.Config}, prev)
	if err != nil {
		return fmt.Errorf("%w; reading the running configuration to tell which is in force failed: %v (run ward drift)", pushErr, err)
	}
	switch outcome {
	case drivers.OutcomeApplied:
		if err := RecordApplied(ctx, st, runID, tp, actor); err != nil {
			return fmt.Errorf("the session was cut, but a new one shows the new configuration in force; recording it failed: %w", err)
		}
		return nil
	case drivers.OutcomePrevious:
		return fmt.Errorf("%w; a new session shows the previous configuration still in force: nothing changed, apply again", pushErr)
	}
	return fmt.Errorf("%w; a new session shows neither the previous nor the new configuration (drift): run ward drift and apply -refresh", pushErr)
}
