// Package report builds Ward's compliance evidence: one Report value that
// says which policy was in force over a period, what it allows between
// which zones and why, what Ward applied to which device, which devices it
// quarantined, what looks wrong (findings), and which regulatory and
// framework controls that evidences (controls.json). `ward report`,
// GET /api/v1/report and the web UI all read this one value; none of them
// computes evidence of its own.
//
// Start reading at Build. The renderers (render.go) write a Report as JSON
// (the contract in docs/report-json.md), as the CSV flow register, and as
// one self-contained printable HTML page; Sign and VerifyManifest
// (manifest.go) make and check a manifest of a rendered report's bytes
// under the audit key. History (asof.go) rebuilds the policy as it was
// enforced at an earlier time from the applied plans Ward stored.
package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// FormatVersion is the version of the report's JSON form
// (docs/report-json.md). It changes only when a field changes meaning or
// disappears; new fields keep the version.
const FormatVersion = "1"

// Inputs are what a report is built from.
type Inputs struct {
	// Policy is the policy in force, Devices the active inventory and
	// Result the engine's evaluation of the one against the other.
	Policy  *inforce.Policy
	Devices []inventory.Device
	Result  *engine.Result
	// GitCommit is the policy directory's commit (policy.GitCommit), or "".
	GitCommit string
	// Store holds what Ward applied, its quarantines and its audit log.
	Store *store.Store
	// Drivers, when set, renders each target's intended configuration so
	// the report can show its hash next to the applied one. Without it the
	// intended hash is left out.
	Drivers *drivers.Registry
	// Since starts the period (zero: the beginning of the records); AsOf
	// ends it and, when set, makes the report describe the policy as it
	// was enforced then (asof.go) instead of the policy in force.
	Since, AsOf time.Time
	// Now is the clock (nil: time.Now); WardVersion names this build.
	Now         func() time.Time
	WardVersion string
}

// Report is the compliance evidence. Its JSON keys are a contract
// (docs/report-json.md, docs/report.schema.json).
type Report struct {
	FormatVersion  string         `json:"format_version"`
	GeneratedAt    time.Time      `json:"generated_at"`
	WardVersion    string         `json:"ward_version"`
	PolicyRevision PolicyRevision `json:"policy_revision"`
	Period         Period         `json:"period"`
	// Notes say, in words, what the report could not show and why.
	Notes   []string `json:"notes"`
	Summary Summary  `json:"summary"`
	// DefaultAction is the policy's action for traffic no flow allows
	// ("" when an as-of report cannot tell).
	DefaultAction string         `json:"default_action"`
	Audit         AuditStatus    `json:"audit"`
	Findings      []FindingGroup `json:"findings"`
	Controls      []Control      `json:"controls"`
	Zones         []Zone         `json:"zones"`
	Flows         []Flow         `json:"flows"`
	Matrix        []Cell         `json:"matrix"`
	Exceptions    []Exception    `json:"exceptions"`
	Targets       []Target       `json:"targets"`
	Quarantines   []Quarantine   `json:"quarantines"`
	// Recertification is the recertification campaigns open in the period
	// (recert.go).
	Recertification []RecertCampaign `json:"recertification"`
	Changes         []Change         `json:"changes"`
	DevicesByZone   []ZoneDevices    `json:"devices_by_zone"`
}

// PolicyRevision identifies the policy the report describes.
type PolicyRevision struct {
	Hash      string `json:"hash"`
	GitCommit string `json:"git_commit"`
	// Source is "in_force" (the policy Ward holds now) or "applied_plan"
	// (an as-of report: the policy of the plan applied last before AsOf),
	// or "none" when there was none.
	Source string `json:"source"`
	// PlanID and AppliedAt name that plan and when it was applied.
	PlanID    *uint64    `json:"plan_id"`
	AppliedAt *time.Time `json:"applied_at"`
}

// Period is the time the report covers: changes and quarantines from
// Since (null: from the first record) to Until.
type Period struct {
	Since *time.Time `json:"since"`
	Until time.Time  `json:"until"`
	AsOf  bool       `json:"as_of"`
}

