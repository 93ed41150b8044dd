package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// ReachQuery asks whether From may open connections to To. From and To are
// each a device name, a zone name, a network name or an IP address; a name
// used by more than one kind is written kind:NAME (device:guest, zone:guest,
// network:guest). Service is "" for any service, a service of the policy
// (https), or PORT/PROTO: 443/tcp, 5000-5099/tcp, 53/udp, icmp, icmpv6,
// echo-request/icmp.
type ReachQuery struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Service string `json:"service,omitempty"`
}

// ReachAnswer is what the effective policy says about a ReachQuery.
type ReachAnswer struct {
	Allowed bool `json:"allowed"`
	// Monitor is set on a denial when the source or destination zone has
	// enforcement = "monitor": the firewall logs the traffic and lets it pass.
	Monitor bool             `json:"monitor"`
	From    ResolvedEndpoint `json:"from"`
	To      ResolvedEndpoint `json:"to"`
	// Service is the service asked about, normalised ("443/tcp"); "" for any.
	Service string `json:"service"`
	// Flows are the flows in force that allow the traffic, by name; empty
	// when it is denied, or allowed for another reason (same zone, default
	// action).
	Flows []AllowingFlow `json:"flows"`
	// Expired are flows that would allow the traffic had they not expired.
	Expired []AllowingFlow `json:"expired,omitempty"`
	// Reason is one sentence a ticket can quote.
	Reason string `json:"reason"`
}

// Endpoint kinds.
const (
	EndpointDevice  = "device"
	EndpointZone    = "zone"
	EndpointIP      = "ip"
	EndpointNetwork = "network"
)

// ResolvedEndpoint is what FROM or TO turned out to be.
type ResolvedEndpoint struct {
	Kind string `json:"kind"` // EndpointDevice, EndpointZone, EndpointIP or EndpointNetwork
	// Name is the device, zone or network name; the address for an ip.
	Name string `json:"name"`
	// Zone is the device's zone, the zone itself, or the zone whose subnets
	// hold the address; "" when there is none.
	Zone string     `json:"zone,omitempty"`
	IP   netip.Addr `json:"ip,omitzero"`
	// Networks are the policy networks the endpoint counts as: for an
	// address outside every zone, those whose CIDRs contain it; for a
	// network, itself and those whose CIDRs cover all of its own.
	Networks []string `json:"networks,omitempty"`
	// NoZone says why a device has no zone.
	NoZone string `json:"no_zone,omitempty"`
}

// AllowingFlow is a flow that allows (or, expired, would allow) the traffic.
type AllowingFlow struct {
	Name string `json:"name"`
	// From and To are the flow's references that matched: zone.X, network.X.
	From string `json:"from"`
	To   string `json:"to"`
	// Services are the flow's services that carry the traffic asked about
	// (all of them when any service was asked about).
	Services   []string `json:"services"`
	Essential  bool     `json:"essential"`
	Reason     string   `json:"reason"`
	Ticket     string   `json:"ticket,omitempty"`
	DeclaredAt string   `json:"declared_at"` // file:line
	Expires    string   `json:"expires,omitempty"`
}

