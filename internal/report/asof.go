package report

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// history is every apply Ward recorded, oldest first. It is read from the
// audit log's apply.finish events, which ApplyRecorded writes at the end of
// each run with the plan, the policy hash and every target's outcome: the
// keyed, append-only record, rather than rows a later apply overwrites.
type history struct {
	runs []applyRun
}

type applyRun struct {
	runID      uint64
	planID     uint64
	at         time.Time
	actor      string
	status     string
	policyHash string
	results    []plan.PushResult
	seq        uint64
}

// applied names the targets the run changed (or rendered for push = false).
func (r applyRun) applied() []string {
	out := []string{}
	for _, res := range r.results {
		if res.Status == "applied" || res.Status == "not_pushed" {
			out = append(out, res.Target)
		}
	}
	return out
}

// historyPage is how many audit events one read returns.
const historyPage = 1000

func readHistory(ctx context.Context, st *store.Store) (*history, error) {
	h := &history{}
	var before uint64
	for {
		evs, err := st.ListAuditEvents(ctx, store.AuditQuery{Limit: historyPage, Before: before, Action: "apply.finish"})
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			var d struct {
				Status     string            `json:"status"`
				Results    []plan.PushResult `json:"results"`
				PolicyHash string            `json:"policy_hash"`
				PlanID     uint64            `json:"plan_id"`
			}
			if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
				return nil, fmt.Errorf("report: audit event %d (apply.finish) has unreadable detail: %w", ev.Seq, err)
			}
			var runID uint64
			fmt.Sscanf(ev.Object, "apply run %d", &runID)
			h.runs = append(h.runs, applyRun{runID: runID, planID: d.PlanID, at: ev.At.UTC(), actor: ev.Actor, status: d.Status,
				policyHash: d.PolicyHash, results: d.Results, seq: ev.Seq})
		}
		if len(evs) < historyPage {
			break
		}
		before = evs[len(evs)-1].Seq
	}
	slices.Reverse(h.runs)
	return h, nil
}

// changes lists the applies in (since, until].
func (h *history) changes(since *time.Time, until time.Time) []Change {
	out := []Change{}
	for _, r := range h.runs {
		if r.at.After(until) || (since != nil && r.at.Before(*since)) {
			continue
		}
		c := Change{RunID: r.runID, PlanID: r.planID, At: r.at, Actor: r.actor, Status: r.status, PolicyHash: r.policyHash,
			Targets: r.applied(), Failed: []string{}, AuditSeq: r.seq}
		for _, res := range r.results {
			if res.Status == "failed" || res.Status == "skipped" {
				c.Failed = append(c.Failed, res.Target)
			}
		}
		out = append(out, c)
	}
	return out
}

// lastBefore returns the newest run at or before t that applied some
// target, and for each target the newest run at or before t that applied
// it.
func (h *history) lastBefore(t time.Time) (*applyRun, map[string]applyRun) {
	var last *applyRun
	perTarget := map[string]applyRun{}
	for i := range h.runs {
		r := h.runs[i]
		if r.at.After(t) {
			break
		}
		if len(r.applied()) == 0 {
			continue
		}
		last = &h.runs[i]
		for _, name := range r.applied() {
			perTarget[name] = r
		}
	}
	return last, perTarget
}

