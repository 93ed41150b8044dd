package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// TestReachProperty checks Reach against a reference evaluation written
// straight from the semantics in Reach's doc comment, on random small
// policies and inventories: placement by the Go reference placer (not Rego), flows
// read from policy.Config (not Result.Flows), expiry by Flow.ExpiredAt with
// the engine's clock, services compared port by port.
func TestReachProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(20261122, 7))
	const policies, queriesPer = 200, 40
	checked, skipped := 0, 0
	verdicts := map[string]int{}
	for range policies {
		src := genPolicy(r)
		cfg, diags := policy.NewParser(policy.WithClock(func() time.Time { return testNow })).
			Load(policy.Source{Filename: "gen.hcl", Bytes: []byte(src)})
		if diags.HasErrors() {
			skipped++
			t.Logf("skipping a generated policy with errors: %v\n%s", diags, src)
			continue
		}
		devices := genDevices(r, cfg)
		e := newEngine(t, cfg, devices)
		if _, err := e.Evaluate(context.Background()); err != nil {
			t.Fatalf("Evaluate: %v\n%s", err, src)
		}
		ref := newReachRef(cfg, devices)
		for range queriesPer {
			q := genQuery(r, cfg, devices)
			got, err := e.Reach(q)
			if err != nil {
				t.Fatalf("Reach(%+v): %v\npolicy:\n%s\ndevices:\n%s", q, err, src, showDevices(devices))
			}
			want := ref.reach(q)
			var gotFlows []string
			for _, f := range got.Flows {
				gotFlows = append(gotFlows, f.Name)
			}
			if got.Allowed != want.allowed || got.Monitor != want.monitor || !slices.Equal(gotFlows, want.flows) {
				t.Fatalf("Reach(%+v) disagrees with the reference:\n got allowed=%v monitor=%v flows=%v\nwant allowed=%v monitor=%v flows=%v (%s)\nreason: %s\nfrom %+v\nto %+v\npolicy:\n%s\ndevices:\n%s",
					q, got.Allowed, got.Monitor, gotFlows, want.allowed, want.monitor, want.flows, want.why,
					got.Reason, got.From, got.To, src, showDevices(devices))
			}
			verdicts[want.why]++
		}
		checked++
	}
	t.Logf("%d policies checked (%d skipped), %d queries: %v", checked, skipped, checked*queriesPer, verdicts)
	if checked < 150 {
		t.Fatalf("only %d of %d generated policies were valid; fix the generator", checked, policies)
	}
	// The generator must reach every outcome, or the property proves little.
	for _, why := range []string{"flows", "same zone", "default allow", "denied", "monitor", "no flow", "service"} {
		if verdicts[why] == 0 {
			t.Errorf("no query ended %q: %v", why, verdicts)
		}
	}
}

var (
	genClasses  = []string{"pump", "monitor", "server", "camera", "printer", "tv"}
	genVendors  = []string{"Acme", "Acme Medical", "Globex", "Initech"}
	genPorts    = []string{"22", "53", "80", "443", `"1000-1003"`, `"1002-1005"`}
	genUDPPorts = []string{"53", "123", `"5000-5002"`}
	genExpiries = []string{"2025-01-01", "2026-11-21", "2026-11-22", "2030-06-30"}
)

// pick returns k distinct elements of from, in random order.
func pick[T any](r *rand.Rand, from []T, k int) []T {
	idx := r.Perm(len(from))[:min(k, len(from))]
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = from[j]
	}
	return out
}

func hclList(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

func quoted(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = strconv.Quote(s)
	}
	return out
}

