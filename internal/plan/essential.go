package plan

// The essential-flow guard by reachability. Comparing rules (intent.Diff's
// Essential) misses every change that leaves the rules alone: an inventory
// edit that re-zones a pump, a new address, a port moved to another VLAN, a
// firewall taken out of the policy. So the plan also asks, for every
// endpoint device of an essential flow, which (peer, service) pairs it
// reaches before the change and after it, and reports every pair it loses.
//
// How each part is judged (docs/plan-json.md says the same to users):
//
//   - Before is the last-applied intent of every target; after is the new
//     intent of every planned target and, with -target, the last-applied
//     intent of the targets not planned (they do not change). A target that
//     was applied and is no longer in the policy is removed: Ward stops
//     holding its configuration, so what it carried counts as lost unless
//     another target carries it.
//   - A pair is reachable in a state when some firewall of that state lets
//     the traffic of the service through on its own: a rule from a set
//     holding the source address to a set holding the destination address
//     for every port (or ICMP type) of the service, or a monitor set at
//     either end, or a default action of accept. Every firewall gets the
//     whole ruleset, and a packet crosses one of them, so one must allow it
//     all. Quarantine sets are left out: quarantine is the quarantine
//     manager's, not a plan's.
//   - After, a device whose access port was managed before must still be on
//     the same switch, port and VLAN: a VLAN or port move takes it out of
//     the network its flows were planned for (it must renumber and
//     reconnect), so all its pairs count as lost and a person must check.
//   - Devices are those of the current inventory, identified by name. After
//     uses the device's current address. Before uses the address the last
//     applied plan recorded for it (Plan.Endpoints), so an address change is
//     judged as what it is: the device reached its peers at the old address
//     under the old rules, and must reach them at the new one under the new
//     rules. A device that plan did not record was no endpoint of an
//     essential flow then and has nothing to lose. Without any recorded plan
//     (the first plan after upgrading Ward) before uses the current address.
//     A device removed from the inventory is gone, and neither loses nor is
//     lost.
//   - Peers are devices and networks ("network:NAME", judged by the
//     network's own set whatever its CIDRs).
//
// Devices with the same set membership in every firewall, before and
// after, and the same port verdict are one group: reachability is decided
// once per pair of groups and rule, so the work grows with the devices and
// the rules, not with their product. Only the list of losses grows with the
// product, and it is capped at maxLossListed.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
)

// EssentialLoss is one (device, peer, service) pair of an essential flow
// that the device reaches before the change and not after it.
type EssentialLoss struct {
	Device string `json:"device"`
	// Zone is the device's zone before the change.
	Zone string `json:"zone"`
	// Peer is a device name or "network:NAME".
	Peer    string `json:"peer"`
	Service string `json:"service"`
	// Direction is DirectionTo when the device opens the connection to the
	// peer, DirectionFrom when the peer opens it to the device.
	Direction string `json:"direction"`
	// Flow is the essential flow that carried the pair (the first by name
	// when several did).
	Flow string `json:"flow"`
	// Cause says what takes the pair away, for a person: "inventory: zone
	// infusion_pumps -> general_it", "vlan 210 -> 230 on access-sw port
	// Gi1/0/5", "policy: flow pumps_to_server removed", "target core-fw
	// removed"; several are joined with "; ".
	Cause string `json:"cause"`
}

// Directions of an essential loss.
const (
	DirectionTo   = "to"
	DirectionFrom = "from"
)

// maxLossListed bounds Plan.EssentialLoss: removing a flow between two
// zones of two thousand devices each loses four million pairs, which no
// person reads; Plan.EssentialLossTotal still counts them all.
const maxLossListed = 10000

// Endpoint is what a plan records about a device that is an endpoint of an
// essential flow once the plan is applied, so the next plan can judge it
// against what was enforced for it: its address and zone.
type Endpoint struct {
	IP   netip.Addr `json:"ip"`
	Zone string     `json:"zone"`
}

// EssentialError is the refusal of a plan that loses something essential.
type EssentialError struct {
	// Losses are the lost pairs (at most maxLossListed), Total how many
	// there are; Changes the essential flows whose rules are removed,
	// narrowed or unmarked.
	Losses  []EssentialLoss
	Total   int
	Changes []intent.EssentialChange
	// NeedReason is set when -allow-essential-change was given without a
	// reason.
	NeedReason bool
}