// Summary is the first thing a reviewer reads.
type Summary struct {
	Zones             int            `json:"zones"`
	Flows             int            `json:"flows"`
	EssentialFlows    int            `json:"essential_flows"`
	Devices           int            `json:"devices"`
	Targets           int            `json:"targets"`
	ActiveQuarantines int            `json:"active_quarantines"`
	Changes           int            `json:"changes"`
	Findings          map[string]int `json:"findings"` // by kind: flows (or exceptions) with that finding
	Controls          map[string]int `json:"controls"` // by status
}

// AuditStatus is what verifying the audit log found when the report was
// built.
type AuditStatus struct {
	Events  int    `json:"events"`
	Keyed   int    `json:"keyed"`
	Unkeyed int    `json:"unkeyed"`
	KeyID   string `json:"key_id"`
	Intact  bool   `json:"intact"`
	// Problem says why it is not intact, or could not be checked.
	Problem string `json:"problem"`
	HeadSeq uint64 `json:"head_seq"`
}

// Zone is one zone with its device count.
type Zone struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Criticality string   `json:"criticality"`
	VLAN        *int     `json:"vlan"`
	Subnets     []string `json:"subnets"`
	Enforcement string   `json:"enforcement"`
	Devices     int      `json:"devices"`
}

// Flow is one flow of the policy: an entry of the flow register.
type Flow struct {
	Name        string   `json:"name"`
	From        []string `json:"from"` // zone names, or network:NAME
	To          []string `json:"to"`
	Services    []string `json:"services"`
	Essential   bool     `json:"essential"`
	Reason      string   `json:"reason"`
	Ticket      string   `json:"ticket"`
	Owner       string   `json:"owner"` // who re-approves it in recertification campaigns
	Expires     string   `json:"expires"`
	InForce     bool     `json:"in_force"` // false: expired, dropped from plans
	Deployed    bool     `json:"deployed"` // some target's applied configuration carries it
	DeclaredAt  string   `json:"declared_at"`
	Description string   `json:"description"`
	// AppliedTo names the targets whose applied configuration carries the
	// flow's rules, LastApplied the newest of their applies (null: none).
	AppliedTo   []string   `json:"applied_to"`
	LastApplied *time.Time `json:"last_applied"`
}

// Cell is what From may open to To, and the flows that allow it.
type Cell struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Services []string `json:"services"`
	Flows    []string `json:"flows"`
}

// Exception is a time-bound or waived part of the policy.
type Exception struct {
	Kind     string `json:"kind"` // "expiring_flow" or "guardrail_waiver"
	Flow     string `json:"flow"`
	Rule     string `json:"rule"`    // the waived guardrail rule
	Expires  string `json:"expires"` // YYYY-MM-DD, for expiring flows
	Expired  bool   `json:"expired"`
	Deployed bool   `json:"deployed"`
	Reason   string `json:"reason"`
	Ticket   string `json:"ticket"`
}

// Target is one enforcement point and what Ward applied there.
type Target struct {
	Name   string   `json:"name"`
	Driver string   `json:"driver"`
	Roles  []string `json:"roles"`
	Model  string   `json:"model"`
	Push   bool     `json:"push"`
	// IntendedSHA256 is the hash of the configuration the policy renders
	// for the target now ("" when the report was built without drivers,
	// or as of a past time: then the applied plan's).
	IntendedSHA256 string `json:"intended_sha256"`
	// AppliedSHA256 is the hash of the configuration Ward last applied.
	AppliedSHA256 string     `json:"applied_sha256"`
	LastPush      *time.Time `json:"last_push"`
	LastRunID     *uint64    `json:"last_run_id"`
	LastActor     string     `json:"last_actor"`
	// RunningSHA256 is the SHA-256 of the running configuration's text
	// as the latest drift check read it ("" when none was read); a report
	// never dials a device.
	RunningSHA256 string `json:"running_sha256"`
	// Status: "applied" (the applied configuration is the intended one),
	// "pending" (the policy renders something else: plan and apply),
	// "never_applied", "render_only" (push = false), "unknown" (no
	// intended configuration to compare with).
	Status string `json:"status"`
	// Drift is the latest recorded drift check's status (in_sync, drift,
	// error, never_applied, render_only), "not_recorded" when the target
	// was never checked (by the end of the period, as of a past time).
	Drift string `json:"drift"`
	// DriftCheckedAt and DriftCheckedBy say when and by whom that check
	// was made (null and "" when not recorded); a check older than
	// LastPush checked the configuration applied before it.
	DriftCheckedAt *time.Time `json:"drift_checked_at"`
	DriftCheckedBy string     `json:"drift_checked_by"`
	// DriftError is why that check could not tell ("" unless error).
	DriftError string `json:"drift_error"`
}

