package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// exceptionWindow is how far ahead the dashboard looks for flows (the
// policy's exceptions) that are about to expire.
const exceptionWindow = 30 * 24 * time.Hour

// withEvaluation runs fn with the evaluation, or answers an error page.
func (h *Handler) withEvaluation(w http.ResponseWriter, r *http.Request, s *session, fn func(ev *evaluation)) {
	ev, err := h.evaluate(r.Context())
	if errors.Is(err, errNoPolicy) {
		h.problem(w, r, s, http.StatusServiceUnavailable, "No policy", "Ward was started without a policy; there is nothing to show.")
		return
	}
	if err != nil {
		h.cfg.Logger.Error("evaluating the policy for the UI", "error", err, "path", r.URL.Path)
		h.problem(w, r, s, http.StatusInternalServerError, "Evaluation failed", "Ward could not evaluate the policy in force against the inventory: "+err.Error())
		return
	}
	fn(ev)
}

// ref is a flow's endpoint: a zone (with its page) or a network.
type ref struct {
	Kind, Name string
	AsOf       string // the page's as_of, which the zone's link keeps
}

func refs(rs []policy.DocRef) []ref {
	out := make([]ref, len(rs))
	for i, r := range rs {
		out[i] = ref{Kind: r.Kind, Name: r.Name}
	}
	return out
}

// zoneRow is a zone in a table.
type zoneRow struct {
	Name, Description, Criticality, Enforcement string
	VLAN                                        string
	Subnets                                     []string
	Devices                                     int
}

func zoneRowOf(name string, z policy.DocZone, devices int) zoneRow {
	row := zoneRow{Name: name, Description: z.Description, Criticality: z.Criticality, Enforcement: z.Enforcement, Subnets: z.Subnets, Devices: devices, VLAN: "—"}
	if z.VLAN != nil {
		row.VLAN = strconv.Itoa(*z.VLAN)
	}
	return row
}

// critGroup is the zones of one criticality.
type critGroup struct {
	Criticality string
	Zones       []zoneRow
	Devices     int
}

// flowRow is a flow in a table.
type flowRow struct {
	Name, Description, Reason, Ticket, Expires string
	From, To                                   []ref
	Services                                   []string
	Essential, InForce                         bool
	DaysLeft                                   int
	AsOf                                       string // links keep the page's as_of
}

func flowRowOf(ev *evaluation, name string, f policy.DocFlow) flowRow {
	_, inForce := ev.res.Flows[name]
	return flowRow{Name: name, Description: f.Description, Reason: f.Reason, Ticket: f.Ticket, Expires: f.Expires,
		From: refs(f.From), To: refs(f.To), Services: f.Services, Essential: f.Essential, InForce: inForce}
}

func zoneCounts(ev *evaluation) map[string]int {
	n := map[string]int{}
	for _, z := range ev.res.Zone {
		n[z]++
	}
	return n
}

// targetRow is a target with its last apply.
type targetRow struct {
	Name, Driver, Model string
	Roles               []string
	Push                bool
	LastApply           *time.Time
	Hash                string
	// Drift is the target's latest recorded drift check (nil: never
	// checked).
	Drift *store.DriftCheck
}

// auditStatus is the audit chain's state.
type auditStatus struct {
	Events  int
	Intact  bool
	Problem string
}

// dashboardData is the dashboard's view-model.
type dashboardData struct {
	PolicyHash                string
	LoadedAt                  *time.Time
	Devices, Unplaced         int
	ByCriticality             []critGroup
	Flows, InForce, Essential int
	Expiring, Expired         []flowRow
	Targets                   []targetRow
	Active, Waiting, Held     int
	Audit                     auditStatus
	// Then is the report's summary as of the page's as_of; the rest of
	// the dashboard shows Ward now.
	Then *dashboardThen
}

// dashboardThen is what the dashboard says of the policy enforced as of a
// time: the report's banner and summary.
type dashboardThen struct {
	Banner  banner
	Summary report.Summary
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	if r.URL.Query().Get("as_of") != "" {
		h.withEvidence(w, r, s, func(then *evidence) {
			h.dashboardNow(w, r, s, &dashboardThen{Banner: then.banner(), Summary: then.rep.Summary})
		})
		return
	}
	h.dashboardNow(w, r, s, nil)
}