// Reach answers whether the effective policy of the last Evaluate lets From
// open connections to To, and why, in these steps:
//
//   - A device stands for its zone (from the last Evaluate) and its address.
//     A zone stands for itself. An address that is a device's is that
//     device; otherwise it stands for the zone whose subnets hold it (the
//     most specific subnet when zones nest), and failing that for every
//     policy network whose CIDRs contain it. A network stands for itself and
//     for every network whose CIDRs cover all of its own.
//   - Zones come before networks: networks are addresses outside the
//     inventory, so a device, or an address inside a zone's subnets, is
//     matched by its zone only, even when a network such as 0.0.0.0/0 also
//     contains it.
//   - Both ends in the same zone: allowed, whatever the service; traffic
//     inside a zone does not cross the firewall.
//   - Otherwise only flows in force count (Result.Flows; expired ones are
//     named in Reason when they would have allowed it). A flow matches when
//     one of its from references is the source's zone or one of its
//     networks, and one of its to references likewise the destination's.
//   - The service: any matching flow allows "any service". A named service
//     or PORT/PROTO is allowed when the services of the matching flows
//     together carry every port and ICMP type it has, whatever their names
//     (pump_telemetry on 443/tcp carries https). Bare icmp or icmpv6 asks
//     for any ICMP type.
//   - No flow allows it: denied, unless settings.default_action is "allow".
//     A denial touching a zone with enforcement = "monitor" sets Monitor:
//     logged, not dropped.
//
// Unknown names, ambiguous names and unparseable services are errors that
// say what FROM, TO and SERVICE may be. Reach reads indexes built once per
// Evaluate, so one call costs microseconds on 100,000 devices.
func (e *Engine) Reach(q ReachQuery) (*ReachAnswer, error) {
	if e.state == nil {
		return nil, errors.New("reach query before Evaluate: evaluate the policy first")
	}
	ix := e.reachIndex()
	from, fk, err := e.resolveEndpoint(ix, "FROM", q.From)
	if err != nil {
		return nil, err
	}
	to, tk, err := e.resolveEndpoint(ix, "TO", q.To)
	if err != nil {
		return nil, err
	}
	need, err := e.parseServiceSpec(q.Service)
	if err != nil {
		return nil, err
	}
	a := &ReachAnswer{From: from, To: to, Service: need.label, Flows: []AllowingFlow{}}
	if from.Zone != "" && from.Zone == to.Zone {
		a.Allowed = true
		a.Reason = fmt.Sprintf("allowed: same zone (%q); traffic within a zone does not cross the firewall", from.Zone)
		return a, nil
	}

	var denial string
	var g grant
	switch {
	case fk.none():
		denial = noKeysReason(from)
	case tk.none():
		denial = noKeysReason(to)
	default:
		denial = e.judgeFlows(ix, a, fk, tk, need, &g)
		if a.Allowed {
			return a, nil
		}
	}
	if e.cfg.Settings != nil && e.cfg.Settings.DefaultAction == "allow" {
		a.Allowed = true
		a.Reason = fmt.Sprintf("allowed by default_action %q (%s)", "allow", denial)
		return a, nil
	}
	parts := []string{denial}
	if !fk.none() && !tk.none() {
		for _, f := range ix.expired {
			fromRef, ok1 := fk.match(f.doc.From)
			toRef, ok2 := tk.match(f.doc.To)
			if !ok1 || !ok2 {
				continue
			}
			with := g.clone()
			for _, s := range f.services {
				with.add(s)
			}
			if len(need.missing(&with)) == 0 {
				a.Expired = append(a.Expired, f.allowing(fromRef, toRef, need))
				parts = append(parts, fmt.Sprintf("flow %q would allow it but expired on %s", f.name, f.doc.Expires))
			}
		}
	}
	for _, z := range uniq(from.Zone, to.Zone) {
		if zc := e.cfg.Zones[z]; zc != nil && zc.Enforcement == "monitor" {
			a.Monitor = true
			parts = append(parts, fmt.Sprintf("zone %q is in monitor mode, so this traffic is logged, not dropped", z))
		}
	}
	a.Reason = "denied: " + strings.Join(parts, "; ")
	return a, nil
}

// judgeFlows looks for flows in force between the two ends that carry the
// service. It fills a when they allow it; otherwise it returns why not. g
// receives every port and type the matching flows carry.
func (e *Engine) judgeFlows(ix *reachIndex, a *ReachAnswer, fk, tk endpointKeys, need serviceSpec, g *grant) string {
	type hit struct {
		f              *reachFlow
		fromRef, toRef string
	}
	var hits []hit
	for _, i := range ix.candidates(fk) {
		f := &ix.flows[i]
		fromRef, _ := fk.match(f.doc.From)
		if toRef, ok := tk.match(f.doc.To); ok {
			hits = append(hits, hit{f, fromRef, toRef})
			for _, s := range f.services {
				g.add(s)
			}
		}
	}
	between := fmt.Sprintf("from %s to %s", describe(a.From), describe(a.To))
	if len(hits) == 0 {
		return "no flow " + between
	}
	missing := need.missing(g)
	if len(missing) > 0 {
		var offered []string
		for _, h := range hits {
			offered = append(offered, h.f.doc.Services...)
		}
		slices.Sort(offered)
		offered = slices.Compact(offered)
		not := need.label
		partial := slices.ContainsFunc(hits, func(h hit) bool { return slices.ContainsFunc(h.f.services, need.carries) })
		if partial && !need.anyICMP && !need.anyICMPv6 {
			not = fmt.Sprintf("all of %s (%s not allowed)", need.label, strings.Join(missing, ", "))
		}
		if len(hits) == 1 {
			return fmt.Sprintf("flow %q %s allows only %s — not %s", hits[0].f.name, between, strings.Join(offered, ", "), not)
		}
		return fmt.Sprintf("flows %s allow only %s — not %s", between, strings.Join(offered, ", "), not)
	}

	a.Allowed = true
	var names, used []string
	for _, h := range hits {
		af := h.f.allowing(h.fromRef, h.toRef, need)
		if len(af.Services) == 0 {
			continue // matches the ends, but carries none of the service
		}
		a.Flows = append(a.Flows, af)
		names = append(names, fmt.Sprintf("%q (%s)", af.Name, af.DeclaredAt))
		used = append(used, af.Services...)
	}
	slices.Sort(used)
	used = slices.Compact(used)
	what := strings.Join(used, ", ")
	if need.label != "" {
		what = need.label
		if len(used) != 1 || used[0] != need.label {
			what += " (service " + strings.Join(used, ", ") + ")"
		}
	}
	if len(names) == 1 {
		a.Reason = fmt.Sprintf("allowed: flow %s lets %s reach %s on %s", names[0], describe(a.From), describe(a.To), what)
	} else {
		a.Reason = fmt.Sprintf("allowed: flows %s let %s reach %s on %s", strings.Join(names, ", "), describe(a.From), describe(a.To), what)
	}
	return ""
}