func (e *EssentialError) Error() string {
	var b strings.Builder
	if e.NeedReason {
		b.WriteString("-allow-essential-change needs -reason TEXT: say who checked that patients are safe and why the change is needed (it is recorded in the audit log and the applied plan); ")
	}
	b.WriteString("this plan loses ")
	var parts []string
	if e.Total > 0 {
		parts = append(parts, fmt.Sprintf("%d essential device/peer/service pair(s)", e.Total))
	}
	if n := len(e.Changes); n > 0 {
		parts = append(parts, fmt.Sprintf("%d essential flow rule change(s)", n))
	}
	b.WriteString(strings.Join(parts, " and "))
	b.WriteString(": ")
	what := summariseLosses(e.Losses, 3)
	for i, c := range e.Changes {
		if i == 2 {
			what = append(what, fmt.Sprintf("and %d more essential flow rule change(s)", len(e.Changes)-2))
			break
		}
		what = append(what, c.Message)
	}
	b.WriteString(strings.Join(what, "; "))
	if !e.NeedReason {
		b.WriteString(". The plan lists every one at the top. If a person has checked that patients are safe, run again with -allow-essential-change -reason TEXT")
	}
	return b.String()
}

// summariseLosses says, for the first few devices, which services they
// lose with which peers, and why: "pump-01 (infusion_pumps) loses
// pump_telemetry with pumpsrv-01, pumpsrv-02 (vlan 210 -> 199 on ...)".
func summariseLosses(losses []EssentialLoss, devices int) []string {
	var out []string
	for i := 0; i < len(losses); {
		j := i
		for j < len(losses) && losses[j].Device == losses[i].Device {
			j++
		}
		if len(out) == devices {
			n := map[string]bool{}
			for _, l := range losses[i:] {
				n[l.Device] = true
			}
			out = append(out, fmt.Sprintf("and %d more device(s)", len(n)))
			break
		}
		peers := map[string][]string{}
		for _, l := range losses[i:j] {
			if !slices.Contains(peers[l.Service], l.Peer) {
				peers[l.Service] = append(peers[l.Service], l.Peer)
			}
		}
		var svcs []string
		for _, svc := range sortedNames(peers) {
			ps := peers[svc]
			if len(ps) > 6 {
				ps = append(ps[:6:6], fmt.Sprintf("%d more", len(ps)-6))
			}
			svcs = append(svcs, svc+" with "+strings.Join(ps, ", "))
		}
		out = append(out, fmt.Sprintf("%s (%s) loses %s (%s)", losses[i].Device, losses[i].Zone, strings.Join(svcs, "; "), losses[i].Cause))
		i = j
	}
	return out
}

// String is one lost pair for a person: "pump-01 -> pumpsrv-01 pump_telemetry
// (flow pumps_to_pump_servers): inventory: zone infusion_pumps -> unclassified".
func (l EssentialLoss) String() string {
	arrow := "->"
	if l.Direction == DirectionFrom {
		arrow = "<-"
	}
	return fmt.Sprintf("%s %s %s %s (flow %s): %s", l.Device, arrow, l.Peer, l.Service, l.Flow, l.Cause)
}

// CheckEssential is the essential gate every apply path calls: nil when the
// plan loses nothing essential (no lost pair, no essential rule change);
// otherwise an *EssentialError unless allow is set with a reason that is
// not blank.
func (p *Plan) CheckEssential(allow bool, reason string) error {
	if !p.LosesEssential() {
		return nil
	}
	if allow && strings.TrimSpace(reason) != "" {
		return nil
	}
	var changes []intent.EssentialChange
	if p.Changes != nil {
		changes = p.Changes.Essential
	}
	return &EssentialError{Losses: p.EssentialLoss, Total: max(p.EssentialLossTotal, len(p.EssentialLoss)), Changes: changes, NeedReason: allow}
}

// LosesEssential reports whether the plan loses anything essential: a
// device/peer/service pair, or an essential flow's rules (removed,
// narrowed or no longer essential). Applying such a plan needs a person's
// approval with a reason.
func (p *Plan) LosesEssential() bool {
	return p.EssentialLossTotal > 0 || len(p.EssentialLoss) > 0 || (p.Changes != nil && len(p.Changes.Essential) > 0)
}