// genPolicy writes a random small policy: 3-6 zones matched by class and
// vendor (globs, priorities, some nested subnets, some in monitor mode), a
// default zone half the time, 1-3 networks, 2-4 services and 0-10 flows,
// some expired.
func genPolicy(r *rand.Rand) string {
	var b strings.Builder
	nz := 3 + r.IntN(4)
	zones := make([]string, nz)
	for i := range nz {
		zones[i] = fmt.Sprintf("z%d", i)
	}
	if r.IntN(2) == 0 || r.IntN(10) == 0 {
		b.WriteString("settings {\n")
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "  default_zone = %q\n", zones[r.IntN(nz)])
		}
		if r.IntN(8) == 0 {
			b.WriteString("  default_action = \"allow\"\n")
		}
		b.WriteString("}\n")
	}
	for i, z := range zones {
		fmt.Fprintf(&b, "zone %q {\n  criticality = %q\n  vlan = %d\n", z, policy.Criticalities()[r.IntN(4)], 100+i)
		var subnets []string
		if r.IntN(5) > 0 {
			subnets = append(subnets, fmt.Sprintf("10.%d.0.0/16", i+1))
		}
		if i > 0 && r.IntN(6) == 0 { // nested inside an earlier zone's /16
			subnets = append(subnets, fmt.Sprintf("10.%d.%d.0/24", r.IntN(i)+1, 1+r.IntN(3)))
		}
		if len(subnets) > 0 {
			fmt.Fprintf(&b, "  subnets = %s\n", hclList(quoted(subnets)))
		}
		if r.IntN(5) == 0 {
			b.WriteString("  enforcement = \"monitor\"\n")
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "  priority = %d\n", r.IntN(3))
		}
		if r.IntN(7) > 0 {
			b.WriteString("  match {\n")
			classes := pick(r, append(slices.Clone(genClasses), "p*", "*er", "*"), 1+r.IntN(2))
			fmt.Fprintf(&b, "    class = %s\n", hclList(quoted(classes)))
			if r.IntN(2) == 0 {
				fmt.Fprintf(&b, "    vendor = %s\n", hclList(quoted(pick(r, []string{"Acme*", "Globex", "Init*", "*"}, 1+r.IntN(2)))))
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\n")
	}

	nn := 1 + r.IntN(3)
	networks := make([]string, nn)
	for i := range nn {
		networks[i] = fmt.Sprintf("n%d", i)
		pool := []string{fmt.Sprintf("172.16.%d.0/24", i), "172.16.0.0/16", "0.0.0.0/0",
			fmt.Sprintf("10.%d.5.0/24", 1+r.IntN(nz)), "192.0.2.0/24", fmt.Sprintf("172.16.%d.0/24", r.IntN(3))}
		cidrs := pick(r, pool, 1+r.IntN(2))
		if slices.Contains(cidrs, "172.16.0.0/16") && slices.ContainsFunc(cidrs, func(c string) bool { return strings.HasPrefix(c, "172.16.") && c != "172.16.0.0/16" }) {
			cidrs = []string{"172.16.0.0/16"}
		}
		slices.Sort(cidrs)
		cidrs = slices.Compact(cidrs)
		fmt.Fprintf(&b, "network %q {\n  cidrs = %s\n}\n", networks[i], hclList(quoted(cidrs)))
	}

	ns := 2 + r.IntN(3)
	services := make([]string, ns)
	for i := range ns {
		services[i] = fmt.Sprintf("s%d", i)
		fmt.Fprintf(&b, "service %q {\n", services[i])
		some := false
		if r.IntN(10) < 7 {
			fmt.Fprintf(&b, "  tcp = %s\n", hclList(pick(r, genPorts, 1+r.IntN(2))))
			some = true
		}
		if r.IntN(10) < 4 {
			fmt.Fprintf(&b, "  udp = %s\n", hclList(pick(r, genUDPPorts, 1+r.IntN(2))))
			some = true
		}
		if r.IntN(10) < 3 || !some {
			fmt.Fprintf(&b, "  icmp = %s\n", hclList(quoted(pick(r, []string{"echo-request", "echo-reply"}, 1+r.IntN(2)))))
		}
		b.WriteString("}\n")
	}

	var ends []string
	for _, z := range zones {
		ends = append(ends, "zone."+z)
	}
	for _, n := range networks {
		ends = append(ends, "network."+n)
	}
	svcRefs := make([]string, ns)
	for i, s := range services {
		svcRefs[i] = "service." + s
	}
	for i := range r.IntN(11) {
		fmt.Fprintf(&b, "flow \"f%d\" {\n  from = %s\n  to = %s\n  services = %s\n  reason = \"generated\"\n  ticket = \"CHG-%d\"\n",
			i, hclList(pick(r, ends, 1+r.IntN(2))), hclList(pick(r, ends, 1+r.IntN(2))), hclList(pick(r, svcRefs, 1+r.IntN(2))), i)
		if r.IntN(10) < 3 {
			fmt.Fprintf(&b, "  expires = %q\n", genExpiries[r.IntN(len(genExpiries))])
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// randomIn returns a random address inside an IPv4 prefix.
func randomIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	base := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	if host := 32 - p.Bits(); host > 0 {
		base += r.Uint32N(uint32(1<<host - 1))
	}
	return netip.AddrFrom4([4]byte{byte(base >> 24), byte(base >> 16), byte(base >> 8), byte(base)})
}

// someAddress returns an address in a zone's subnet, in a network, or
// elsewhere.
func someAddress(r *rand.Rand, cfg *policy.Config) netip.Addr {
	var zonePrefixes, netPrefixes []netip.Prefix
	for _, name := range cfg.ZoneNames() {
		zonePrefixes = append(zonePrefixes, cfg.Zones[name].Subnets...)
	}
	for _, name := range sortedNames(cfg.Networks) {
		netPrefixes = append(netPrefixes, cfg.Networks[name].CIDRs...)
	}
	switch k := r.IntN(10); {
	case k < 5 && len(zonePrefixes) > 0:
		return randomIn(r, zonePrefixes[r.IntN(len(zonePrefixes))])
	case k < 8:
		return randomIn(r, netPrefixes[r.IntN(len(netPrefixes))])
	}
	return randomIn(r, netip.MustParsePrefix("192.168.0.0/16"))
}

// genDevices makes 5-30 devices with unique addresses; their classes and
// vendors need not match any zone, and their addresses need not lie in the
// subnet of the zone they land in.
func genDevices(r *rand.Rand, cfg *policy.Config) []inventory.Device {
	n := 5 + r.IntN(26)
	used := map[netip.Addr]bool{}
	var out []inventory.Device
	for i := range n {
		ip := someAddress(r, cfg)
		for used[ip] {
			ip = someAddress(r, cfg)
		}
		used[ip] = true
		out = append(out, inventory.Device{
			Name: fmt.Sprintf("d%02d", i), IP: ip, Class: append(slices.Clone(genClasses), "toaster")[r.IntN(len(genClasses)+1)],
			Vendor: genVendors[r.IntN(len(genVendors))], Criticality: "medium",
		})
	}
	return out
}

func genEndpoint(r *rand.Rand, cfg *policy.Config, devices []inventory.Device) string {
	switch k := r.IntN(20); {
	case k < 6:
		return devices[r.IntN(len(devices))].Name
	case k < 10:
		z := cfg.ZoneNames()[r.IntN(len(cfg.Zones))]
		if k == 9 {
			return "zone:" + z
		}
		return z
	case k < 12:
		return sortedNames(cfg.Networks)[r.IntN(len(cfg.Networks))]
	case k < 15:
		return devices[r.IntN(len(devices))].IP.String()
	}
	return someAddress(r, cfg).String()
}

func genQuery(r *rand.Rand, cfg *policy.Config, devices []inventory.Device) ReachQuery {
	q := ReachQuery{From: genEndpoint(r, cfg, devices), To: genEndpoint(r, cfg, devices)}
	switch k := r.IntN(10); {
	case k < 3:
	case k < 6:
		q.Service = sortedNames(cfg.Services)[r.IntN(len(cfg.Services))]
	case k < 9:
		ports := []string{"22", "53", "80", "123", "443", "1000", "1003", "1004", "1005", "5000", "5002", "1000-1005", "1002-1003"}
		q.Service = ports[r.IntN(len(ports))] + []string{"/tcp", "/udp"}[r.IntN(2)]
	default:
		q.Service = []string{"icmp", "echo-request/icmp", "echo-reply/icmp"}[r.IntN(3)]
	}
	return q
}

func showDevices(devices []inventory.Device) string {
	var b strings.Builder
	for _, d := range devices {
		fmt.Fprintf(&b, "%s,%s,%s,%s\n", d.Name, d.IP, d.Class, d.Vendor)
	}
	return b.String()
}

// reachRef is the reference evaluation.
type reachRef struct {
	cfg     *policy.Config
	devices []inventory.Device
	zone    map[string]string // device -> zone, placed devices only
}

type refAnswer struct {
	allowed, monitor bool
	flows            []string
	why              string
}

// refEnd is what one end of a query stands for.
type refEnd struct {
	zone string
	nets map[string]bool
}

func newReachRef(cfg *policy.Config, devices []inventory.Device) *reachRef {
	ref := &reachRef{cfg: cfg, devices: devices, zone: map[string]string{}}
	p := newRefPlacer(cfg)
	for i := range devices {
		if z, _, ok := p.Place(&devices[i]); ok {
			ref.zone[devices[i].Name] = z
		}
	}
	return ref
}

func (ref *reachRef) end(arg string) refEnd {
	if _, name, ok := strings.Cut(arg, ":"); ok && strings.HasPrefix(arg, "zone:") {
		return refEnd{zone: name}
	}
	for _, d := range ref.devices {
		if d.Name == arg {
			return refEnd{zone: ref.zone[d.Name]}
		}
	}
	if _, ok := ref.cfg.Zones[arg]; ok {
		return refEnd{zone: arg}
	}
	if n, ok := ref.cfg.Networks[arg]; ok {
		// The networks holding every address of n: first and last address
		// of each of its CIDRs inside one CIDR of the other.
		nets := map[string]bool{}
		for name, m := range ref.cfg.Networks {
			all := true
			for _, c := range n.CIDRs {
				first, last := c.Masked().Addr(), lastAddr(c)
				all = all && slices.ContainsFunc(m.CIDRs, func(mc netip.Prefix) bool { return mc.Contains(first) && mc.Contains(last) })
			}
			nets[name] = all
		}
		return refEnd{nets: nets}
	}
	ip := netip.MustParseAddr(arg)
	for _, d := range ref.devices {
		if d.IP == ip {
			return refEnd{zone: ref.zone[d.Name]}
		}
	}
	best, bestBits := "", -1
	for _, name := range ref.cfg.ZoneNames() {
		for _, s := range ref.cfg.Zones[name].Subnets {
			if s.Contains(ip) && s.Bits() > bestBits {
				best, bestBits = name, s.Bits()
			}
		}
	}
	if best != "" {
		return refEnd{zone: best}
	}
	nets := map[string]bool{}
	for name, n := range ref.cfg.Networks {
		nets[name] = slices.ContainsFunc(n.CIDRs, func(c netip.Prefix) bool { return c.Contains(ip) })
	}
	return refEnd{nets: nets}
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	if p.Bits() == 0 {
		host = ^uint32(0)
	}
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (e refEnd) matches(refs []policy.Ref) bool {
	for _, r := range refs {
		if (r.Kind == policy.RefZone && e.zone != "" && r.Name == e.zone) || (r.Kind == policy.RefNetwork && e.nets[r.Name]) {
			return true
		}
	}
	return false
}

// atom is one thing a service is made of: a port of a protocol, or an ICMP
// type ("*" for any).
type atom struct {
	proto string
	port  int
	typ   string
}

func serviceAtoms(s *policy.Service) []atom {
	var out []atom
	for proto, ranges := range map[string][]policy.PortRange{"tcp": s.TCP, "udp": s.UDP} {
		for _, pr := range ranges {
			for p := pr.From; p <= pr.To; p++ {
				out = append(out, atom{proto: proto, port: p})
			}
		}
	}
	for _, t := range s.ICMP {
		out = append(out, atom{proto: "icmp", typ: t})
	}
	for _, t := range s.ICMPv6 {
		out = append(out, atom{proto: "icmpv6", typ: t})
	}
	return out
}

func (ref *reachRef) queryAtoms(spec string) []atom {
	if spec == "" {
		return nil
	}
	if s, ok := ref.cfg.Services[spec]; ok {
		return serviceAtoms(s)
	}
	if spec == "icmp" {
		return []atom{{proto: "icmp", typ: "*"}}
	}
	what, proto, _ := strings.Cut(spec, "/")
	if proto == "icmp" {
		return []atom{{proto: "icmp", typ: what}}
	}
	lo, hi, isRange := strings.Cut(what, "-")
	from, _ := strconv.Atoi(lo)
	to := from
	if isRange {
		to, _ = strconv.Atoi(hi)
	}
	var out []atom
	for p := from; p <= to; p++ {
		out = append(out, atom{proto: proto, port: p})
	}
	return out
}

func carries(s *policy.Service, a atom) bool {
	if a.typ == "*" {
		return len(s.ICMP) > 0
	}
	return slices.Contains(serviceAtoms(s), a)
}

func (ref *reachRef) reach(q ReachQuery) refAnswer {
	from, to := ref.end(q.From), ref.end(q.To)
	if from.zone != "" && from.zone == to.zone {
		return refAnswer{allowed: true, why: "same zone"}
	}
	var matched []*policy.Flow
	for _, f := range ref.cfg.Flows {
		if !f.ExpiredAt(testNow) && from.matches(f.From) && to.matches(f.To) {
			matched = append(matched, f)
		}
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].Name < matched[j].Name })
	atoms := ref.queryAtoms(q.Service)
	allowed := len(matched) > 0
	for _, a := range atoms {
		allowed = allowed && slices.ContainsFunc(matched, func(f *policy.Flow) bool {
			return slices.ContainsFunc(f.Services, func(s policy.Ref) bool { return carries(ref.cfg.Services[s.Name], a) })
		})
	}
	if allowed {
		var names []string
		for _, f := range matched {
			if q.Service == "" || slices.ContainsFunc(f.Services, func(s policy.Ref) bool {
				return slices.ContainsFunc(atoms, func(a atom) bool { return carries(ref.cfg.Services[s.Name], a) })
			}) {
				names = append(names, f.Name)
			}
		}
		return refAnswer{allowed: true, flows: names, why: "flows"}
	}
	if s := ref.cfg.Settings; s != nil && s.DefaultAction == "allow" {
		return refAnswer{allowed: true, why: "default allow"}
	}
	why := "denied"
	switch {
	case len(matched) == 0 && from.matchesAny() && to.matchesAny():
		why = "no flow"
	case len(matched) > 0:
		why = "service"
	}
	for _, z := range []string{from.zone, to.zone} {
		if zc := ref.cfg.Zones[z]; zc != nil && zc.Enforcement == "monitor" {
			return refAnswer{monitor: true, why: "monitor"}
		}
	}
	return refAnswer{why: why}
}

// matchesAny reports whether some flow could name this end: it has a zone
// or is in a network. For classifying outcomes only.
func (e refEnd) matchesAny() bool {
	if e.zone != "" {
		return true
	}
	for _, in := range e.nets {
		if in {
			return true
		}
	}
	return false
}