// Quarantine is one quarantine active in, or started during, the period.
type Quarantine struct {
	ID         uint64     `json:"id"`
	Device     string     `json:"device"`
	Zone       string     `json:"zone"`
	Level      string     `json:"level"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	ReleasedAt *time.Time `json:"released_at"`
	ReleasedBy string     `json:"released_by"`
	EnforcedAt *time.Time `json:"enforced_at"`
}

// Change is one apply of a plan in the period.
type Change struct {
	RunID      uint64    `json:"run_id"`
	PlanID     uint64    `json:"plan_id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Status     string    `json:"status"`
	PolicyHash string    `json:"policy_hash"`
	Targets    []string  `json:"targets"` // applied (or not_pushed)
	Failed     []string  `json:"failed"`  // failed or skipped
	AuditSeq   uint64    `json:"audit_seq"`
}

// ZoneDevices lists the devices of one zone.
type ZoneDevices struct {
	Zone    string   `json:"zone"`
	Count   int      `json:"count"`
	Devices []Device `json:"devices"`
}

// Device is one device in the inventory.
type Device struct {
	Name        string `json:"name"`
	IP          string `json:"ip"`
	Class       string `json:"class"`
	Vendor      string `json:"vendor"`
	Model       string `json:"model"`
	Criticality string `json:"criticality"`
}