func (h *Handler) dashboardNow(w http.ResponseWriter, r *http.Request, s *session, then *dashboardThen) {
	h.withEvaluation(w, r, s, func(ev *evaluation) {
		d, err := h.dashboardData(r.Context(), ev)
		if err != nil {
			h.cfg.Logger.Error("building the UI dashboard", "error", err)
			h.problem(w, r, s, http.StatusInternalServerError, "Dashboard failed", "Ward could not read what the dashboard shows: "+err.Error())
			return
		}
		d.Then = then
		asOf := ""
		if then != nil {
			asOf = then.Banner.AsOf
		}
		h.render(w, r, http.StatusOK, "dashboard", page{Title: "Dashboard", Nav: "dashboard", Session: s.viewer(), CSRF: s.csrf, AsOf: asOf, Data: d})
	})
}

func (h *Handler) dashboardData(ctx context.Context, ev *evaluation) (*dashboardData, error) {
	doc := ev.pol.Doc
	loaded := ev.pol.LoadedAt
	d := &dashboardData{PolicyHash: ev.pol.Hash, LoadedAt: &loaded, Devices: len(ev.res.Zone), Unplaced: len(ev.res.Unplaced) + len(ev.res.Conflicts)}
	counts := zoneCounts(ev)
	for _, c := range policy.Criticalities() {
		g := critGroup{Criticality: c}
		for _, name := range slices.Sorted(maps.Keys(doc.Zones)) {
			if z := doc.Zones[name]; z.Criticality == c {
				g.Zones = append(g.Zones, zoneRowOf(name, z, counts[name]))
				g.Devices += counts[name]
			}
		}
		if len(g.Zones) > 0 {
			d.ByCriticality = append(d.ByCriticality, g)
		}
	}
	now := h.cfg.Now().UTC()
	for _, name := range slices.Sorted(maps.Keys(doc.Flows)) {
		f := doc.Flows[name]
		row := flowRowOf(ev, name, f)
		d.Flows++
		if row.InForce {
			d.InForce++
		}
		if f.Essential {
			d.Essential++
		}
		if f.Expires == "" {
			continue
		}
		exp, err := time.Parse("2006-01-02", f.Expires)
		if err != nil {
			return nil, fmt.Errorf("flow %q: expires %q: %w", name, f.Expires, err)
		}
		// A flow is allowed through the whole day it expires.
		end := exp.Add(24 * time.Hour)
		switch {
		case !now.Before(end) || !row.InForce:
			d.Expired = append(d.Expired, row)
		case end.Sub(now) <= exceptionWindow:
			row.DaysLeft = int(end.Sub(now).Hours() / 24)
			d.Expiring = append(d.Expiring, row)
		}
	}
	states, err := h.cfg.Store.TargetStates(ctx)
	if err != nil {
		return nil, err
	}
	drift, err := h.cfg.Store.LatestDriftChecks(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Targets)) {
		t := doc.Targets[name]
		row := targetRow{Name: name, Driver: t.Driver, Model: t.Model, Roles: t.Roles, Push: t.Push}
		if c, ok := drift[name]; ok {
			row.Drift = &c
		}
		for _, st := range states {
			if st.Target == name {
				at := st.AppliedAt
				row.LastApply, row.Hash = &at, st.Hash
			}
		}
		d.Targets = append(d.Targets, row)
	}
	if h.cfg.Quarantines != nil {
		q, err := h.quarantineData(ctx)
		if err != nil {
			return nil, err
		}
		d.Active, d.Waiting, d.Held = len(q.Active), len(q.Waiting), len(q.Held)
	}
	if d.Audit, err = h.audit.status(ctx, h.cfg.Store, h.cfg.Now()); err != nil {
		return nil, err
	}
	return d, nil
}

// auditRewalk bounds how long the dashboard trusts its last walk of the
// audit chain: an event rewritten behind the head (its hash left as it
// was) is reported within this time.
const auditRewalk = 5 * time.Minute

// auditMemo remembers the dashboard's last intact walk of the audit chain,
// so a load walks only the events written since (store.VerifyAuditAfter:
// an auditor's every read writes one), after checking the remembered head
// is unchanged — a changed head walks the whole chain. Every auditRewalk
// the whole chain is walked again, which is what finds an event rewritten
// behind the head; a broken chain is never remembered.
type auditMemo struct {
	mu     sync.Mutex
	last   *store.AuditReport // the last intact report; nil: none yet
	walked time.Time          // when the last whole walk ran
}

