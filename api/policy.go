package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// PolicyInfo identifies the policy in force.
type PolicyInfo struct {
	Hash      string    `json:"hash"`
	Dir       string    `json:"dir"`
	GitCommit string    `json:"git_commit"`
	LoadedAt  time.Time `json:"loaded_at"`
	Zones     int       `json:"zones"`
	Flows     int       `json:"flows"`
	Targets   int       `json:"targets"`
}

func (s *Server) policyInfo(p *inforce.Policy) PolicyInfo {
	return PolicyInfo{Hash: p.Hash, Dir: s.cfg.PolicyDir, GitCommit: policy.GitCommit(s.cfg.PolicyDir), LoadedAt: p.LoadedAt,
		Zones: len(p.Doc.Zones), Flows: len(p.Doc.Flows), Targets: len(p.Doc.Targets)}
}

// policyOrFail returns the policy in force, or answers 503.
func (s *Server) policyOrFail(c *gin.Context) (*inforce.Policy, bool) {
	p := s.inForce()
	if p == nil {
		fail(c, http.StatusServiceUnavailable, "no_policy", "Ward was started without a policy", "")
		return nil, false
	}
	return p, true
}

func (s *Server) getPolicy(c *gin.Context) {
	p, ok := s.policyOrFail(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, s.policyInfo(p))
}

// ErrPolicyInvalid is returned by ReloadPolicy for a policy with errors.
var ErrPolicyInvalid = inforce.ErrInvalid

// ReloadPolicy reads the policy from its directory again and puts it in
// force — for plans, the effective policy and quarantine, which all read
// the one holder — if it is valid and the holder's checks (the quarantine
// decision compiles) accept it. On any error the policy in force stays.
func (s *Server) ReloadPolicy(ctx context.Context, actor string) (PolicyInfo, hcl.Diagnostics, error) {
	if s.cfg.Policy == nil {
		return PolicyInfo{}, nil, errors.New("this server cannot reload its policy: it was started without one")
	}
	old := s.inForce()
	_, diags, err := s.cfg.Policy.Reload(ctx)
	if err != nil {
		return PolicyInfo{}, diags, err
	}
	p := s.inForce()
	detail := map[string]any{"hash": p.Hash}
	if old != nil {
		detail["previous_hash"] = old.Hash
	}
	if _, err := s.cfg.Store.AppendAudit(ctx, store.AuditEntry{Actor: actor, Action: "policy.reload", Object: s.cfg.PolicyDir, Detail: detail}); err != nil {
		return s.policyInfo(p), diags, &reloadedError{err}
	}
	return s.policyInfo(p), diags, nil
}

// reloadedError is a reload that put the policy in force but could not
// write the audit log.
type reloadedError struct{ err error }

func (e *reloadedError) Error() string {
	return "the policy was reloaded and is in force, but the audit log could not record it: " + e.err.Error()
}

func (s *Server) reloadPolicy(c *gin.Context) {
	info, diags, err := s.ReloadPolicy(c.Request.Context(), actorOf(c))
	var reloaded *reloadedError
	if errors.As(err, &reloaded) {
		s.internal(c, "recording the reload", reloaded)
		return
	}
	if errors.Is(err, ErrPolicyInvalid) {
		var problems []Problem
		for _, d := range diags {
			if d.Severity != hcl.DiagError {
				continue
			}
			p := Problem{Message: d.Summary}
			if d.Detail != "" {
				p.Message += ": " + d.Detail
			}
			if d.Subject != nil {
				p.File, p.Line = d.Subject.Filename, d.Subject.Start.Line
			}
			problems = append(problems, p)
		}
		failProblems(c, http.StatusUnprocessableEntity, "invalid_policy", fmt.Sprintf("the policy in %s has %d error(s); the policy in force is unchanged (ward validate shows them)", s.cfg.PolicyDir, len(problems)), "", problems)
		return
	}
	if err != nil {
		fail(c, http.StatusUnprocessableEntity, "reload_failed", err.Error()+"; the policy in force is unchanged", "")
		return
	}
	c.JSON(http.StatusOK, info)
}

// view is the policy in force evaluated against the stored inventory.
type view struct {
	ev      *inforce.Evaluation
	pol     *inforce.Policy
	eng     *engine.Engine
	res     *engine.Result
	devices int
}

// currentView returns the evaluation of the policy in force against the
// inventory, made again when either changed: the policy holder's one
// evaluation (inforce.Holder.Evaluate), which the web UI reads too. The
// caller holds s.viewMu while it uses the view's engine.
func (s *Server) currentView(ctx context.Context) (*view, error) {
	if s.inForce() == nil {
		return nil, errors.New("Ward was started without a policy")
	}
	ev, err := s.cfg.Policy.Evaluate(ctx, s.cfg.Store)
	if err != nil {
		return nil, err
	}
	if s.view != nil && s.view.ev == ev {
		return s.view, nil
	}
	s.view = &view{ev: ev, pol: ev.Policy, eng: ev.Engine, res: ev.Result, devices: len(ev.Devices)}
	return s.view, nil
}

