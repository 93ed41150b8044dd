package plan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// ApplyInputs are what a saved plan is checked against just before it is
// applied: the key that must have signed it, and the policy, inventory and
// last-applied state as they are now.
type ApplyInputs struct {
	Signer  *Signer
	Config  *policy.Config
	Devices []inventory.Device
	Store   *store.Store
	Drivers *drivers.Registry
	// PolicyDir and GitCommit are recorded in the rebuilt plan.
	PolicyDir string
	GitCommit string
	Now       func() time.Time
	// AllowEssentialChange and Reason are a person's approval of a plan
	// that loses an essential flow; Actor is who applies it.
	AllowEssentialChange bool
	Reason               string
	Actor                string
}

// Refusal codes: why PrepareApply refused a plan.
const (
	RefusedSignature = "bad_signature"      // unsigned, changed, or signed with another key
	RefusedStale     = "plan_stale"         // the policy, inventory or a target's last-applied state changed
	RefusedTampered  = "plan_mismatch"      // the plan's targets differ from what the current inputs give
	RefusedBlocked   = "plan_blocked"       // a guardrail denies, or a device matches two zones
	RefusedEssential = "essential_change"   // an essential flow is lost and no person approved it
	RefusedDriver    = "driver_unavailable" // a target's driver is not in this build
)

// RefusedError is PrepareApply's refusal: nothing was applied and no
// device was contacted.
type RefusedError struct {
	Code string
	Msg  string
	Err  error
}

func (e *RefusedError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *RefusedError) Unwrap() error { return e.Err }

