package report

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// Finding kinds, in the order a reviewer should read them.
const (
	// KindExpiredDeployed: a flow past its expiry date whose rules some
	// target still carries (the last apply predates the expiry).
	KindExpiredDeployed = "expired_deployed"
	// KindLifeCriticalNotEssential: a flow into a life-critical zone that
	// is not marked essential, so nobody has said patient care needs it.
	KindLifeCriticalNotEssential = "life_critical_not_essential"
	// KindUndocumented: a flow without a change ticket, a reason or an
	// owner (the team that re-approves it in recertification campaigns).
	KindUndocumented = "undocumented"
	// KindBroad: a flow opening many ports, or to or from a large network.
	KindBroad = "broad"
	// KindNeverApplied: a flow in force that no target's applied
	// configuration carries.
	KindNeverApplied = "never_applied"
)

// FindingKinds lists every kind, in reading order.
var FindingKinds = []string{KindExpiredDeployed, KindLifeCriticalNotEssential, KindUndocumented, KindBroad, KindNeverApplied}

// Thresholds of a broad flow. A flow whose services together open at
// least broadPorts ports of one protocol is broad (the built-in guardrail
// all_ports_to_life_critical denies all 65535 into life-critical zones;
// this flags the wide ranges below that everywhere). A network endpoint
// with an IPv4 prefix shorter than broadPrefix4 (more than 65,536
// addresses) or an IPv6 prefix shorter than broadPrefix6 is broad.
const (
	broadPorts   = 1024
	broadPrefix4 = 16
	broadPrefix6 = 48
)

// FindingGroup is the findings of one zone pair; a finding about no pair
// in particular (an unapplied flow between networks) still has its flow's.
type FindingGroup struct {
	From  string    `json:"from"`
	To    string    `json:"to"`
	Items []Finding `json:"items"`
}

// Finding is one thing a reviewer should look at.
type Finding struct {
	Kind    string `json:"kind"`
	Flow    string `json:"flow"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// findings examines every flow of the view and groups what it finds by
// zone pair, pairs with more findings first.
func findings(v *view, until time.Time) []FindingGroup {
	type pair struct{ from, to string }
	groups := map[pair][]Finding{}
	// addTo files a finding under each of f's zone pairs whose destination
	// keep accepts; add under all of them.
	addTo := func(f Flow, kind, msg string, keep func(to string) bool) {
		for _, from := range f.From {
			for _, to := range f.To {
				if keep(to) {
					p := pair{from, to}
					groups[p] = append(groups[p], Finding{Kind: kind, Flow: f.Name, Message: msg})
				}
			}
		}
	}
	add := func(f Flow, kind, msg string) { addTo(f, kind, msg, func(string) bool { return true }) }
	for _, f := range v.flows {
		if f.Deployed && expired(f, until) {
			add(f, KindExpiredDeployed, fmt.Sprintf("flow %s expired on %s but a target still enforces it: plan and apply to remove it, or renew it with a new ticket", f.Name, f.Expires))
		}
		if !f.InForce {
			continue // the rest is about what the policy allows now
		}
		if !f.Essential {
			var critical []string
			for _, to := range f.To {
				if v.criticality[to] == "life_critical" {
					critical = append(critical, to)
				}
			}
			if len(critical) > 0 {
				addTo(f, KindLifeCriticalNotEssential, fmt.Sprintf("flow %s reaches life-critical zone(s) %s and is not marked essential: mark it essential if patient care depends on it, else question why it exists", f.Name, strings.Join(critical, ", ")),
					func(to string) bool { return v.criticality[to] == "life_critical" })
			}
		}
		var missing []string
		if strings.TrimSpace(f.Ticket) == "" {
			missing = append(missing, "ticket")
		}
		if strings.TrimSpace(f.Reason) == "" {
			missing = append(missing, "reason")
		}
		if strings.TrimSpace(f.Owner) == "" {
			missing = append(missing, "owner")
		}
		if len(missing) > 0 {
			add(f, KindUndocumented, fmt.Sprintf("flow %s has no %s: every allowed path needs the approval that justifies it", f.Name, strings.Join(missing, " and no ")))
		}
		if why := broad(v, f); why != "" {
			add(f, KindBroad, fmt.Sprintf("flow %s is broad: %s", f.Name, why))
		}
		if v.hasFirewall && !f.Deployed {
			add(f, KindNeverApplied, fmt.Sprintf("flow %s is allowed by the policy but no target's applied configuration carries it: plan and apply", f.Name))
		}
	}
	rank := map[string]int{}
	for i, k := range FindingKinds {
		rank[k] = i
	}
	out := []FindingGroup{}
	for p, items := range groups {
		sort.Slice(items, func(i, j int) bool {
			if items[i].Kind != items[j].Kind {
				return rank[items[i].Kind] < rank[items[j].Kind]
			}
			return items[i].Flow < items[j].Flow
		})
		out = append(out, FindingGroup{From: p.from, To: p.to, Items: items})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := rank[a.Items[0].Kind], rank[b.Items[0].Kind]; ra != rb {
			return ra < rb // the gravest kind first
		}
		if len(a.Items) != len(b.Items) {
			return len(a.Items) > len(b.Items)
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.To < b.To
	})
	return out
}

// expired reports whether f's expiry date is before until's date.
func expired(f Flow, until time.Time) bool {
	if f.Expires == "" {
		return !f.InForce
	}
	d, err := time.Parse(time.DateOnly, f.Expires)
	if err != nil {
		return !f.InForce
	}
	// A flow expiring on a date is allowed through that day, as the engine
	// judges it (its expiry is the end of the date).
	return !until.Before(d.AddDate(0, 0, 1))
}

// broad says why a flow is broad, or "".
func broad(v *view, f Flow) string {
	if v.services != nil {
		for _, proto := range []string{"tcp", "udp"} {
			if n := openPorts(v, f, proto); n >= broadPorts {
				return fmt.Sprintf("its services open %d %s ports", n, proto)
			}
		}
	}
	for _, ep := range slices.Concat(f.From, f.To) {
		name, ok := strings.CutPrefix(ep, "network:")
		if !ok {
			continue
		}
		for _, c := range v.networks[name] {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				continue
			}
			if (p.Addr().Is4() && p.Bits() < broadPrefix4) || (!p.Addr().Is4() && p.Bits() < broadPrefix6) {
				return fmt.Sprintf("network %s includes %s", name, c)
			}
		}
	}
	return ""
}

// openPorts counts the distinct ports of proto f's services open.
func openPorts(v *view, f Flow, proto string) int {
	open := map[int]bool{}
	for _, s := range f.Services {
		svc, ok := v.services[s]
		if !ok {
			continue
		}
		ranges := svc.TCP
		if proto == "udp" {
			ranges = svc.UDP
		}
		for _, r := range ranges {
			for p := r.From; p <= r.To; p++ {
				open[p] = true
			}
		}
	}
	return len(slices.Collect(maps.Keys(open)))
}