// Build builds the report.
func Build(ctx context.Context, in Inputs) (*Report, error) {
	if in.Store == nil {
		return nil, errors.New("report: no store: the report reads what Ward applied from it")
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	gen := now().UTC()
	r := &Report{FormatVersion: FormatVersion, GeneratedAt: gen.Truncate(time.Second), WardVersion: in.WardVersion, Notes: []string{}}
	// The period ends at the very moment of the report, not the second
	// shown: an apply made earlier in that second is in it.
	until := gen
	if !in.AsOf.IsZero() {
		until = in.AsOf.UTC()
		r.Period.AsOf = true
	}
	r.Period.Until = until
	if !in.Since.IsZero() {
		s := in.Since.UTC()
		if s.After(until) {
			return nil, fmt.Errorf("report: since %s is after the end of the period %s", s.Format(time.RFC3339), until.Format(time.RFC3339))
		}
		r.Period.Since = &s
	}

	hist, err := readHistory(ctx, in.Store)
	if err != nil {
		return nil, err
	}
	var v *view
	if in.AsOf.IsZero() {
		if in.Policy == nil || in.Result == nil {
			return nil, errors.New("report: no policy in force: start Ward with a policy (or ask for a report -as-of a time)")
		}
		v, err = currentView(ctx, in)
	} else {
		v, err = pastView(ctx, in, hist, until, r)
	}
	if err != nil {
		return nil, err
	}
	r.PolicyRevision = v.revision
	r.Zones, r.Flows, r.Matrix, r.Exceptions, r.Targets, r.DevicesByZone = v.zones, v.flows, v.matrix, v.exceptions, v.targets, v.devicesByZone
	r.Notes = append(r.Notes, v.notes...)
	if err := fillDrift(ctx, in.Store, r.Targets, in.AsOf); err != nil {
		return nil, err
	}

	r.DefaultAction = v.defaultAction
	r.Audit = auditStatus(ctx, in.Store)
	r.Changes = hist.changes(r.Period.Since, until)
	if r.Quarantines, err = quarantines(ctx, in.Store, v.zoneOf, r.Period.Since, until); err != nil {
		return nil, err
	}
	if r.Recertification, err = recertification(ctx, in.Store, r.Period.Since, until); err != nil {
		return nil, err
	}
	r.Findings = findings(v, until)
	r.Controls, err = evaluateControls(r)
	if err != nil {
		return nil, err
	}
	r.Summary = summarise(r)
	return r, nil
}

// view is the policy the report describes, whichever time it is of.
type view struct {
	revision      PolicyRevision
	zones         []Zone
	flows         []Flow
	matrix        []Cell
	exceptions    []Exception
	targets       []Target
	devicesByZone []ZoneDevices
	zoneOf        map[string]string // device name to zone
	hasFirewall   bool              // the policy has a firewall target
	waived        []engine.Finding
	networks      map[string][]string // network name to CIDRs
	services      map[string]policy.DocService
	criticality   map[string]string // zone to criticality
	defaultAction string
	notes         []string
}

// currentView is the policy in force, evaluated against the inventory.
func currentView(ctx context.Context, in Inputs) (*view, error) {
	p, res := in.Policy, in.Result
	v := &view{
		revision:      PolicyRevision{Hash: p.Hash, GitCommit: in.GitCommit, Source: "in_force"},
		zoneOf:        res.Zone,
		waived:        res.Waived,
		networks:      map[string][]string{},
		services:      p.Doc.Services,
		criticality:   map[string]string{},
		defaultAction: p.Doc.Settings.DefaultAction,
	}
	for name, n := range p.Doc.Networks {
		v.networks[name] = n.CIDRs
	}
	counts := map[string]int{}
	for _, z := range res.Zone {
		counts[z]++
	}
	for _, name := range slices.Sorted(maps.Keys(p.Doc.Zones)) {
		z := p.Doc.Zones[name]
		v.criticality[name] = z.Criticality
		v.zones = append(v.zones, Zone{Name: name, Description: z.Description, Criticality: z.Criticality, VLAN: z.VLAN,
			Subnets: nonNil(z.Subnets), Enforcement: z.Enforcement, Devices: counts[name]})
	}

	states, err := appliedStates(ctx, in.Store)
	if err != nil {
		return nil, err
	}
	deployed := deployedFlows(states)
	for _, name := range slices.Sorted(maps.Keys(p.Doc.Flows)) {
		f := p.Doc.Flows[name]
		_, inForce := res.Flows[name]
		v.flows = append(v.flows, Flow{Name: name, From: endpointKeys(f.From), To: endpointKeys(f.To), Services: nonNil(f.Services),
			Essential: f.Essential, Reason: f.Reason, Ticket: f.Ticket, Owner: f.Owner, Expires: f.Expires, InForce: inForce, Deployed: deployed[name],
			DeclaredAt: f.DeclaredAt, Description: f.Description, AppliedTo: []string{}})
	}
	for name, s := range states {
		flowsApplied(v.flows, name, s.Intent, s.at)
	}
	v.matrix = matrix(res)
	v.exceptions = exceptions(v.flows, res.Waived, p.Doc.Flows)

	for _, name := range slices.Sorted(maps.Keys(p.Doc.Targets)) {
		t := p.Doc.Targets[name]
		v.hasFirewall = v.hasFirewall || slices.Contains(t.Roles, intent.RoleFirewall)
		v.targets = append(v.targets, Target{Name: name, Driver: t.Driver, Roles: nonNil(t.Roles), Model: t.Model, Push: t.Push, Drift: "not_recorded"})
	}
	intended, err := intendedHashes(in)
	if err != nil {
		return nil, err
	}
	if err := fillApplied(ctx, in.Store, v.targets, states, intended); err != nil {
		return nil, err
	}
	if in.Drivers == nil {
		v.notes = append(v.notes, "built without the driver registry: targets show the applied configuration's hash only")
	}
	v.devicesByZone = devicesByZone(in.Devices, res.Zone, p.Doc.Zones)
	return v, nil
}

// endpointKeys turns a flow's references into matrix keys, as the API
// does: zone names, and network:NAME for networks.
func endpointKeys(refs []policy.DocRef) []string {
	out := []string{}
	for _, r := range refs {
		if r.Kind == "network" {
			out = append(out, "network:"+r.Name)
		} else {
			out = append(out, r.Name)
		}
	}
	return out
}

// matrix is the engine's zone x zone matrix with the flows behind each
// cell.
func matrix(res *engine.Result) []Cell {
	type pair struct{ from, to string }
	flowsOf := map[pair][]string{}
	for name, f := range res.Flows {
		for _, from := range endpointKeys(f.From) {
			for _, to := range endpointKeys(f.To) {
				flowsOf[pair{from, to}] = append(flowsOf[pair{from, to}], name)
			}
		}
	}
	out := []Cell{}
	for from, dsts := range res.Matrix {
		for to, svcs := range dsts {
			fl := append([]string{}, flowsOf[pair{from, to}]...)
			sort.Strings(fl)
			s := append([]string{}, svcs...)
			sort.Strings(s)
			out = append(out, Cell{From: from, To: to, Services: s, Flows: fl})
		}
	}
	sortCells(out)
	return out
}

func sortCells(cells []Cell) {
	sort.Slice(cells, func(i, j int) bool {
		if cells[i].From != cells[j].From {
			return cells[i].From < cells[j].From
		}
		return cells[i].To < cells[j].To
	})
}

// exceptions lists expiring flows and waived guardrails.
func exceptions(flows []Flow, waived []engine.Finding, doc map[string]policy.DocFlow) []Exception {
	out := []Exception{}
	for _, f := range flows {
		if f.Expires != "" {
			out = append(out, Exception{Kind: "expiring_flow", Flow: f.Name, Expires: f.Expires, Expired: !f.InForce,
				Deployed: f.Deployed, Reason: f.Reason, Ticket: f.Ticket})
		}
	}
	deployed := map[string]bool{}
	for _, f := range flows {
		deployed[f.Name] = f.Deployed
	}
	for _, w := range waived {
		out = append(out, Exception{Kind: "guardrail_waiver", Flow: w.Flow, Rule: w.Rule, Reason: w.Reason,
			Ticket: doc[w.Flow].Ticket, Expires: doc[w.Flow].Expires, Deployed: deployed[w.Flow]})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		if out[i].Flow != out[j].Flow {
			return out[i].Flow < out[j].Flow
		}
		return out[i].Rule < out[j].Rule
	})
	return out
}

