// Package plan turns an evaluation of the policy against the inventory into
// a plan: a plain value that is shown for review, saved, and (once drivers
// exist) applied exactly as reviewed. Today a plan holds the placement
// summary, the flows in force, the zone x zone matrix and the guardrail
// results; Build makes one, WriteText shows it, and its JSON form is the
// versioned contract in docs/plan-json.md.
package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// FormatVersion is the version of the plan's JSON form. It changes only when
// a field changes meaning or disappears; new fields keep the version.
const FormatVersion = "1"

// Plan is the result of planning.
type Plan struct {
	FormatVersion string     `json:"format_version"`
	CreatedAt     time.Time  `json:"created_at"`
	Policy        PolicyRef  `json:"policy"`
	Inventory     Inventory  `json:"inventory"`
	Placement     Placement  `json:"placement"`
	Flows         Flows      `json:"flows"`
	Matrix        []Cell     `json:"matrix"`
	Guardrails    Guardrails `json:"guardrails"`
	// Changes is the semantic difference from what Ward last applied, and
	// Targets the per-target configuration (when planned against a store).
	Changes *intent.Change `json:"changes,omitempty"`
	Targets []TargetPlan   `json:"targets,omitempty"`
	// StateDigest is store.StateDigest of every target's last-applied
	// state as the plan read it, targets it does not push included: the
	// essential-flow check judged the plan against that state, so it is
	// applied only from it (store.StartApplyFrom). Empty in a plan made
	// without a store.
	StateDigest string `json:"state_digest,omitempty"`
	// baseHashes are those states (target to hash), to name the targets
	// that changed when the plan is refused as stale; not saved.
	baseHashes map[string]string
	// EssentialLoss lists the (device, peer, service) pairs of essential
	// flows that devices reach before the change and not after, whatever
	// the cause (essential.go); at most 10,000 are listed and
	// EssentialLossTotal counts them all. Endpoints records each essential
	// endpoint's address and zone for the next plan to compare with.
	EssentialLoss      []EssentialLoss     `json:"essential_loss"`
	EssentialLossTotal int                 `json:"essential_loss_total"`
	Endpoints          map[string]Endpoint `json:"essential_endpoints,omitempty"`
	Warnings           []string            `json:"warnings"`
	// Blocked is true when the plan must not be applied: a guardrail denies,
	// or devices match two zones.
	Blocked bool     `json:"blocked"`
	Reasons []string `json:"blocked_reasons"`
	// Approval is a person's approval of an essential change, given when
	// the plan is applied (ward apply -allow-essential-change -reason);
	// nil in a plan not yet applied.
	Approval *Approval `json:"approval,omitempty"`
}

// PolicyRef identifies the policy a plan was built from.
type PolicyRef struct {
	Dir       string `json:"dir"`
	Hash      string `json:"hash"`
	GitCommit string `json:"git_commit"`
}

// Inventory identifies the devices a plan was built from.
type Inventory struct {
	Devices int    `json:"devices"`
	Hash    string `json:"hash"`
}

type Placement struct {
	Zones     []ZoneCount `json:"zones"`
	Unplaced  []string    `json:"unplaced"`
	Conflicts []Conflict  `json:"conflicts"`
}

type ZoneCount struct {
	Zone        string `json:"zone"`
	Criticality string `json:"criticality"`
	VLAN        *int   `json:"vlan"`
	Enforcement string `json:"enforcement"`
	Devices     int    `json:"devices"`
}

// Conflict is a device two zones claim with the same priority; it names
// where each zone is declared.
type Conflict struct {
	Device string   `json:"device"`
	Zones  []string `json:"zones"`
	Where  []string `json:"declared_at"`
}

type Flows struct {
	InForce   int           `json:"in_force"`
	Essential int           `json:"essential"`
	Expired   []ExpiredFlow `json:"expired"`
}

type ExpiredFlow struct {
	Name       string `json:"name"`
	Expires    string `json:"expires"`
	DeclaredAt string `json:"declared_at"`
}

// Cell is one entry of the zone x zone matrix: what From may open to To.
// Networks appear as "network:NAME".
type Cell struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Services []string `json:"services"`
}

type Guardrails struct {
	Deny   []engine.Finding `json:"deny"`
	Warn   []engine.Finding `json:"warn"`
	Waived []engine.Finding `json:"waived"`
}

// Options are what Build records about where its inputs came from.
type Options struct {
	PolicyDir string
	GitCommit string
	Now       func() time.Time
	// Store and Drivers, when set, make Build compile and render each
	// target's configuration and compare it with the last applied state.
	Store   *store.Store
	Drivers *drivers.Registry
	// Only, when not empty, limits the plan to these targets.
	Only []string
	// Refresh, when set, reads each target's running configuration with
	// it: a target whose running configuration differs from the planned
	// one (changed by hand since the last apply) is planned as changed, so
	// apply repairs the drift.
	Refresh DialFunc
	// Owner, when set, serialises the refresh reads with every other
	// device I/O to the same target (internal/jobs.Owner).
	Owner Owner
}