func refuse(code string, err error, format string, args ...any) *RefusedError {
	return &RefusedError{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// PrepareApply checks a saved plan (signed bytes, from a file or the
// store) and returns the plan to push. Nothing in the file is trusted
// beyond naming which targets to apply:
//
//  1. the signature must verify with in.Signer's key;
//  2. the plan is built again from the current policy, inventory and
//     last-applied state, and every target the saved plan would push must
//     have the same driver, configuration and base state in the rebuilt
//     plan;
//  3. the guardrails and the essential-flow gate are judged on the rebuilt
//     plan, never on the file's blocked flag or essential list;
//  4. every target's base state must still be the last-applied one, and
//     so must every other target's (the plan's StateDigest: the essential
//     check judged it against them all); a plan without one is refused;
//  5. every target's driver must be in this build.
//
// The plan returned is the rebuilt one, limited to the saved plan's
// targets, with Approval set when a person approved an essential change.
// Any refusal is a *RefusedError; no device is contacted either way.
func PrepareApply(ctx context.Context, signed []byte, in ApplyInputs) (*Plan, error) {
	if in.Signer == nil {
		return nil, refuse(RefusedSignature, nil, "this Ward has no plan-signing key, so no saved plan can be checked; nothing was applied")
	}
	saved, err := in.Signer.Open(signed)
	if err != nil {
		return nil, refuse(RefusedSignature, err, "refusing the plan")
	}
	if err := CheckDrivers(saved, in.Drivers); err != nil {
		return nil, refuse(RefusedDriver, err, "refusing the plan")
	}
	if h := in.Config.ContentHash(); h != saved.Policy.Hash {
		return nil, refuse(RefusedStale, nil, "refusing the plan: the policy changed since it was made (now %s, plan %s); make a new plan and review it", short(h), short(saved.Policy.Hash))
	}
	if InventoryHash(in.Devices) != saved.Inventory.Hash {
		return nil, refuse(RefusedStale, nil, "refusing the plan: the inventory changed since it was made; make a new plan and review it")
	}
	if saved.StateDigest == "" {
		return nil, refuse(RefusedStale, nil, "refusing the plan: it does not record the targets' last-applied state it was judged against (made by an older Ward); make a new plan with this Ward and review it")
	}
	rebuilt, err := rebuild(ctx, saved, in)
	if err != nil {
		return nil, err
	}
	if err := matchTargets(saved, rebuilt); err != nil {
		return nil, err
	}
	if rebuilt.StateDigest != saved.StateDigest {
		// Another target was applied since: the saved plan's essential
		// check was judged against the state before it.
		return nil, refuse(RefusedStale, nil, "refusing the plan: the last-applied state of the targets changed since it was made (another apply ran), and the plan was judged against the state before; make a new plan and review it")
	}
	if err := Gate(rebuilt, in.AllowEssentialChange, in.Reason, in.Actor); err != nil {
		return nil, err
	}
	return rebuilt, nil
}

// rebuild makes the plan again from the current inputs, over the same
// targets as the saved plan: all of them when it named every target of the
// policy, so the essential gate sees a removed target as the saved plan
// did; only those it named when it was made with -target. Build plans
// every target of the policy when not limited, so the names alone decide
// which, and the plan is built once.
func rebuild(ctx context.Context, saved *Plan, in ApplyInputs) (*Plan, error) {
	opts := Options{PolicyDir: in.PolicyDir, GitCommit: in.GitCommit, Now: in.Now, Store: in.Store, Drivers: in.Drivers}
	names := targetNames(saved.Targets)
	slices.Sort(names)
	if len(names) > 0 && !slices.Equal(names, slices.Sorted(maps.Keys(in.Config.Targets))) {
		opts.Only = names
	}
	p, diags := Build(ctx, in.Config, in.Devices, opts)
	if diags.HasErrors() {
		return nil, refuse(RefusedStale, errors.New(diags.Error()), "refusing the plan: it cannot be made again from the current policy and inventory")
	}
	if len(names) > 0 && !slices.Equal(targetNames(p.Targets), names) {
		return nil, refuse(RefusedTampered, nil, "refusing the plan: its targets (%s) are not targets of the current policy; make a new plan", strings.Join(names, ", "))
	}
	return p, nil
}

func targetNames(targets []TargetPlan) []string {
	names := make([]string, len(targets))
	for i, tp := range targets {
		names[i] = tp.Name
	}
	return names
}

// matchTargets requires every target the saved plan would push to be the
// same in the rebuilt plan, and marks exactly those as changed in it: a
// target the rebuilt plan would change but the saved one would not is not
// pushed, since no one reviewed it.
func matchTargets(saved, rebuilt *Plan) error {
	byName := map[string]*TargetPlan{}
	for i := range rebuilt.Targets {
		byName[rebuilt.Targets[i].Name] = &rebuilt.Targets[i]
	}
	push := map[string]bool{}
	for _, s := range saved.Changed() {
		r := byName[s.Name]
		switch {
		case r == nil:
			return refuse(RefusedTampered, nil, "refusing the plan: target %s is not a target of the current policy; make a new plan", s.Name)
		case s.Driver != r.Driver:
			return refuse(RefusedTampered, nil, "refusing the plan: target %s has driver %q in the plan but %q in the policy; make a new plan", s.Name, s.Driver, r.Driver)
		case s.BaseHash != r.BaseHash:
			return refuse(RefusedStale, nil, "refusing the plan: target %s was changed by another apply since the plan was made (last-applied state %s, plan %s); make a new plan and review it", s.Name, short(r.BaseHash), short(s.BaseHash))
		case s.Config != r.Config:
			return refuse(RefusedTampered, nil, "refusing the plan: the configuration for target %s differs from the one the current policy and inventory give; make a new plan and review it", s.Name)
		case r.Unavailable != "":
			return refuse(RefusedDriver, nil, "refusing the plan: target %s: %s", s.Name, r.Unavailable)
		}
		push[s.Name] = true
	}
	for i := range rebuilt.Targets {
		t := &rebuilt.Targets[i]
		t.Changed = push[t.Name]
		if !t.Changed {
			t.Drifted = false
		}
	}
	return nil
}

// Gate is the check every apply passes on a plan it trusts (built in this
// process, or rebuilt by PrepareApply): it refuses a blocked plan, and a
// plan that loses an essential flow unless a person approved it with a
// reason, in which case it sets p.Approval.
func Gate(p *Plan, allowEssential bool, reason, actor string) error {
	if p.Blocked {
		return refuse(RefusedBlocked, nil, "refusing a blocked plan: %s", strings.Join(p.Reasons, "; "))
	}
	reason = strings.TrimSpace(reason)
	if err := p.CheckEssential(allowEssential, reason); err != nil {
		return refuse(RefusedEssential, err, "refusing the plan")
	}
	if allowEssential && reason != "" && p.LosesEssential() {
		p.Approval = &Approval{Actor: actor, Reason: reason}
	}
	return nil
}

// ApprovalDetail is what the audit event of an approved essential change
// records: who, why, and what was approved (the first lost pairs, how many
// there are, and the essential rule changes).
func ApprovalDetail(p *Plan) map[string]any {
	d := map[string]any{"policy_hash": p.Policy.Hash, "essential_loss_total": max(p.EssentialLossTotal, len(p.EssentialLoss))}
	if a := p.Approval; a != nil {
		d["actor"], d["reason"] = a.Actor, a.Reason
	}
	losses := p.EssentialLoss
	if len(losses) > maxLossAudited {
		losses = losses[:maxLossAudited]
	}
	d["essential_loss"] = losses
	if p.Changes != nil {
		d["essential_rule_changes"] = p.Changes.Essential
	}
	return d
}

// maxLossAudited bounds the lost pairs one audit event lists; the plan
// lists them all.
const maxLossAudited = 200

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "none"
	}
	return h
}