// essentialInput is what the analysis compares.
type essentialInput struct {
	// Before is every target's last-applied intent; After what each
	// target's intent is once the plan is applied (removed targets absent).
	Before, After map[string]*intent.Target
	// Devices and Zones are the current inventory and placement.
	Devices map[string]inventory.Device
	Zones   map[string]string
	// Recorded is what the last applied plan recorded (nil: nothing
	// recorded, judge before by the current addresses).
	Recorded map[string]Endpoint
	// InventoryOnly says the policy did not change since the last applied
	// plan, so a zone change comes from the inventory.
	InventoryOnly bool
}

// essentialResult is what the analysis finds.
type essentialResult struct {
	Losses    []EssentialLoss
	Total     int
	Endpoints map[string]Endpoint
}

// analyseEssential fills in the plan's essential losses and endpoints from
// the store's last-applied states (as Build read them, once, for the
// plan's StateDigest) and the new intent.
func (p *Plan) analyseEssential(ctx context.Context, opts Options, in *intent.Intent, states map[string]AppliedState, devices map[string]inventory.Device, zones map[string]string) error {
	ei := essentialInput{Before: map[string]*intent.Target{}, After: map[string]*intent.Target{}, Devices: devices, Zones: zones}
	for name, s := range states {
		if s.Intent == nil {
			continue
		}
		ei.Before[name] = s.Intent
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, name) {
			ei.After[name] = s.Intent // not planned: stays as it is
		}
	}
	for name, t := range in.Targets {
		ei.After[name] = t
	}
	rec, err := lastRecorded(ctx, opts)
	if err != nil {
		return err
	}
	if rec != nil {
		ei.Recorded = rec.Endpoints
		if ei.Recorded == nil {
			ei.Recorded = map[string]Endpoint{}
		}
		ei.InventoryOnly = rec.Policy.Hash == p.Policy.Hash
	}
	r := essentialAnalysis(ei)
	p.EssentialLoss, p.EssentialLossTotal, p.Endpoints = r.Losses, r.Total, r.Endpoints
	return nil
}

// recordedPlan is the part of an applied plan the analysis reads.
type recordedPlan struct {
	Policy    PolicyRef           `json:"policy"`
	Endpoints map[string]Endpoint `json:"essential_endpoints"`
}

// lastRecorded reads the newest plan whose apply a target's last-applied
// state comes from; nil when none was applied or it recorded no
// endpoints (made by an older Ward).
func lastRecorded(ctx context.Context, opts Options) (*recordedPlan, error) {
	row, err := opts.Store.LastAppliedPlan(ctx)
	if err != nil || row == nil {
		return nil, err
	}
	// A stored plan is the plan's JSON, or a signed envelope holding it in
	// "plan" (sign.go); the signature is not checked here, since the
	// record only says at which address a device was judged before.
	var env struct {
		Plan json.RawMessage `json:"plan"`
	}
	content := []byte(row.Content)
	if json.Unmarshal(content, &env) == nil && len(env.Plan) > 0 {
		content = env.Plan
	}
	var rp recordedPlan
	if err := json.Unmarshal(content, &rp); err != nil {
		return nil, fmt.Errorf("the last applied plan (%d) is unreadable: %w; the essential-flow check compares with it", row.ID, err)
	}
	if rp.Endpoints == nil {
		return nil, nil
	}
	return &rp, nil
}

// Indexes of the two states.
const (
	before = 0
	after  = 1
)

// essentialAnalysis compares reachability before and after; see the top of
// this file.
func essentialAnalysis(in essentialInput) essentialResult {
	a := &analysis{in: in}
	a.states[before] = newReachState(in.Before)
	a.states[after] = newReachState(in.After)
	a.endpoints()
	a.group()
	lost := a.lost()
	return essentialResult{Losses: a.expand(lost), Total: a.total, Endpoints: a.record()}
}

type analysis struct {
	in     essentialInput
	states [2]*reachState
	eps    []endpoint
	groups []*group
	// bySet[state][firewall][set] are the groups with an address in set.
	bySet [2][][][]int
	// cands are the essential pairs of groups, by key.
	cands map[candKey]*candidate
	total int
}

// reachState is one side of the comparison: its firewalls (identical
// rulesets merged), its targets and the managed access ports.
type reachState struct {
	fws      []*fwView
	targets  map[string]bool
	switches map[string]bool
	ports    map[string]portAt // by device
}