// describe names an endpoint the way flows see it.
func describe(ep ResolvedEndpoint) string {
	switch {
	case ep.Zone != "":
		return fmt.Sprintf("zone %q", ep.Zone)
	case ep.Kind == EndpointNetwork:
		return fmt.Sprintf("network %q", ep.Name)
	case ep.Kind == EndpointDevice:
		return fmt.Sprintf("device %q (no zone)", ep.Name)
	case len(ep.Networks) == 1:
		return fmt.Sprintf("%s (network %q)", ep.Name, ep.Networks[0])
	case len(ep.Networks) > 1:
		return fmt.Sprintf("%s (networks %s)", ep.Name, quoteAll(ep.Networks))
	}
	return ep.Name + " (in no zone or network)"
}

// noKeysReason explains an end no flow can match.
func noKeysReason(ep ResolvedEndpoint) string {
	if ep.Kind == EndpointDevice {
		return fmt.Sprintf("device %q has no zone (%s), so no flow applies to it", ep.Name, ep.NoZone)
	}
	return fmt.Sprintf("%s is in no zone's subnets and no network of the policy, so no flow applies to it", ep.Name)
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func uniq(a, b string) []string {
	switch {
	case a == "" && b == "":
		return nil
	case a == "" || a == b:
		return []string{b}
	case b == "":
		return []string{a}
	}
	return []string{a, b}
}

// endpointKeys is what a flow reference may match of an endpoint.
type endpointKeys struct {
	zone string
	nets []string // sorted
}

func (k endpointKeys) none() bool { return k.zone == "" && len(k.nets) == 0 }

// match returns the first reference (in the flow's order) that matches.
func (k endpointKeys) match(refs []policy.DocRef) (string, bool) {
	for _, r := range refs {
		switch {
		case r.Kind == string(policy.RefZone) && r.Name == k.zone && k.zone != "":
			return "zone." + r.Name, true
		case r.Kind == string(policy.RefNetwork):
			if _, ok := slices.BinarySearch(k.nets, r.Name); ok {
				return "network." + r.Name, true
			}
		}
	}
	return "", false
}

// resolveEndpoint turns FROM or TO into an endpoint.
func (e *Engine) resolveEndpoint(ix *reachIndex, side, arg string) (ResolvedEndpoint, endpointKeys, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return ResolvedEndpoint{}, endpointKeys{}, fmt.Errorf("%s is empty. %s", side, endpointHelp)
	}
	if kind, name, ok := strings.Cut(arg, ":"); ok && slices.Contains([]string{EndpointDevice, EndpointZone, EndpointNetwork}, kind) {
		if !e.hasName(kind, name) {
			return ResolvedEndpoint{}, endpointKeys{}, e.unknownEndpoint(side, arg, name, kind)
		}
		ep, k := e.endpointNamed(ix, kind, name)
		return ep, k, nil
	}
	if ip, err := netip.ParseAddr(arg); err == nil {
		ep, k := e.endpointAt(ix, ip.Unmap())
		return ep, k, nil
	}
	var kinds []string
	for _, kind := range []string{EndpointDevice, EndpointZone, EndpointNetwork} {
		if e.hasName(kind, arg) {
			kinds = append(kinds, kind)
		}
	}
	switch len(kinds) {
	case 0:
		return ResolvedEndpoint{}, endpointKeys{}, e.unknownEndpoint(side, arg, arg, "")
	case 1:
		ep, k := e.endpointNamed(ix, kinds[0], arg)
		return ep, k, nil
	}
	alts := make([]string, len(kinds))
	for i, k := range kinds {
		alts[i] = k + ":" + arg
	}
	return ResolvedEndpoint{}, endpointKeys{}, fmt.Errorf("%s %q is ambiguous: it names a %s; write %s",
		side, arg, strings.Join(kinds, " and a "), strings.Join(alts, " or "))
}