// appliedStates reads every target's last-applied state.
func appliedStates(ctx context.Context, st *store.Store) (map[string]appliedState, error) {
	rows, err := st.TargetStates(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]appliedState{}
	for _, row := range rows {
		s, err := decodeState(row)
		if err != nil {
			return nil, err
		}
		out[row.Target] = s
	}
	return out, nil
}

// appliedState is a stored last-applied state with its row's bookkeeping.
type appliedState struct {
	plan.AppliedState
	hash  string
	at    time.Time
	runID *uint64
}

func decodeState(row store.TargetState) (appliedState, error) {
	s := appliedState{at: row.AppliedAt.UTC(), runID: row.ApplyRunID}
	if err := json.Unmarshal([]byte(row.Content), &s.AppliedState); err != nil {
		return s, fmt.Errorf("target %s: its stored last-applied state is unreadable: %w", row.Target, err)
	}
	// The hash of the configuration text, the same value a reviewer can
	// compute from `ward render` output; the row's own hash covers the
	// intent as well.
	s.hash = sha256Hex(s.Config)
	return s, nil
}

// deployedFlows names the flows some target's applied rules come from.
func deployedFlows(states map[string]appliedState) map[string]bool {
	out := map[string]bool{}
	for _, s := range states {
		if s.Intent == nil || s.Intent.Firewall == nil {
			continue
		}
		for _, r := range s.Intent.Firewall.Rules {
			out[r.Flow] = true
		}
	}
	return out
}