type portAt struct {
	sw, port string
	vlan     int
}

type fwView struct {
	targets []string
	sets    []intent.AddressSet
	setIdx  map[string]int
	monitor []bool
	accept  bool
	rules   map[[2]int][]intent.Rule // by (from set, to set)
	ess     []intent.Rule
	flows   map[string]bool
}

func newReachState(targets map[string]*intent.Target) *reachState {
	s := &reachState{targets: map[string]bool{}, switches: map[string]bool{}, ports: map[string]portAt{}}
	seen := map[string]*fwView{}
	for _, name := range sortedNames(targets) {
		t := targets[name]
		s.targets[name] = true
		if t.Switch != nil {
			s.switches[name] = true
			for _, p := range t.Switch.Ports {
				s.ports[p.Device] = portAt{name, p.Port, p.VLAN}
			}
		}
		if t.Firewall == nil {
			continue
		}
		b, _ := json.Marshal(t.Firewall) // plain data: cannot fail
		if fw := seen[string(b)]; fw != nil {
			fw.targets = append(fw.targets, name)
			continue
		}
		fw := newFWView(t.Firewall)
		fw.targets = []string{name}
		seen[string(b)] = fw
		s.fws = append(s.fws, fw)
	}
	return s
}

func newFWView(f *intent.Firewall) *fwView {
	fw := &fwView{sets: f.Sets, setIdx: map[string]int{}, monitor: make([]bool, len(f.Sets)),
		accept: f.DefaultAction == "accept", rules: map[[2]int][]intent.Rule{}, flows: map[string]bool{}}
	for i, s := range f.Sets {
		fw.setIdx[s.Name] = i
	}
	for _, m := range f.Monitor {
		if i, ok := fw.setIdx[m]; ok {
			fw.monitor[i] = true
		}
	}
	for _, r := range f.Rules {
		from, ok1 := fw.setIdx[r.From]
		to, ok2 := fw.setIdx[r.To]
		if !ok1 || !ok2 {
			continue // a rule naming no set matches no address
		}
		k := [2]int{from, to}
		fw.rules[k] = append(fw.rules[k], r)
		fw.flows[r.Flow] = true
		if r.Essential {
			fw.ess = append(fw.ess, r)
		}
	}
	return fw
}

// members lists the sets holding a; sets' prefixes are sorted and disjoint.
func (fw *fwView) members(a netip.Addr) []int {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap().WithZone("")
	var out []int
	for i, s := range fw.sets {
		ps := s.V4
		if a.Is6() {
			ps = s.V6
		}
		j := sort.Search(len(ps), func(j int) bool { return ps[j].Addr().Compare(a) > 0 }) - 1
		if j >= 0 && ps[j].Contains(a) {
			out = append(out, i)
		}
	}
	return out
}

// zoneOf is the zone whose set holds a, or "".
func (fw *fwView) zoneOf(sets []int) string {
	for _, i := range sets {
		if fw.sets[i].Kind == "zone" {
			return fw.sets[i].Of
		}
	}
	return ""
}

// endpoint is a device, or a network as a peer.
type endpoint struct {
	name                  string
	network               bool
	addr                  [2]netip.Addr
	zone                  [2]string
	port                  [2]portAt
	hadPort, hasPort      bool
	moved                 bool
	group                 int
	causes                []string
	causesDone, addrMoved bool
}

// endpoints lists every current device and every network of either state.
func (a *analysis) endpoints() {
	for _, name := range sortedNames(a.in.Devices) {
		d := a.in.Devices[name]
		e := endpoint{name: name}
		e.addr[after], e.zone[after] = d.IP, a.in.Zones[name]
		switch r, ok := a.in.Recorded[name]; {
		case a.in.Recorded == nil:
			e.addr[before] = d.IP
		case ok:
			e.addr[before], e.zone[before] = r.IP, r.Zone
		}
		e.port[before], e.hadPort = a.states[before].ports[name]
		e.port[after], e.hasPort = a.states[after].ports[name]
		e.moved = e.hadPort && (!e.hasPort || e.port[before] != e.port[after])
		a.eps = append(a.eps, e)
	}
	nets := map[string]bool{}
	for _, s := range a.states {
		for _, fw := range s.fws {
			for _, set := range fw.sets {
				if set.Kind == "network" {
					nets[set.Of] = true
				}
			}
		}
	}
	for _, n := range sortedNames(nets) {
		a.eps = append(a.eps, endpoint{name: "network:" + n, network: true})
	}
}