// storedPlan reads a stored plan: its JSON, or a signed envelope holding
// it in "plan" (internal/plan/sign.go). The signature is not checked: a
// report describes what was applied, and apply checked it then.
func storedPlan(ctx context.Context, st *store.Store, id uint64) (*plan.Plan, error) {
	row, err := st.GetPlan(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := plan.DecodeUnverified([]byte(row.Content))
	if err != nil {
		return nil, fmt.Errorf("report: plan %d is unreadable: %w", id, err)
	}
	return p, nil
}

// pastView is the policy as it was enforced at until: the plan applied
// last before it, and for each target the configuration of the plan that
// last changed it. Flow details (reason, ticket) are in plans only as far
// as their rules are; they come from the policy in force when its hash is
// the applied plan's, and are left empty otherwise, with a note.
func pastView(ctx context.Context, in Inputs, h *history, until time.Time, r *Report) (*view, error) {
	last, perTarget := h.lastBefore(until)
	v := &view{zoneOf: map[string]string{}, networks: map[string][]string{}, criticality: map[string]string{}}
	if last == nil {
		v.revision = PolicyRevision{Source: "none"}
		v.notes = append(v.notes, fmt.Sprintf("the store has no applied plan at or before %s: Ward enforced no policy then, so this report lists no zones, flows or targets", until.Format(time.RFC3339)))
		v.zones, v.flows, v.matrix, v.exceptions, v.targets, v.devicesByZone = []Zone{}, []Flow{}, []Cell{}, []Exception{}, []Target{}, []ZoneDevices{}
		return v, nil
	}
	p, err := storedPlan(ctx, in.Store, last.planID)
	if err != nil {
		return nil, err
	}
	planID, at := last.planID, last.at
	v.revision = PolicyRevision{Hash: p.Policy.Hash, GitCommit: p.Policy.GitCommit, Source: "applied_plan", PlanID: &planID, AppliedAt: &at}
	var doc *policy.Document
	if in.Policy != nil && in.Policy.Hash == p.Policy.Hash {
		doc = in.Policy.Doc
		v.services, v.defaultAction = doc.Services, doc.Settings.DefaultAction
		for name, n := range doc.Networks {
			v.networks[name] = n.CIDRs
		}
	} else {
		v.notes = append(v.notes, "the policy in force differs from the one applied then: flow reasons, tickets and expiry dates are not in stored plans and are left empty; check out git commit "+
			orUnknown(p.Policy.GitCommit)+" to read them")
	}
	for _, z := range p.Placement.Zones {
		v.criticality[z.Zone] = z.Criticality
		zone := Zone{Name: z.Zone, Criticality: z.Criticality, VLAN: z.VLAN, Subnets: []string{}, Enforcement: z.Enforcement, Devices: z.Devices}
		if doc != nil {
			dz := doc.Zones[z.Zone]
			zone.Description, zone.Subnets = dz.Description, nonNil(dz.Subnets)
		}
		v.zones = append(v.zones, zone)
	}
	for _, c := range p.Matrix {
		v.matrix = append(v.matrix, Cell{From: c.From, To: c.To, Services: nonNil(c.Services), Flows: []string{}})
	}
	v.flows, v.targets, err = pastFlowsAndTargets(ctx, in.Store, perTarget, doc, until)
	if err != nil {
		return nil, err
	}
	for _, t := range v.targets {
		v.hasFirewall = v.hasFirewall || slices.Contains(t.Roles, "firewall")
	}
	if v.matrix == nil {
		v.matrix = []Cell{}
	}
	sortCells(v.matrix)
	cellFlows(v.matrix, v.flows)
	v.exceptions = exceptions(v.flows, p.Guardrails.Waived, docFlows(doc))
	v.devicesByZone = []ZoneDevices{}
	for _, z := range v.zones {
		v.devicesByZone = append(v.devicesByZone, ZoneDevices{Zone: z.Name, Count: z.Devices, Devices: []Device{}})
	}
	v.notes = append(v.notes, "devices_by_zone gives the counts the applied plan recorded; the inventory of that time is not stored, so devices are not listed")
	return v, nil
}

// pastFlowsAndTargets reads each target's configuration from the plan that
// last changed it, and the flows from their rules.
func pastFlowsAndTargets(ctx context.Context, st *store.Store, perTarget map[string]applyRun, doc *policy.Document, until time.Time) ([]Flow, []Target, error) {
	plans := map[uint64]*plan.Plan{}
	acc := ruleFlows{}
	targets := []Target{}
	type carried struct {
		intent *intent.Target
		at     time.Time
	}
	applied := map[string]carried{}
	for _, name := range slices.Sorted(maps.Keys(perTarget)) {
		run := perTarget[name]
		p, ok := plans[run.planID]
		if !ok {
			var err error
			if p, err = storedPlan(ctx, st, run.planID); err != nil {
				return nil, nil, err
			}
			plans[run.planID] = p
		}
		at, runID := run.at, run.runID
		t := Target{Name: name, Roles: []string{}, Push: true, Drift: "not_recorded", Status: "applied", LastPush: &at, LastRunID: &runID, LastActor: run.actor}
		for _, tp := range p.Targets {
			if tp.Name != name {
				continue
			}
			t.Driver, t.AppliedSHA256, t.IntendedSHA256, t.Push = tp.Driver, sha256Hex(tp.Config), sha256Hex(tp.Config), !tp.RenderOnly
			if tp.Intent != nil {
				t.Roles, t.Model = nonNil(tp.Intent.Roles), tp.Intent.Model
				acc.add(tp.Intent.Firewall)
				applied[name] = carried{tp.Intent, run.at}
			}
		}
		if !t.Push {
			t.Status = "render_only"
		}
		targets = append(targets, t)
	}
	flows := []Flow{}
	for _, name := range slices.Sorted(maps.Keys(acc)) {
		a := acc[name]
		f := Flow{Name: name, From: slices.Sorted(maps.Keys(a.from)), To: slices.Sorted(maps.Keys(a.to)),
			Services: slices.Sorted(maps.Keys(a.services)), Essential: a.essential, Deployed: true}
		if df, ok := docFlows(doc)[name]; ok {
			f.From, f.To = endpointKeys(df.From), endpointKeys(df.To)
			f.Reason, f.Ticket, f.Owner, f.Expires, f.DeclaredAt, f.Description = df.Reason, df.Ticket, df.Owner, df.Expires, df.DeclaredAt, df.Description
		}
		f.InForce = f.Expires == "" || !expired(f, until)
		f.AppliedTo = []string{}
		flows = append(flows, f)
	}
	for name, c := range applied {
		flowsApplied(flows, name, c.intent, c.at)
	}
	return flows, targets, nil
}

// ruleFlows gathers, by flow name, what firewall rules say of their flow:
// its endpoints (zone names where a set is a zone's), services and
// whether it is essential.
type ruleFlows map[string]*ruleFlow

type ruleFlow struct {
	from, to, services map[string]bool
	essential          bool
}

func (acc ruleFlows) add(fw *intent.Firewall) {
	if fw == nil {
		return
	}
	setZone := map[string]string{}
	for _, z := range fw.Zones {
		setZone[z.Set] = z.Name
	}
	for _, r := range fw.Rules {
		a := acc[r.Flow]
		if a == nil {
			a = &ruleFlow{from: map[string]bool{}, to: map[string]bool{}, services: map[string]bool{}}
			acc[r.Flow] = a
		}
		a.from[orName(setZone, r.From)] = true
		a.to[orName(setZone, r.To)] = true
		a.services[r.Service] = true
		a.essential = a.essential || r.Essential
	}
}

// orName maps an address set to its zone, or keeps the set's name.
func orName(m map[string]string, set string) string {
	if z, ok := m[set]; ok {
		return z
	}
	return set
}

func docFlows(doc *policy.Document) map[string]policy.DocFlow {
	if doc == nil {
		return map[string]policy.DocFlow{}
	}
	return doc.Flows
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown: the policy directory was not in git)"
	}
	return s
}

// cellFlows names, in each cell, the flows whose endpoints it joins.
func cellFlows(cells []Cell, flows []Flow) {
	idx := map[[2]string]int{}
	for i, c := range cells {
		idx[[2]string{c.From, c.To}] = i
	}
	for _, f := range flows {
		for _, from := range f.From {
			for _, to := range f.To {
				if i, ok := idx[[2]string{from, to}]; ok {
					cells[i].Flows = append(cells[i].Flows, f.Name)
				}
			}
		}
	}
}