const endpointHelp = "FROM and TO name a device of the inventory, a zone or network of the policy, or an IP address; write zone:NAME, network:NAME or device:NAME when a name is ambiguous"

func (e *Engine) hasName(kind, name string) bool {
	switch kind {
	case EndpointDevice:
		_, ok := e.devices[name]
		return ok
	case EndpointZone:
		_, ok := e.cfg.Zones[name]
		return ok
	case EndpointNetwork:
		_, ok := e.cfg.Networks[name]
		return ok
	}
	return false
}

func (e *Engine) endpointNamed(ix *reachIndex, kind, name string) (ResolvedEndpoint, endpointKeys) {
	switch kind {
	case EndpointDevice:
		return e.deviceEndpoint(name)
	case EndpointZone:
		return ResolvedEndpoint{Kind: EndpointZone, Name: name, Zone: name}, endpointKeys{zone: name}
	}
	nets := ix.covering(e.cfg.Networks[name])
	return ResolvedEndpoint{Kind: EndpointNetwork, Name: name, Networks: nets}, endpointKeys{nets: nets}
}

func (e *Engine) deviceEndpoint(name string) (ResolvedEndpoint, endpointKeys) {
	d := e.devices[name]
	ep := ResolvedEndpoint{Kind: EndpointDevice, Name: name, IP: d.IP}
	if z, ok := e.state.Zone[name]; ok {
		ep.Zone = z
	} else if zs := e.state.Conflicts[name]; len(zs) > 0 {
		ep.NoZone = fmt.Sprintf("zones %s all match it at the same priority; set priority on one, or narrow a match block", quoteAll(zs))
	} else {
		ep.NoZone = "no zone's match block selects it and settings has no default_zone"
	}
	return ep, endpointKeys{zone: ep.Zone}
}

func (e *Engine) endpointAt(ix *reachIndex, ip netip.Addr) (ResolvedEndpoint, endpointKeys) {
	if name, ok := ix.deviceAt(ip); ok {
		return e.deviceEndpoint(name)
	}
	ep := ResolvedEndpoint{Kind: EndpointIP, Name: ip.String(), IP: ip}
	for _, zs := range ix.subnets {
		if zs.prefix.Contains(ip) {
			ep.Zone = zs.zone
			return ep, endpointKeys{zone: zs.zone}
		}
	}
	for _, n := range ix.networks {
		if slices.ContainsFunc(n.CIDRs, func(p netip.Prefix) bool { return p.Contains(ip) }) {
			ep.Networks = append(ep.Networks, n.Name)
		}
	}
	return ep, endpointKeys{nets: ep.Networks}
}