// Build evaluates cfg against devices and returns the plan.
func Build(ctx context.Context, cfg *policy.Config, devices []inventory.Device, opts Options) (*Plan, hcl.Diagnostics) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	e, diags := engine.New(ctx, cfg, devices, engine.WithClock(now))
	if diags.HasErrors() {
		return nil, diags
	}
	res, err := e.Evaluate(ctx)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Evaluation failed", Detail: err.Error()}}
	}
	p := &Plan{
		FormatVersion: FormatVersion,
		CreatedAt:     now().UTC().Truncate(time.Second),
		Policy:        PolicyRef{Dir: opts.PolicyDir, Hash: cfg.ContentHash(), GitCommit: opts.GitCommit},
		Inventory:     Inventory{Devices: len(devices), Hash: InventoryHash(devices)},
		Placement:     Placement{Unplaced: nonNil(res.Unplaced), Conflicts: []Conflict{}},
		Flows:         Flows{InForce: len(res.Flows), Expired: []ExpiredFlow{}},
		Matrix:        []Cell{},
		Guardrails:    Guardrails{Deny: nonNil(res.Deny), Warn: nonNil(res.Warn), Waived: nonNil(res.Waived)},
	}
	counts := map[string]int{}
	for _, z := range res.Zone {
		counts[z]++
	}
	for _, name := range cfg.ZoneNames() {
		z := cfg.Zones[name]
		zc := ZoneCount{Zone: name, Criticality: z.Criticality, Enforcement: z.Enforcement, Devices: counts[name]}
		if z.VLAN != 0 {
			v := z.VLAN
			zc.VLAN = &v
		}
		p.Placement.Zones = append(p.Placement.Zones, zc)
	}
	for dev, zones := range res.Conflicts {
		c := Conflict{Device: dev, Zones: zones}
		for _, z := range zones {
			if zz := cfg.Zones[z]; zz != nil {
				c.Where = append(c.Where, fmt.Sprintf("%s:%d", zz.DeclRange.Filename, zz.DeclRange.Start.Line))
			}
		}
		p.Placement.Conflicts = append(p.Placement.Conflicts, c)
	}
	sort.Slice(p.Placement.Conflicts, func(i, j int) bool { return p.Placement.Conflicts[i].Device < p.Placement.Conflicts[j].Device })
	for _, f := range res.Flows {
		if f.Essential {
			p.Flows.Essential++
		}
	}
	for _, name := range res.Expired {
		f := cfg.Flows[name]
		p.Flows.Expired = append(p.Flows.Expired, ExpiredFlow{Name: name, Expires: f.Expires.Format(time.DateOnly),
			DeclaredAt: fmt.Sprintf("%s:%d", f.DeclRange.Filename, f.DeclRange.Start.Line)})
	}
	for src, dsts := range res.Matrix {
		for dst, svcs := range dsts {
			p.Matrix = append(p.Matrix, Cell{From: src, To: dst, Services: svcs})
		}
	}
	sort.Slice(p.Matrix, func(i, j int) bool {
		if p.Matrix[i].From != p.Matrix[j].From {
			return p.Matrix[i].From < p.Matrix[j].From
		}
		return p.Matrix[i].To < p.Matrix[j].To
	})
	if n := len(p.Guardrails.Deny); n > 0 {
		p.Blocked = true
		p.Reasons = append(p.Reasons, fmt.Sprintf("%d guardrail denial(s)", n))
	}
	if n := len(p.Placement.Conflicts); n > 0 {
		p.Blocked = true
		p.Reasons = append(p.Reasons, fmt.Sprintf("%d device(s) match two zones of equal priority", n))
	}
	p.Warnings = []string{}
	if opts.Store != nil && opts.Drivers != nil {
		in, warns, err := intent.Compile(cfg, res, e.Devices())
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot compile the enforcement intent", Detail: err.Error()}}
		}
		if len(opts.Only) > 0 {
			for name := range in.Targets {
				if !slices.Contains(opts.Only, name) {
					delete(in.Targets, name)
				}
			}
			for _, name := range opts.Only {
				if cfg.Targets[name] == nil {
					return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown target", Detail: fmt.Sprintf("-target %s: the policy has no such target", name)}}
				}
			}
		}
		for _, w := range warns {
			if len(opts.Only) == 0 || slices.Contains(opts.Only, w.Target) {
				p.Warnings = append(p.Warnings, w.String())
			}
		}
		// One read of the recorded states for the targets' diffs and the
		// essential check alike, and the digest is of that read.
		states, hashes, err := lastApplied(ctx, opts.Store)
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the targets' last-applied states", Detail: err.Error()}}
		}
		p.StateDigest, p.baseHashes = store.StateDigest(hashes), hashes
		if p.Targets, p.Changes, err = planTargets(ctx, in, opts.Drivers, states, hashes, opts.Only, opts.Refresh, opts.Owner); err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot plan the targets", Detail: err.Error()}}
		}
		if err := p.analyseEssential(ctx, opts, in, states, e.Devices(), res.Zone); err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot check the essential flows", Detail: err.Error()}}
		}
	}
	if p.Reasons == nil {
		p.Reasons = []string{}
	}
	if p.EssentialLoss == nil {
		p.EssentialLoss = []EssentialLoss{}
	}
	return p, nil
}

// Changed lists the targets the plan would change.
func (p *Plan) Changed() []*TargetPlan {
	var out []*TargetPlan
	for i := range p.Targets {
		if p.Targets[i].Changed {
			out = append(out, &p.Targets[i])
		}
	}
	return out
}

// InventoryHash identifies a set of devices: SHA-256 over their JSON in
// name order.
func InventoryHash(devices []inventory.Device) string {
	sorted := append([]inventory.Device(nil), devices...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, d := range sorted {
		_ = enc.Encode(d)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