type group struct {
	members []int
	sig     [2][][]int // by state, by firewall: the sets holding the members
	moved   bool
}

// group puts endpoints with the same membership and port verdict together.
func (a *analysis) group() {
	byKey := map[string]int{}
	var key []byte
	for i := range a.eps {
		e := &a.eps[i]
		var sig [2][][]int
		key = key[:0]
		for s, st := range a.states {
			sig[s] = make([][]int, len(st.fws))
			for f, fw := range st.fws {
				if e.network {
					sig[s][f] = networkSet(fw, strings.TrimPrefix(e.name, "network:"))
				} else {
					sig[s][f] = fw.members(e.addr[s])
					if s == before && e.zone[before] == "" && a.in.Recorded == nil {
						e.zone[before] = fw.zoneOf(sig[s][f])
					}
				}
				for _, j := range sig[s][f] {
					key = strconv.AppendInt(key, int64(j), 10)
					key = append(key, ',')
				}
				key = append(key, ';')
			}
			key = append(key, '|')
		}
		if e.moved {
			key = append(key, 'm')
		}
		if e.network {
			key = append(key, 'n') // a network is never grouped with devices
		}
		g, ok := byKey[string(key)]
		if !ok {
			g = len(a.groups)
			byKey[string(key)] = g
			a.groups = append(a.groups, &group{sig: sig, moved: e.moved})
		}
		a.groups[g].members = append(a.groups[g].members, i)
		e.group = g
	}
	for s, st := range a.states {
		a.bySet[s] = make([][][]int, len(st.fws))
		for f, fw := range st.fws {
			a.bySet[s][f] = make([][]int, len(fw.sets))
			for g, gr := range a.groups {
				for _, j := range gr.sig[s][f] {
					a.bySet[s][f][j] = append(a.bySet[s][f][j], g)
				}
			}
		}
	}
}

// networkSet finds a network's set by kind and name, whatever it is called.
func networkSet(fw *fwView, name string) []int {
	for j, s := range fw.sets {
		if s.Kind == "network" && s.Of == name {
			return []int{j}
		}
	}
	return nil
}

// traffic is what a rule carries: a protocol and its ports or ICMP types
// (none: every port, every type).
type traffic struct {
	proto string
	ports []intent.Ports
	types []string
}

func (t traffic) key() string {
	var b strings.Builder
	b.WriteString(t.proto)
	for _, p := range t.ports {
		fmt.Fprintf(&b, ",%d-%d", p.From, p.To)
	}
	b.WriteByte('/')
	b.WriteString(strings.Join(t.types, ","))
	return b.String()
}

type candKey struct {
	src, dst         int // groups
	service, traffic string
}

type candidate struct {
	t     traffic
	flows []string
}

// lost returns the (source group, destination group, service) triples that
// lose some traffic of an essential rule, with the flows that carried it.
func (a *analysis) lost() map[lostKey][]string {
	a.cands = map[candKey]*candidate{}
	for s, st := range a.states {
		for f, fw := range st.fws {
			for _, r := range fw.ess {
				srcs := a.bySet[s][f][fw.setIdx[r.From]]
				dsts := a.bySet[s][f][fw.setIdx[r.To]]
				t := traffic{r.Proto, r.Ports, r.ICMPTypes}
				tk := t.key()
				for _, g := range srcs {
					for _, h := range dsts {
						k := candKey{g, h, r.Service, tk}
						c := a.cands[k]
						if c == nil {
							c = &candidate{t: t}
							a.cands[k] = c
						}
						if !slices.Contains(c.flows, r.Flow) {
							c.flows = append(c.flows, r.Flow)
						}
					}
				}
			}
		}
	}
	out := map[lostKey][]string{}
	for k, c := range a.cands {
		g, h := a.groups[k.src], a.groups[k.dst]
		if !a.allowed(before, g, h, c.t) {
			continue
		}
		if !g.moved && !h.moved && a.allowed(after, g, h, c.t) {
			continue
		}
		lk := lostKey{k.src, k.dst, k.service}
		for _, f := range c.flows {
			if !slices.Contains(out[lk], f) {
				out[lk] = append(out[lk], f)
			}
		}
	}
	return out
}