// flowsApplied records, on each flow whose rules the target's applied
// intent carries, the target and the time of that apply.
func flowsApplied(flows []Flow, target string, t *intent.Target, at time.Time) {
	if t == nil || t.Firewall == nil {
		return
	}
	carried := map[string]bool{}
	for _, r := range t.Firewall.Rules {
		carried[r.Flow] = true
	}
	for i := range flows {
		f := &flows[i]
		if !carried[f.Name] || slices.Contains(f.AppliedTo, target) {
			continue
		}
		f.AppliedTo = append(f.AppliedTo, target)
		slices.Sort(f.AppliedTo)
		if f.LastApplied == nil || at.After(*f.LastApplied) {
			a := at.UTC()
			f.LastApplied = &a
		}
	}
}

// intendedHashes renders each target's configuration from the policy in
// force, when a driver registry was given.
func intendedHashes(in Inputs) (map[string]string, error) {
	if in.Drivers == nil {
		return nil, nil
	}
	devices := make(map[string]inventory.Device, len(in.Devices))
	for _, d := range in.Devices {
		devices[d.Name] = d
	}
	it, _, err := intent.Compile(in.Policy.Config, in.Result, devices)
	if err != nil {
		return nil, fmt.Errorf("report: compiling the targets' intent: %w", err)
	}
	out := map[string]string{}
	for name, t := range it.Targets {
		info, ok := in.Drivers.Lookup(t.Driver)
		if !ok || info.New == nil {
			continue // this build cannot render it: no intended hash
		}
		d, err := info.Open(t.Options)
		if err != nil {
			return nil, fmt.Errorf("report: target %s: %w", name, err)
		}
		cfg, err := d.Render(t)
		if err != nil {
			return nil, fmt.Errorf("report: target %s: rendering: %w", name, err)
		}
		out[name] = sha256Hex(cfg.Text)
	}
	return out, nil
}