func (m *auditMemo) status(ctx context.Context, st *store.Store, now time.Time) (auditStatus, error) {
	// One walk at a time: loads that arrive during a walk use its result.
	m.mu.Lock()
	defer m.mu.Unlock()
	var rep *store.AuditReport
	var err error
	if m.last != nil && now.Sub(m.walked) < auditRewalk {
		// Only the events written since (an auditor's every page load
		// writes one), after checking the old head is unchanged.
		rep, err = st.VerifyAuditAfter(ctx, m.last)
	} else {
		rep, err = st.VerifyAuditLog(ctx, nil)
		m.walked = now
	}
	m.last = nil
	if err != nil {
		return auditStatus{}, err
	}
	if rep.Break != nil {
		return auditStatus{Events: rep.Checked, Problem: rep.Break.Error()}, nil
	}
	m.last = rep
	return auditStatus{Events: rep.Checked, Intact: true}, nil
}

// zonesData is the zones page's view-model: the report's zones.
type zonesData struct {
	Banner banner
	Zones  []zoneRow
}

// zoneRowOfReport is a zone of the report as a table row.
func zoneRowOfReport(z report.Zone) zoneRow {
	row := zoneRow{Name: z.Name, Description: z.Description, Criticality: z.Criticality, Enforcement: z.Enforcement, Subnets: z.Subnets, Devices: z.Devices, VLAN: "—"}
	if z.VLAN != nil {
		row.VLAN = strconv.Itoa(*z.VLAN)
	}
	return row
}

func (h *Handler) zones(w http.ResponseWriter, r *http.Request, s *session) {
	h.withEvidence(w, r, s, func(ev *evidence) {
		d := zonesData{Banner: ev.banner()}
		for _, z := range ev.rep.Zones {
			d.Zones = append(d.Zones, zoneRowOfReport(z))
		}
		h.render(w, r, http.StatusOK, "zones", page{Title: "Zones", Nav: "zones", Session: s.viewer(), CSRF: s.csrf, AsOf: ev.asOf, Data: d})
	})
}

// policyWhen names the policy a page shows, in words.
func policyWhen(ev *evidence) string {
	if ev.asOf == "" {
		return "in force"
	}
	return "enforced as of " + ev.asOf
}

// flowsData is the flows page's view-model: the report's flow register,
// all of it or the flows behind one matrix cell (?from=A&to=B).
type flowsData struct {
	Banner   banner
	From, To string
	Flows    []flowRow
}

// flowRowOfReport is a flow of the report's register as a table row.
func flowRowOfReport(f report.Flow, asOf string) flowRow {
	refsOf := func(keys []string) []ref {
		out := []ref{}
		for _, k := range keys {
			if n, ok := strings.CutPrefix(k, "network:"); ok {
				out = append(out, ref{Kind: "network", Name: n, AsOf: asOf})
			} else {
				out = append(out, ref{Kind: "zone", Name: k, AsOf: asOf})
			}
		}
		return out
	}
	return flowRow{Name: f.Name, Description: f.Description, Reason: f.Reason, Ticket: f.Ticket, Expires: f.Expires,
		From: refsOf(f.From), To: refsOf(f.To), Services: f.Services, Essential: f.Essential, InForce: f.InForce, AsOf: asOf}
}

func (h *Handler) flows(w http.ResponseWriter, r *http.Request, s *session) {
	h.withEvidence(w, r, s, func(ev *evidence) {
		q := r.URL.Query()
		d := flowsData{Banner: ev.banner(), From: q.Get("from"), To: q.Get("to")}
		var only map[string]bool
		if d.From != "" || d.To != "" {
			// The flows behind the report's matrix cell(s).
			only = map[string]bool{}
			for _, c := range ev.rep.Matrix {
				if (d.From == "" || c.From == d.From) && (d.To == "" || c.To == d.To) {
					for _, f := range c.Flows {
						only[f] = true
					}
				}
			}
		}
		for _, f := range ev.rep.Flows {
			if only == nil || only[f.Name] {
				d.Flows = append(d.Flows, flowRowOfReport(f, ev.asOf))
			}
		}
		h.render(w, r, http.StatusOK, "flows", page{Title: "Flows", Nav: "flows", Session: s.viewer(), CSRF: s.csrf, AsOf: ev.asOf, Data: d})
	})
}