// unknownEndpoint explains a name that is nothing, suggesting a close one.
func (e *Engine) unknownEndpoint(side, arg, name, kind string) error {
	var cands []string
	if kind == "" || kind == EndpointZone {
		cands = append(cands, e.cfg.ZoneNames()...)
	}
	if kind == "" || kind == EndpointNetwork {
		cands = append(cands, sortedNames(e.cfg.Networks)...)
	}
	if kind == "" || kind == EndpointDevice {
		for n := range e.devices {
			cands = append(cands, n)
		}
	}
	what := "a device, zone, network or IP address"
	if kind != "" {
		what = "a " + kind
	}
	msg := fmt.Sprintf("%s %q is not %s", side, arg, what)
	if s := closest(name, cands); s != "" {
		if kind != "" {
			s = kind + ":" + s
		}
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return errors.New(sentences(msg, endpointHelp))
}

// closest returns the candidate nearest to given: the same but for case,
// else within a few edits, else the first that given begins; "" when none
// is close.
func closest(given string, cands []string) string {
	sort.Strings(cands)
	lower := strings.ToLower(given)
	for _, c := range cands {
		if strings.ToLower(c) == lower {
			return c
		}
	}
	maxCost := min(3, max(1, len(given)/3))
	best, bestDist := "", maxCost+1
	for _, c := range cands {
		if abs(len(c)-len(given)) >= bestDist {
			continue // cheap: at least that many edits
		}
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" && len(given) >= 3 {
		for _, c := range cands {
			if strings.HasPrefix(strings.ToLower(c), lower) {
				return c
			}
		}
	}
	return best
}

// sentences joins a message and a hint as two sentences.
func sentences(msg, hint string) string {
	if strings.HasSuffix(msg, "?") {
		return msg + " " + hint
	}
	return msg + ". " + hint
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// serviceSpec is the traffic a query asks about.
type serviceSpec struct {
	label        string // as the answer prints it; "" for any service
	tcp          []policy.PortRange
	udp          []policy.PortRange
	icmp, icmpv6 []string
	// anyICMP and anyICMPv6: bare icmp or icmpv6, satisfied by any type.
	anyICMP, anyICMPv6 bool
}

// icmpTypeNames are the ICMP and ICMPv6 types a query may name: the ones
// a service may list.
var icmpTypeNames = map[string][]string{"icmp": policy.ICMPTypes(), "icmpv6": policy.ICMPv6Types()}

const serviceHelp = "SERVICE names a service of the policy, or is PORT/PROTO: 443/tcp, 5000-5099/tcp, 53/udp, icmp, echo-request/icmp"

func (e *Engine) parseServiceSpec(spec string) (serviceSpec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return serviceSpec{}, nil
	}
	if s, ok := e.cfg.Services[spec]; ok {
		return serviceSpec{label: spec, tcp: s.TCP, udp: s.UDP, icmp: s.ICMP, icmpv6: s.ICMPv6}, nil
	}
	lower := strings.ToLower(spec)
	if lower == "icmp" || lower == "icmpv6" {
		return serviceSpec{label: lower, anyICMP: lower == "icmp", anyICMPv6: lower == "icmpv6"}, nil
	}
	what, proto, ok := strings.Cut(lower, "/")
	if !ok {
		msg := fmt.Sprintf("SERVICE %q is not a service of the policy nor PORT/PROTO", spec)
		if s := closest(spec, sortedNames(e.cfg.Services)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return serviceSpec{}, errors.New(sentences(msg, serviceHelp))
	}
	switch proto {
	case "tcp", "udp":
		r, err := parsePortRange(what)
		if err != nil {
			return serviceSpec{}, fmt.Errorf("SERVICE %q: %v. %s", spec, err, serviceHelp)
		}
		out := serviceSpec{label: r.String() + "/" + proto}
		if proto == "tcp" {
			out.tcp = []policy.PortRange{r.PortRange}
		} else {
			out.udp = []policy.PortRange{r.PortRange}
		}
		return out, nil
	case "icmp", "icmpv6":
		if !slices.Contains(icmpTypeNames[proto], what) {
			return serviceSpec{}, fmt.Errorf("SERVICE %q: %q is not an %s type; use one of: %s",
				spec, what, proto, strings.Join(icmpTypeNames[proto], ", "))
		}
		out := serviceSpec{label: what + "/" + proto}
		if proto == "icmp" {
			out.icmp = []string{what}
		} else {
			out.icmpv6 = []string{what}
		}
		return out, nil
	}
	return serviceSpec{}, fmt.Errorf("SERVICE %q: unknown protocol %q; use tcp, udp, icmp or icmpv6. %s", spec, proto, serviceHelp)
}

type portRange struct{ policy.PortRange }

func (r portRange) String() string {
	if r.From == r.To {
		return strconv.Itoa(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

func parsePortRange(s string) (portRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	from, err1 := strconv.Atoi(lo)
	to, err2 := from, error(nil)
	if isRange {
		to, err2 = strconv.Atoi(hi)
	}
	switch {
	case err1 != nil || err2 != nil:
		return portRange{}, fmt.Errorf("%q is not a port or a port range", s)
	case from < 1 || to > 65535:
		return portRange{}, fmt.Errorf("port %s is outside 1-65535", s)
	case from > to:
		return portRange{}, fmt.Errorf("port range %s runs backwards", s)
	}
	return portRange{policy.PortRange{From: from, To: to}}, nil
}

// grant is what a set of flows carries: port ranges and ICMP types.
type grant struct {
	tcp, udp     []policy.PortRange
	icmp, icmpv6 []string
}

func (g *grant) add(s *policy.Service) {
	g.tcp = append(g.tcp, s.TCP...)
	g.udp = append(g.udp, s.UDP...)
	g.icmp = append(g.icmp, s.ICMP...)
	g.icmpv6 = append(g.icmpv6, s.ICMPv6...)
}

func (g *grant) clone() grant {
	return grant{slices.Clone(g.tcp), slices.Clone(g.udp), slices.Clone(g.icmp), slices.Clone(g.icmpv6)}
}

// missing lists what of the spec the grant does not carry ("53/tcp",
// "echo-reply/icmp"); nil when it carries all of it.
func (s serviceSpec) missing(g *grant) []string {
	var out []string
	for _, r := range uncovered(s.tcp, g.tcp) {
		out = append(out, portRange{r}.String()+"/tcp")
	}
	for _, r := range uncovered(s.udp, g.udp) {
		out = append(out, portRange{r}.String()+"/udp")
	}
	for _, t := range s.icmp {
		if !slices.Contains(g.icmp, t) {
			out = append(out, t+"/icmp")
		}
	}
	for _, t := range s.icmpv6 {
		if !slices.Contains(g.icmpv6, t) {
			out = append(out, t+"/icmpv6")
		}
	}
	if s.anyICMP && len(g.icmp) == 0 {
		out = append(out, "icmp")
	}
	if s.anyICMPv6 && len(g.icmpv6) == 0 {
		out = append(out, "icmpv6")
	}
	return out
}

// carries reports whether a service carries any of the spec: the part of a
// flow that allows what was asked.
func (s serviceSpec) carries(svc *policy.Service) bool {
	if s.label == "" {
		return true
	}
	overlap := func(want, have []policy.PortRange) bool {
		for _, w := range want {
			for _, h := range have {
				if w.From <= h.To && h.From <= w.To {
					return true
				}
			}
		}
		return false
	}
	common := func(want, have []string) bool {
		return slices.ContainsFunc(want, func(t string) bool { return slices.Contains(have, t) })
	}
	return overlap(s.tcp, svc.TCP) || overlap(s.udp, svc.UDP) || common(s.icmp, svc.ICMP) || common(s.icmpv6, svc.ICMPv6) ||
		(s.anyICMP && len(svc.ICMP) > 0) || (s.anyICMPv6 && len(svc.ICMPv6) > 0)
}

// uncovered returns the parts of want that no range of have contains.
func uncovered(want, have []policy.PortRange) []policy.PortRange {
	if len(want) == 0 {
		return nil
	}
	h := slices.Clone(have)
	slices.SortFunc(h, func(a, b policy.PortRange) int { return a.From - b.From })
	var out []policy.PortRange
	for _, w := range want {
		next := w.From // the first port of w not yet known to be covered
		for _, r := range h {
			if next > w.To {
				break
			}
			if r.To < next {
				continue
			}
			if r.From > next {
				out = append(out, policy.PortRange{From: next, To: min(r.From-1, w.To)})
			}
			next = max(next, r.To+1)
		}
		if next <= w.To {
			out = append(out, policy.PortRange{From: next, To: w.To})
		}
	}
	return out
}

// reachIndex is what Reach needs of one evaluation, built on first use.
type reachIndex struct {
	byIP map[netip.Addr]string // device name; the first by name when several share an address

	flows    []reachFlow      // in force, by name
	fromZone map[string][]int // zone name -> flows with that zone among their sources
	fromNet  map[string][]int // network name -> likewise
	expired  []reachFlow      // by name

	subnets  []zoneSubnet      // every zone subnet, most specific first
	networks []*policy.Network // by name
}

type zoneSubnet struct {
	prefix netip.Prefix
	zone   string
}

type reachFlow struct {
	name     string
	doc      policy.DocFlow
	services []*policy.Service // doc.Services, resolved
}

func (f *reachFlow) allowing(fromRef, toRef string, need serviceSpec) AllowingFlow {
	af := AllowingFlow{Name: f.name, From: fromRef, To: toRef, Services: []string{}, Essential: f.doc.Essential,
		Reason: f.doc.Reason, Ticket: f.doc.Ticket, DeclaredAt: f.doc.DeclaredAt, Expires: f.doc.Expires}
	for _, s := range f.services {
		if need.carries(s) {
			af.Services = append(af.Services, s.Name)
		}
	}
	return af
}

// reachIndex returns the index of the current evaluation, building it on
// the first query after Evaluate; UpdateDevice and RemoveDevice keep its
// address map current.
func (e *Engine) reachIndex() *reachIndex {
	if e.reach == nil {
		e.reach = e.buildReachIndex()
	}
	return e.reach
}

// reachDeviceChanged keeps the address map current when a device changes
// without a new Evaluate: old is its previous address (invalid if new).
func (e *Engine) reachDeviceChanged(name string, old netip.Addr, d *inventory.Device) {
	if e.reach == nil {
		return
	}
	if n, ok := e.reach.byIP[old]; ok && n == name {
		delete(e.reach.byIP, old)
	}
	if d != nil && d.IP.IsValid() {
		e.reach.byIP[d.IP] = name
	}
}

func (e *Engine) buildReachIndex() *reachIndex {
	ix := &reachIndex{byIP: devicesByIP(e), fromZone: map[string][]int{}, fromNet: map[string][]int{}}
	compile := func(name string, doc policy.DocFlow) reachFlow {
		f := reachFlow{name: name, doc: doc}
		for _, s := range doc.Services {
			if svc := e.cfg.Services[s]; svc != nil {
				f.services = append(f.services, svc)
			}
		}
		return f
	}
	for _, name := range sortedNames(e.state.Flows) {
		i := len(ix.flows)
		ix.flows = append(ix.flows, compile(name, e.state.Flows[name]))
		for _, r := range ix.flows[i].doc.From {
			m := ix.fromZone
			if r.Kind == string(policy.RefNetwork) {
				m = ix.fromNet
			}
			if l := m[r.Name]; len(l) == 0 || l[len(l)-1] != i {
				m[r.Name] = append(l, i)
			}
		}
	}
	for _, name := range e.state.Expired {
		if doc, ok := e.doc.Flows[name]; ok {
			ix.expired = append(ix.expired, compile(name, doc))
		}
	}
	for _, name := range e.cfg.ZoneNames() {
		for _, p := range e.cfg.Zones[name].Subnets {
			ix.subnets = append(ix.subnets, zoneSubnet{p.Masked(), name})
		}
	}
	// Most specific first, then by zone name: the stable sort keeps name order.
	slices.SortStableFunc(ix.subnets, func(a, b zoneSubnet) int { return b.prefix.Bits() - a.prefix.Bits() })
	for _, name := range sortedNames(e.cfg.Networks) {
		ix.networks = append(ix.networks, e.cfg.Networks[name])
	}
	return ix
}

func devicesByIP(e *Engine) map[netip.Addr]string {
	m := make(map[netip.Addr]string, len(e.devices))
	for name, d := range e.devices {
		if !d.IP.IsValid() {
			continue
		}
		if prev, ok := m[d.IP]; !ok || name < prev {
			m[d.IP] = name
		}
	}
	return m
}

// deviceAt returns the device with address ip.
func (ix *reachIndex) deviceAt(ip netip.Addr) (string, bool) {
	name, ok := ix.byIP[ip]
	return name, ok
}

// candidates returns, in name order, the flows whose sources may match k.
func (ix *reachIndex) candidates(k endpointKeys) []int {
	var out []int
	if k.zone != "" {
		out = append(out, ix.fromZone[k.zone]...)
	}
	for _, n := range k.nets {
		out = append(out, ix.fromNet[n]...)
	}
	if len(k.nets) > 0 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// covering returns the networks that hold all of n's addresses: n itself
// and any whose CIDRs cover each of n's.
func (ix *reachIndex) covering(n *policy.Network) []string {
	var out []string
	for _, m := range ix.networks {
		if m == n || (len(n.CIDRs) > 0 && coversAll(m.CIDRs, n.CIDRs)) {
			out = append(out, m.Name)
		}
	}
	return out
}

func coversAll(outer, inner []netip.Prefix) bool {
	for _, p := range inner {
		if !slices.ContainsFunc(outer, func(o netip.Prefix) bool {
			return o.Bits() <= p.Bits() && o.Contains(p.Addr())
		}) {
			return false
		}
	}
	return true
}