type lostKey struct {
	src, dst int
	service  string
}

// allowed reports whether some firewall of state s lets t from g to h.
func (a *analysis) allowed(s int, g, h *group, t traffic) bool {
	for f := range a.states[s].fws {
		if a.allowedBy(s, f, g, h, t) {
			return true
		}
	}
	return false
}

func (a *analysis) allowedBy(s, f int, g, h *group, t traffic) bool {
	fw := a.states[s].fws[f]
	from, to := g.sig[s][f], h.sig[s][f]
	if len(from) == 0 || len(to) == 0 {
		return fw.accept
	}
	if fw.accept {
		return true
	}
	for _, j := range from {
		if fw.monitor[j] {
			return true
		}
	}
	for _, j := range to {
		if fw.monitor[j] {
			return true
		}
	}
	var have []intent.Rule
	for _, x := range from {
		for _, y := range to {
			for _, r := range fw.rules[[2]int{x, y}] {
				if r.Proto == t.proto {
					have = append(have, r)
				}
			}
		}
	}
	return covers(have, t)
}

// covers reports whether rules of t's protocol together allow all of t.
func covers(rules []intent.Rule, t traffic) bool {
	if len(rules) == 0 {
		return false
	}
	if t.proto == "icmp" || t.proto == "icmpv6" {
		var types []string
		for _, r := range rules {
			if len(r.ICMPTypes) == 0 {
				return true
			}
			types = append(types, r.ICMPTypes...)
		}
		if len(t.types) == 0 {
			return false
		}
		for _, ty := range t.types {
			if !slices.Contains(types, ty) {
				return false
			}
		}
		return true
	}
	var have []intent.Ports
	for _, r := range rules {
		if len(r.Ports) == 0 {
			return true
		}
		have = append(have, r.Ports...)
	}
	want := t.ports
	if len(want) == 0 {
		want = []intent.Ports{{From: 1, To: 65535}}
	}
	slices.SortFunc(have, func(x, y intent.Ports) int { return cmp.Compare(x.From, y.From) })
	for _, w := range want {
		next := w.From
		for _, r := range have {
			if r.From > next {
				break
			}
			next = max(next, r.To+1)
		}
		if next <= w.To {
			return false
		}
	}
	return true
}

// expand turns lost group pairs into lost device pairs, each named once
// from the side whose change took it away, counting them all and listing
// at most maxLossListed.
func (a *analysis) expand(lost map[lostKey][]string) []EssentialLoss {
	keys := make([]lostKey, 0, len(lost))
	for k := range lost {
		keys = append(keys, k)
	}
	first := func(g int) string { return a.eps[a.groups[g].members[0]].name }
	slices.SortFunc(keys, func(x, y lostKey) int {
		return cmp.Or(cmp.Compare(first(x.src), first(y.src)), cmp.Compare(first(x.dst), first(y.dst)), cmp.Compare(x.service, y.service))
	})
	out := []EssentialLoss{}
	for _, k := range keys {
		flows := lost[k]
		slices.Sort(flows)
		for _, i := range a.groups[k.src].members {
			for _, j := range a.groups[k.dst].members {
				src, dst := &a.eps[i], &a.eps[j]
				if i == j || (src.network && dst.network) {
					continue
				}
				a.total++
				if len(out) < maxLossListed {
					out = append(out, a.loss(src, dst, k.service, flows))
				}
			}
		}
	}
	slices.SortFunc(out, func(x, y EssentialLoss) int {
		return cmp.Or(cmp.Compare(x.Device, y.Device), cmp.Compare(x.Peer, y.Peer), cmp.Compare(x.Service, y.Service), cmp.Compare(x.Direction, y.Direction))
	})
	return out
}