// withView runs fn with the current view, or answers 500.
func (s *Server) withView(c *gin.Context, fn func(v *view)) {
	if _, ok := s.policyOrFail(c); !ok {
		return
	}
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	v, err := s.currentView(c.Request.Context())
	if err != nil {
		s.internal(c, "evaluating the policy", err)
		return
	}
	fn(v)
}

// Zone is a zone of the policy with the number of devices in it.
type Zone struct {
	Name string `json:"name"`
	policy.DocZone
	Devices int `json:"devices"`
}

// ZoneDetail is one zone with the flows into and out of it.
type ZoneDetail struct {
	Zone
	FlowsOut []string `json:"flows_out"`
	FlowsIn  []string `json:"flows_in"`
}

func zoneCounts(res *engine.Result) map[string]int {
	n := map[string]int{}
	for _, z := range res.Zone {
		n[z]++
	}
	return n
}

func (s *Server) listZones(c *gin.Context) {
	s.withView(c, func(v *view) {
		counts := zoneCounts(v.res)
		out := []Zone{}
		for _, name := range slices.Sorted(maps.Keys(v.pol.Doc.Zones)) {
			out = append(out, Zone{Name: name, DocZone: v.pol.Doc.Zones[name], Devices: counts[name]})
		}
		c.JSON(http.StatusOK, out)
	})
}

func (s *Server) getZone(c *gin.Context) {
	s.withView(c, func(v *view) {
		name := c.Param("name")
		z, ok := v.pol.Doc.Zones[name]
		if !ok {
			notFound(c, "zone", name, " in the policy (GET /api/v1/zones lists them)")
			return
		}
		d := ZoneDetail{Zone: Zone{Name: name, DocZone: z, Devices: zoneCounts(v.res)[name]}, FlowsOut: []string{}, FlowsIn: []string{}}
		for _, fname := range slices.Sorted(maps.Keys(v.pol.Doc.Flows)) {
			f := v.pol.Doc.Flows[fname]
			if refsName(f.From, "zone", name) {
				d.FlowsOut = append(d.FlowsOut, fname)
			}
			if refsName(f.To, "zone", name) {
				d.FlowsIn = append(d.FlowsIn, fname)
			}
		}
		c.JSON(http.StatusOK, d)
	})
}

func refsName(refs []policy.DocRef, kind, name string) bool {
	for _, r := range refs {
		if r.Kind == kind && r.Name == name {
			return true
		}
	}
	return false
}

// Flow is a flow of the policy; InForce is false when it has expired.
type Flow struct {
	Name string `json:"name"`
	policy.DocFlow
	InForce bool `json:"in_force"`
}

func (s *Server) flows(v *view) []Flow {
	out := []Flow{}
	for _, name := range slices.Sorted(maps.Keys(v.pol.Doc.Flows)) {
		_, inForce := v.res.Flows[name]
		out = append(out, Flow{Name: name, DocFlow: v.pol.Doc.Flows[name], InForce: inForce})
	}
	return out
}

func (s *Server) listFlows(c *gin.Context) {
	essential, ok := queryBool(c, "essential")
	if !ok {
		return
	}
	s.withView(c, func(v *view) {
		out := []Flow{}
		for _, f := range s.flows(v) {
			if !essential || f.Essential {
				out = append(out, f)
			}
		}
		c.JSON(http.StatusOK, out)
	})
}

func (s *Server) getFlow(c *gin.Context) {
	s.withView(c, func(v *view) {
		name := c.Param("name")
		for _, f := range s.flows(v) {
			if f.Name == name {
				c.JSON(http.StatusOK, f)
				return
			}
		}
		notFound(c, "flow", name, " in the policy (GET /api/v1/flows lists them)")
	})
}

// Cell is one entry of the zone x zone matrix: what From may open to To
// ("network:NAME" for a network), and the flows that allow it.
type Cell struct {
	From      string   `json:"from"`
	To        string   `json:"to"`
	Services  []string `json:"services"`
	Flows     []string `json:"flows"`
	Essential bool     `json:"essential"`
}

// Effective is the effective policy: the matrix of what each zone may open
// to each other zone or network, for the policy in force and the stored
// inventory.
type Effective struct {
	Policy        PolicyInfo          `json:"policy"`
	Devices       int                 `json:"devices"`
	DefaultAction string              `json:"default_action"`
	Matrix        []Cell              `json:"matrix"`
	Expired       []string            `json:"expired_flows"`
	Unplaced      []string            `json:"unplaced"`
	Conflicts     map[string][]string `json:"conflicts"`
}