// fillApplied completes each target with what Ward applied to it.
func fillApplied(ctx context.Context, st *store.Store, targets []Target, states map[string]appliedState, intended map[string]string) error {
	for i := range targets {
		t := &targets[i]
		t.IntendedSHA256 = intended[t.Name]
		s, ok := states[t.Name]
		switch {
		case !t.Push:
			t.Status = "render_only"
		case !ok:
			t.Status = "never_applied"
		case t.IntendedSHA256 == "":
			t.Status = "unknown"
		case t.IntendedSHA256 == s.hash:
			t.Status = "applied"
		default:
			t.Status = "pending"
		}
		if !ok {
			continue
		}
		at := s.at
		t.AppliedSHA256, t.LastPush, t.LastRunID = s.hash, &at, s.runID
		if s.runID != nil {
			run, err := st.GetApplyRun(ctx, *s.runID)
			switch {
			case err == nil:
				t.LastActor = run.Actor
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
	}
	return nil
}

// devicesByZone lists the devices of each zone, and the unplaced ones
// under "".
func devicesByZone(devices []inventory.Device, zoneOf map[string]string, zones map[string]policy.DocZone) []ZoneDevices {
	by := map[string][]Device{}
	for _, d := range devices {
		ip := ""
		if d.IP.IsValid() {
			ip = d.IP.String()
		}
		z := zoneOf[d.Name]
		by[z] = append(by[z], Device{Name: d.Name, IP: ip, Class: d.Class, Vendor: d.Vendor, Model: d.Model, Criticality: d.Criticality})
	}
	for name := range zones {
		if _, ok := by[name]; !ok {
			by[name] = []Device{}
		}
	}
	out := []ZoneDevices{}
	for _, z := range slices.Sorted(maps.Keys(by)) {
		ds := by[z]
		sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
		out = append(out, ZoneDevices{Zone: z, Count: len(ds), Devices: ds})
	}
	return out
}

// maxQuarantines bounds the quarantines a report reads (newest first).
const maxQuarantines = 100000

// quarantines lists the quarantines active at some time in the period.
func quarantines(ctx context.Context, st *store.Store, zoneOf map[string]string, since *time.Time, until time.Time) ([]Quarantine, error) {
	rows, err := st.ListQuarantines(ctx, store.QuarantineFilter{Status: "all", Limit: maxQuarantines})
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, q := range rows {
		ids = append(ids, q.DeviceID)
	}
	names, err := st.DeviceNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []Quarantine{}
	for _, q := range rows {
		if q.CreatedAt.After(until) {
			continue // started after the period
		}
		if since != nil && q.ReleasedAt != nil && q.ReleasedAt.Before(*since) {
			continue // over before the period
		}
		name := names[q.DeviceID]
		qq := Quarantine{ID: q.ID, Device: name, Zone: zoneOf[name], Level: q.Level, Status: q.Status, Reason: q.Reason,
			CreatedBy: q.CreatedBy, CreatedAt: q.CreatedAt.UTC(), ExpiresAt: utcPtr(q.ExpiresAt), ReleasedAt: utcPtr(q.ReleasedAt),
			ReleasedBy: q.ReleasedBy, EnforcedAt: utcPtr(q.EnforcedAt)}
		if qq.ReleasedAt != nil && qq.ReleasedAt.After(until) {
			// As of the end of the period it was still open.
			qq.ReleasedAt, qq.ReleasedBy, qq.Status = nil, "", "active"
		}
		out = append(out, qq)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func summarise(r *Report) Summary {
	s := Summary{Zones: len(r.Zones), Flows: len(r.Flows), Targets: len(r.Targets), Changes: len(r.Changes),
		Findings: map[string]int{}, Controls: map[string]int{}}
	for _, f := range r.Flows {
		if f.Essential {
			s.EssentialFlows++
		}
	}
	for _, z := range r.DevicesByZone {
		s.Devices += z.Count
	}
	for _, q := range r.Quarantines {
		if q.ReleasedAt == nil && (q.Status == store.QuarantineActive || q.Status == store.QuarantinePending) {
			s.ActiveQuarantines++
		}
	}
	for _, k := range FindingKinds {
		s.Findings[k] = 0
	}
	seen := map[string]bool{}
	for _, g := range r.Findings {
		for _, f := range g.Items {
			key := f.Kind + "\x00" + f.Flow + "\x00" + f.Rule
			if !seen[key] {
				seen[key] = true
				s.Findings[f.Kind]++
			}
		}
	}
	for _, st := range ControlStatuses {
		s.Controls[st] = 0
	}
	for _, c := range r.Controls {
		s.Controls[c.Status]++
	}
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// auditStatus verifies the audit log. A log that cannot be checked (no
// key) is reported, not an error: the report says so.
func auditStatus(ctx context.Context, st *store.Store) AuditStatus {
	rep, err := st.VerifyAuditLog(ctx, nil)
	if err != nil {
		return AuditStatus{Problem: err.Error(), KeyID: st.AuditKeyID()}
	}
	a := AuditStatus{Events: rep.Checked, Keyed: rep.Keyed, Unkeyed: rep.Unkeyed, KeyID: rep.KeyID, Intact: rep.Break == nil}
	if rep.Head != nil {
		a.HeadSeq = rep.Head.Seq
	}
	if rep.Break != nil {
		a.Problem = rep.Break.Error()
	}
	return a
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// ParseTime reads a time a person gives for -as-of, -since and the API's
// as_of and since: RFC 3339 (2026-11-02T10:00:00Z), or a date
// (2026-11-02), meaning its start in UTC.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-11-02T10:00:00Z) or a date (2026-11-02)", s)
}