// loss names a lost pair from src to dst: from the device whose own change
// took it away (the source unless only the destination changed).
func (a *analysis) loss(src, dst *endpoint, service string, flows []string) EssentialLoss {
	dev, peer, dir := src, dst, DirectionTo
	if src.network || (!dst.network && len(a.causesOf(dst)) > 0 && len(a.causesOf(src)) == 0) {
		dev, peer, dir = dst, src, DirectionFrom
	}
	l := EssentialLoss{Device: dev.name, Zone: dev.zone[before], Peer: peer.name, Service: service, Direction: dir, Flow: flows[0]}
	causes := slices.Clone(a.causesOf(dev))
	for _, c := range a.causesOf(peer) {
		causes = append(causes, "peer "+peer.name+": "+c)
	}
	causes = append(causes, a.removedTargets(src, dst, flows)...)
	for _, f := range flows {
		switch {
		case !a.flowAfter(f):
			causes = append(causes, "policy: flow "+f+" removed")
		case len(causes) == 0:
			causes = append(causes, "policy: flow "+f+" no longer allows it (its rules or address sets changed)")
		}
	}
	l.Cause = strings.Join(causes, "; ")
	return l
}

// causesOf is what changed about one endpoint itself.
func (a *analysis) causesOf(e *endpoint) []string {
	if e.causesDone || e.network {
		return e.causes
	}
	e.causesDone = true
	if e.moved {
		b, n := e.port[before], e.port[after]
		switch {
		case !e.hasPort && !a.states[after].switches[b.sw] && !a.states[after].targets[b.sw]:
			e.causes = append(e.causes, fmt.Sprintf("target %s removed: Ward no longer holds port %s on vlan %d", b.sw, b.port, b.vlan))
		case !e.hasPort:
			e.causes = append(e.causes, fmt.Sprintf("port %s on %s (vlan %d) is no longer set by Ward: the device has no managed port or its zone no vlan", b.port, b.sw, b.vlan))
		case b.sw == n.sw && b.port == n.port:
			e.causes = append(e.causes, fmt.Sprintf("vlan %d -> %d on %s port %s", b.vlan, n.vlan, b.sw, b.port))
		default:
			e.causes = append(e.causes, fmt.Sprintf("port %s %s (vlan %d) -> %s %s (vlan %d)", b.sw, b.port, b.vlan, n.sw, n.port, n.vlan))
		}
	}
	src := ""
	if a.in.InventoryOnly {
		src = "inventory: "
	}
	if zb, za := e.zone[before], e.zone[after]; zb != "" && zb != za {
		e.causes = append(e.causes, fmt.Sprintf("%szone %s -> %s", src, zb, cmp.Or(za, "(none)")))
	}
	if ab, aa := e.addr[before], e.addr[after]; ab.IsValid() && ab != aa {
		to := "(none)"
		if aa.IsValid() {
			to = aa.String()
		}
		e.causes = append(e.causes, fmt.Sprintf("inventory: address %s -> %s", ab, to))
	}
	return e.causes
}

// removedTargets names the firewalls that allowed the pair before and are
// no longer targets.
func (a *analysis) removedTargets(src, dst *endpoint, flows []string) []string {
	g, h := a.groups[src.group], a.groups[dst.group]
	var out []string
	for f, fw := range a.states[before].fws {
		allowed := false
		for _, r := range fw.ess {
			if slices.Contains(flows, r.Flow) && a.allowedBy(before, f, g, h, traffic{r.Proto, r.Ports, r.ICMPTypes}) {
				allowed = true
				break
			}
		}
		if !allowed {
			continue
		}
		for _, t := range fw.targets {
			if !a.states[after].targets[t] {
				out = append(out, "target "+t+" removed")
			}
		}
	}
	return out
}

// flowAfter reports whether flow has a rule on some firewall after.
func (a *analysis) flowAfter(flow string) bool {
	for _, fw := range a.states[after].fws {
		if fw.flows[flow] {
			return true
		}
	}
	return false
}

// record is what this plan records for the next one: every device that is
// an endpoint of an essential rule after the change.
func (a *analysis) record() map[string]Endpoint {
	out := map[string]Endpoint{}
	ends := make([]bool, len(a.groups))
	for f, fw := range a.states[after].fws {
		for _, r := range fw.ess {
			for _, j := range []int{fw.setIdx[r.From], fw.setIdx[r.To]} {
				for _, g := range a.bySet[after][f][j] {
					ends[g] = true
				}
			}
		}
	}
	for g, end := range ends {
		if !end {
			continue
		}
		for _, i := range a.groups[g].members {
			if e := &a.eps[i]; !e.network {
				out[e.name] = Endpoint{IP: e.addr[after], Zone: e.zone[after]}
			}
		}
	}
	return out
}

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