// endpointKeys turns a flow's references into matrix keys.
func endpointKeys(refs []policy.DocRef) []string {
	var out []string
	for _, r := range refs {
		if r.Kind == "network" {
			out = append(out, "network:"+r.Name)
		} else {
			out = append(out, r.Name)
		}
	}
	return out
}

// cells builds the matrix, keeping the cells keep accepts.
func cells(v *view, keep func(from, to string) bool) []Cell {
	type pair struct{ from, to string }
	flowsOf := map[pair][]string{}
	essential := map[pair]bool{}
	for name, f := range v.res.Flows {
		for _, from := range endpointKeys(f.From) {
			for _, to := range endpointKeys(f.To) {
				p := pair{from, to}
				flowsOf[p] = append(flowsOf[p], name)
				essential[p] = essential[p] || f.Essential
			}
		}
	}
	out := []Cell{}
	for from, dsts := range v.res.Matrix {
		for to, svcs := range dsts {
			if !keep(from, to) {
				continue
			}
			p := pair{from, to}
			fl := append([]string{}, flowsOf[p]...)
			sort.Strings(fl)
			out = append(out, Cell{From: from, To: to, Services: append([]string{}, svcs...), Flows: fl, Essential: essential[p]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}

func (s *Server) effective(c *gin.Context) {
	s.withView(c, func(v *view) {
		e := Effective{Policy: s.policyInfo(v.pol), Devices: v.devices, DefaultAction: v.pol.Doc.Settings.DefaultAction,
			Matrix: cells(v, func(string, string) bool { return true }), Expired: append([]string{}, v.res.Expired...),
			Unplaced: append([]string{}, v.res.Unplaced...), Conflicts: map[string][]string{}}
		for d, zs := range v.res.Conflicts {
			e.Conflicts[d] = zs
		}
		sort.Strings(e.Expired)
		c.JSON(http.StatusOK, e)
	})
}

// DeviceEffective is the effective policy of one device: what its zone
// may open (Outbound) and what may open connections to it (Inbound).
type DeviceEffective struct {
	Device     string             `json:"device"`
	IP         string             `json:"ip"`
	Zone       string             `json:"zone"`
	Outbound   []Cell             `json:"outbound"`
	Inbound    []Cell             `json:"inbound"`
	Quarantine *quarantine.Listed `json:"quarantine"`
	// Note says what the lists mean for this device in words.
	Note string `json:"note"`
}

func (s *Server) deviceEffective(c *gin.Context) {
	row, ok := s.device(c)
	if !ok {
		return
	}
	q, err := s.activeQuarantine(c.Request.Context(), row)
	if err != nil {
		s.internal(c, "reading the device's quarantine", err)
		return
	}
	s.withView(c, func(v *view) {
		zone := v.res.Zone[row.Name]
		out := DeviceEffective{Device: row.Name, IP: row.IP, Zone: zone, Outbound: []Cell{}, Inbound: []Cell{}, Quarantine: q}
		switch {
		case row.RemovedAt != nil:
			out.Note = "the device is removed from the inventory; no rule covers it"
		case zone == "":
			out.Note = "the device has no zone (GET /api/v1/effective lists unplaced and conflicting devices); only the default action applies to it"
		default:
			out.Outbound = cells(v, func(from, _ string) bool { return from == zone })
			out.Inbound = cells(v, func(_, to string) bool { return to == zone })
			out.Note = fmt.Sprintf("traffic within zone %s is allowed; to and from other zones only what is listed (default action: %s)", zone, v.pol.Doc.Settings.DefaultAction)
		}
		if q != nil {
			out.Note += fmt.Sprintf("; quarantined (%s, #%d): the firewalls narrow this further", q.Level, q.ID)
		}
		c.JSON(http.StatusOK, out)
	})
}

// reach answers GET /api/v1/reach?from=A&to=B[&service=S], as ward query
// reach does.
func (s *Server) reach(c *gin.Context) {
	from, to := c.Query("from"), c.Query("to")
	for name, v := range map[string]string{"from": from, "to": to} {
		if strings.TrimSpace(v) == "" {
			fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("query parameter %s is required: a device, zone, network or IP address", name), name)
			return
		}
	}
	s.withView(c, func(v *view) {
		ans, err := v.eng.Reach(engine.ReachQuery{From: from, To: to, Service: c.Query("service")})
		if err != nil {
			fail(c, http.StatusBadRequest, "invalid_query", err.Error(), "")
			return
		}
		c.JSON(http.StatusOK, ans)
	})
}
