package aclsem

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/aristaeos"
	"github.com/wardnet/ward/drivers/ciscoiosxe"
	wi "github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/juniperjunos"
	"github.com/wardnet/ward/drivers/nftables"
	"github.com/wardnet/ward/drivers/openvswitch"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// registry holds the drivers this test renders with, and those the
// example policy's other targets name, registered as cmd/ward registers
// them.
func registry() *drivers.Registry {
	r := &drivers.Registry{}
	nftables.Register(r)
	openvswitch.Register(r)
	ciscoiosxe.Register(r)
	aristaeos.Register(r)
	juniperjunos.Register(r)
	return r
}

// endpoint is a zone (with its VLAN) or a network, and the address that
// stands for it: a device of the zone from the inventory, or an address of
// the network.
type endpoint struct {
	kind string // "zone" or "network"
	name string
	vlan int // 0 for a network: it sits behind a routed uplink
	addr netip.Addr
}

func (e endpoint) String() string { return e.name }

// probe is one port (or ICMP type) of the policy's services.
type probe struct {
	label    string // services carrying it, or "(no flow)"
	proto    int
	port     int    // TCP/UDP
	icmp     string // ICMP type name, as the policy writes it
	icmpType int
	reply    int // ICMP type of the reply; -1 when the type has none
}

func (p probe) spec() string {
	switch p.proto {
	case TCP:
		return fmt.Sprintf("%d/tcp", p.port)
	case UDP:
		return fmt.Sprintf("%d/udp", p.port)
	}
	return p.icmp + "/icmp"
}

// hospital is the example hospital as ward plan and ward query reach see
// it: the engine evaluated on the policy and inventory, and the core
// firewall's intent compiled from it.
type hospital struct {
	eng    *engine.Engine
	fw     *wi.Firewall
	zones  []endpoint
	nets   []endpoint
	probes []probe
}

const ephemeral = 40000 // a client port no service of the example uses

func loadHospital(t *testing.T, reg *drivers.Registry) *hospital {
	t.Helper()
	ctx := context.Background()
	p := policy.NewParser(policy.WithDrivers(reg.RolesByName()), policy.WithDriverOptions(reg.OptionDecoders()))
	cfg, diags := p.LoadDir("../../examples/hospital/policy")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	f, err := os.Open("../../examples/hospital/inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devices, err := inventory.ParseCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	// A fixed day before every vendor flow's expiry, so the plan is the
	// same whenever the test runs.
	now := func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
	e, diags := engine.New(ctx, cfg, devices, engine.WithClock(now))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := intent.Compile(cfg, res, e.Devices())
	if err != nil {
		t.Fatal(err)
	}
	fwt := in.Targets["core-fw"]
	if fwt == nil || fwt.Firewall == nil || len(fwt.Firewall.Zones) == 0 {
		t.Fatal("the example hospital has no core-fw firewall intent with zone VLANs")
	}
	h := &hospital{eng: e, fw: fwt.Firewall}

	h.endpoints(t, cfg, res, e.Devices())
	h.probes = probes(t, cfg)
	return h
}

// endpoints picks the address standing for each zone with a VLAN (its
// first device by name in the inventory) and each network (the first
// address of its first CIDR), and one address in no zone and no network.
func (h *hospital) endpoints(t *testing.T, cfg *policy.Config, res *engine.Result, devs map[string]inventory.Device) {
	t.Helper()
	// A zone stands for its first device by name in the inventory.
	names := make([]string, 0, len(res.Zone))
	for n := range res.Zone {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, z := range h.fw.Zones {
		ep := endpoint{kind: "zone", name: z.Name, vlan: z.VLAN}
		for _, n := range names {
			if res.Zone[n] == z.Name && devs[n].IP.Is4() {
				ep.addr = devs[n].IP
				break
			}
		}
		if !ep.addr.IsValid() {
			zc := cfg.Zones[z.Name]
			if zc == nil || len(zc.Subnets) == 0 {
				t.Fatalf("zone %s has neither a device nor a subnet to stand for it", z.Name)
			}
			ep.addr = zc.Subnets[0].Addr().Next()
		}
		h.zones = append(h.zones, ep)
	}
	// A network stands for the first address of its first CIDR.
	for _, n := range slices.Sorted(mapKeys(cfg.Networks)) {
		nw := cfg.Networks[n]
		if len(nw.CIDRs) == 0 || !nw.CIDRs[0].Addr().Is4() {
			continue
		}
		a := nw.CIDRs[0].Masked().Addr()
		if nw.CIDRs[0].Bits() < 32 {
			a = a.Next()
		}
		h.nets = append(h.nets, endpoint{kind: "network", name: n, addr: a})
	}

	// And an address in no zone and no network (RFC 1918 space the
	// policy does not name): no flow reaches it, so only a monitor zone's
	// traffic may.
	unmanaged := netip.MustParseAddr("192.168.77.7")
	for _, nw := range cfg.Networks {
		for _, c := range nw.CIDRs {
			if c.Contains(unmanaged) {
				t.Fatalf("network %s holds %s, which this test takes for unmanaged space", nw.Name, unmanaged)
			}
		}
	}
	h.nets = append(h.nets, endpoint{kind: "network", name: "unmanaged", addr: unmanaged})

}

// probes are every port of every service of the policy (each range's
// ends and middle), each ICMP type, and two services no flow allows.
func probes(t *testing.T, cfg *policy.Config) []probe {
	t.Helper()
	var out []probe
	// Every port of every service: each range's ends and middle.
	type key struct{ proto, port int }
	labels := map[key][]string{}
	icmpLabels := map[string][]string{}
	for _, sn := range slices.Sorted(mapKeys(cfg.Services)) {
		s := cfg.Services[sn]
		for proto, ranges := range map[int][]policy.PortRange{TCP: s.TCP, UDP: s.UDP} {
			for _, r := range ranges {
				for _, port := range []int{r.From, (r.From + r.To) / 2, r.To} {
					k := key{proto, port}
					if !slices.Contains(labels[k], sn) {
						labels[k] = append(labels[k], sn)
					}
				}
			}
		}
		for _, typ := range s.ICMP {
			icmpLabels[typ] = append(icmpLabels[typ], sn)
		}
	}
	for k, l := range labels {
		out = append(out, probe{label: strings.Join(l, ","), proto: k.proto, port: k.port})
	}
	for typ, l := range icmpLabels {
		num, reply, ok := icmpNumbers(typ)
		if !ok {
			t.Fatalf("ICMP type %q of service %s: no number known to this test", typ, l[0])
		}
		out = append(out, probe{label: strings.Join(l, ","), proto: ICMP, icmp: typ, icmpType: num, reply: reply})
	}
	// And services no flow of the example allows.
	out = append(out, probe{label: "(no flow)", proto: TCP, port: 23}, probe{label: "(no flow)", proto: UDP, port: 69})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.proto != b.proto {
			return a.proto < b.proto
		}
		if a.port != b.port {
			return a.port < b.port
		}
		return a.icmp < b.icmp
	})
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// icmpNumbers maps the policy's ICMP type names to IANA's "ICMP Type
// Numbers", and a request to the type of its reply.
func icmpNumbers(name string) (typ, reply int, ok bool) {
	types := map[string][2]int{
		"echo-reply": {0, -1}, "destination-unreachable": {3, -1}, "source-quench": {4, -1},
		"redirect": {5, -1}, "echo-request": {8, 0}, "router-advertisement": {9, -1},
		"router-solicitation": {10, -1}, "time-exceeded": {11, -1}, "parameter-problem": {12, -1},
		"timestamp-request": {13, 14}, "timestamp-reply": {14, -1}, "info-request": {15, 16},
		"info-reply": {16, -1}, "address-mask-request": {17, 18}, "address-mask-reply": {18, -1},
	}
	v, ok := types[name]
	return v[0], v[1], ok
}

// reachSays is what ward query reach answers, as a verdict to compare.
type reachSays struct {
	permit bool // allowed, or passed (and logged) because of a monitor zone
	log    bool // permitted only because of a monitor zone: must be logged
	text   string
}

func (h *hospital) reach(t *testing.T, from, to endpoint, spec string) reachSays {
	t.Helper()
	a, err := h.eng.Reach(engine.ReachQuery{From: from.addr.String(), To: to.addr.String(), Service: spec})
	if err != nil {
		t.Fatalf("reach %s %s %s: %v", from.addr, to.addr, spec, err)
	}
	if (from.kind == "zone" && a.From.Zone != from.name) || (to.kind == "zone" && a.To.Zone != to.name) {
		t.Fatalf("reach resolved %s to zone %q and %s to zone %q, not %s and %s", from.addr, a.From.Zone, to.addr, a.To.Zone, from.name, to.name)
	}
	switch {
	case a.Allowed:
		return reachSays{permit: true, text: "allowed"}
	case a.Monitor:
		return reachSays{permit: true, log: true, text: "denied, monitor (log)"}
	}
	return reachSays{text: "denied"}
}

// disagreement is one row of the report.
type disagreement struct {
	from, to, service, direction, packet, acl, reach, line string
}

type checker struct {
	t      *testing.T
	h      *hospital
	f      *Filters
	rows   []disagreement
	checks int
}

// expect evaluates p routed from VLAN in to VLAN out and records a
// disagreement with want.
func (c *checker) expect(from, to endpoint, pr probe, direction string, in, out int, p Packet, want reachSays) {
	c.checks++
	v := c.f.Forward(in, out, p)
	ok := v.Permit == want.permit && (!want.log || v.Logged)
	if ok {
		return
	}
	acl := "deny"
	if v.Permit {
		acl = "permit"
		if v.Logged {
			acl += " (logged)"
		} else {
			acl += " (not logged)"
		}
	}
	line := v.Line
	if v.Filter != "" {
		line = v.Filter + ": " + v.Line
	}
	c.rows = append(c.rows, disagreement{from.name, to.name, pr.label + " " + pr.spec(), direction, p.String(), acl, want.text, line})
}

func (h *hospital) packetFor(pr probe, src, dst netip.Addr) (request, reply, spoof Packet) {
	switch pr.proto {
	case TCP:
		request = Packet{Src: src, Dst: dst, Proto: TCP, SrcPort: ephemeral, DstPort: pr.port, Flags: SYN}
		reply = Packet{Src: dst, Dst: src, Proto: TCP, SrcPort: pr.port, DstPort: ephemeral, Flags: ACK}
		spoof = Packet{Src: dst, Dst: src, Proto: TCP, SrcPort: pr.port, DstPort: ephemeral, Flags: SYN}
	case UDP:
		request = Packet{Src: src, Dst: dst, Proto: UDP, SrcPort: ephemeral, DstPort: pr.port}
		reply = Packet{Src: dst, Dst: src, Proto: UDP, SrcPort: pr.port, DstPort: ephemeral}
	case ICMP:
		request = Packet{Src: src, Dst: dst, Proto: ICMP, ICMPType: pr.icmpType}
		reply = Packet{Src: dst, Dst: src, Proto: ICMP, ICMPType: pr.reply}
	}
	return request, reply, spoof
}

// replyReach is what reach says of the reply packet on its own: the
// reply of an allowed (or monitored) request is permitted; otherwise it
// must be something the other end may send as a new connection.
func (c *checker) replyReach(from, to endpoint, pr probe, fwd reachSays) reachSays {
	if fwd.permit {
		return fwd
	}
	switch pr.proto {
	case TCP, UDP:
		proto := "tcp"
		if pr.proto == UDP {
			proto = "udp"
		}
		rev := c.h.reach(c.t, to, from, fmt.Sprintf("%d/%s", ephemeral, proto))
		if rev.permit {
			return rev
		}
	}
	return reachSays{text: "denied (no flow " + from.name + " -> " + to.name + " on " + pr.spec() + ")"}
}

// checkPair runs every probe between two endpoints, at least one of them
// a zone with its VLAN filter.
func (c *checker) checkPair(from, to endpoint) {
	for _, pr := range c.h.probes {
		fwd := c.h.reach(c.t, from, to, pr.spec())
		request, reply, spoof := c.h.packetFor(pr, from.addr, to.addr)
		if from.kind == "zone" {
			// A new connection enters the source zone's VLAN.
			c.expect(from, to, pr, "new", from.vlan, to.vlan, request, fwd)
		}
		if to.kind != "zone" {
			continue // replies from a network come in on an uplink Ward does not filter
		}
		if pr.proto == ICMP && pr.reply < 0 {
			continue
		}
		// The reply enters the destination zone's VLAN.
		c.expect(from, to, pr, "reply", to.vlan, from.vlan, reply, c.replyReach(from, to, pr, fwd))
		if pr.proto == TCP {
			// Unsolicited: a SYN from the service port back to the
			// client's port is a new connection to->from, which only a
			// flow that way (or a monitor zone) lets through.
			rev := c.h.reach(c.t, to, from, fmt.Sprintf("%d/tcp", ephemeral))
			rev.text += " (new connection " + to.name + " -> " + from.name + " on " + fmt.Sprint(ephemeral) + "/tcp)"
			c.expect(from, to, pr, "unsolicited SYN from the service port", to.vlan, from.vlan, spoof, rev)
		}
	}
}

// vendors are the drivers checked and the evaluator of each one's syntax.
var vendors = []struct {
	driver string
	parse  func(string) (*Filters, error)
}{
	{"cisco_iosxe", ParseIOS},
	{"arista_eos", ParseEOS},
	{"juniper_junos", ParseJunos},
}

// render gives the hospital's core firewall intent to the driver, as a
// target of its own with the firewall role, and returns the text.
func render(t *testing.T, reg *drivers.Registry, h *hospital, driver string) string {
	t.Helper()
	info, ok := reg.Lookup(driver)
	if !ok {
		t.Fatalf("driver %s is not registered", driver)
	}
	d, err := info.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	target := &wi.Target{Name: "core-" + strings.ReplaceAll(driver, "_", "-"), Driver: driver,
		Roles: []string{string(drivers.RoleFirewall)}, Firewall: h.fw}
	cfg, err := d.Render(target)
	if err != nil {
		t.Fatalf("%s Render: %v", driver, err)
	}
	return cfg.Text
}

// compare reads text with parse and checks it against reach on every
// pair; it returns the checker holding the disagreements.
func compare(t *testing.T, h *hospital, driver string, parse func(string) (*Filters, error), text string) *checker {
	t.Helper()
	f, err := parse(text)
	if err != nil {
		t.Fatalf("the rendered configuration does not read as %s filters: %v", driver, err)
	}
	ck := &checker{t: t, h: h, f: f}
	for _, z := range h.zones {
		if _, ok := f.Inbound(z.vlan); !ok {
			ck.rows = append(ck.rows, disagreement{z.name, "*", "*", "binding", fmt.Sprintf("inbound on VLAN %d", z.vlan), "no filter bound", "zone VLANs are filtered", ""})
		}
	}
	for _, a := range h.zones {
		for _, b := range h.zones {
			if a.name != b.name {
				ck.checkPair(a, b)
			}
		}
		for _, n := range h.nets {
			ck.checkPair(a, n)
			ck.checkPair(n, a)
		}
	}
	return ck
}

// TestHospitalAgreesWithReach renders the example hospital's core
// firewall with each vendor driver and checks every rendered ACL, packet
// by packet, against ward query reach: for every ordered pair of zones
// with a VLAN, and every zone with every network both ways, every port of
// every service and a service no flow allows.
//
//   - new connection (TCP SYN, UDP, ICMP echo) entering the source zone's
//     VLAN: permitted iff reach allows it, or a monitor zone is involved,
//     in which case the deciding entry must log or count;
//   - the reply (TCP ACK from the service port, UDP from the service port,
//     echo-reply) entering the destination zone's VLAN: permitted for
//     allowed (or monitored) requests, and otherwise only if reach lets the
//     destination open that connection itself;
//   - a TCP SYN from the service port back to the client's port entering
//     the destination zone's VLAN: permitted only if reach allows that new
//     connection.
//
// Networks (the EHR data centre, the internet) sit behind an uplink no
// filter is bound on: traffic to them is checked on the source VLAN only,
// and from them only as replies and unsolicited SYNs leaving their zone.
func TestHospitalAgreesWithReach(t *testing.T) {
	reg := registry()
	h := loadHospital(t, reg)
	for _, v := range vendors {
		t.Run(v.driver, func(t *testing.T) {
			ck := compare(t, h, v.driver, v.parse, render(t, reg, h, v.driver))
			t.Logf("%s: %d packets checked on %d zone VLANs, %d networks, %d probes", v.driver, ck.checks, len(h.zones), len(h.nets), len(h.probes))
			if len(ck.rows) > 0 {
				t.Errorf("%s: %d of %d packets disagree with ward query reach:\n%s", v.driver, len(ck.rows), ck.checks, table(ck.rows))
			}
		})
	}
}

// TestHospitalKnownAnswers checks a few verdicts on each rendered
// configuration against answers read off the policy files by hand
// (flows.hcl, zones.hcl, services.hcl), not from reach, so that a reach
// and a renderer wrong the same way cannot agree unnoticed.
func TestHospitalKnownAnswers(t *testing.T) {
	reg := registry()
	h := loadHospital(t, reg)
	zone := func(name string) endpoint {
		for _, z := range append(append([]endpoint{}, h.zones...), h.nets...) {
			if z.name == name {
				return z
			}
		}
		t.Fatalf("no endpoint %s", name)
		return endpoint{}
	}
	pumps, pumpSrv, guest, ehr := zone("infusion_pumps"), zone("pump_servers"), zone("guest"), zone("ehr_datacenter")
	rtls, pacs, modal, netops := zone("rtls"), zone("pacs"), zone("imaging_modalities"), zone("netops_monitoring")
	cases := []struct {
		name           string
		in, out        endpoint
		p              Packet
		permit, logged bool
	}{
		// flow pumps_to_pump_servers, service pump_telemetry (tcp 443, 51444)
		{"pump opens 51444 to its server", pumps, pumpSrv, tcp4(pumps, ephemeral, pumpSrv, 51444, SYN), true, false},
		{"server's reply to the pump", pumpSrv, pumps, tcp4(pumpSrv, 51444, pumps, ephemeral, ACK), true, false},
		{"no flow: pump telnet to its server", pumps, pumpSrv, tcp4(pumps, ephemeral, pumpSrv, 23, SYN), false, false},
		// guest_to_internet is https only; the EHR data centre is private
		{"guest to the EHR on https", guest, ehr, tcp4(guest, ephemeral, ehr, 443, SYN), false, false},
		// rtls is in monitor mode: what no flow allows passes, logged
		{"rtls telnet to the EHR: monitor", rtls, ehr, tcp4(rtls, ephemeral, ehr, 23, SYN), true, true},
		// pacs_to_modalities_commitment: dicom 104 from PACS to modalities
		{"PACS opens DICOM to a modality", pacs, modal, tcp4(pacs, ephemeral, modal, 104, SYN), true, false},
		{"a modality's SYN from 104 back to PACS", modal, pacs, tcp4(modal, 104, pacs, ephemeral, SYN), false, false},
		// netops_ping: the pump answers an echo-request with an echo-reply
		{"pump echo-reply to netops", pumps, netops, icmp4(pumps, netops, 0), true, false},
		{"pump echo-request to netops", pumps, netops, icmp4(pumps, netops, 8), false, false},
	}
	for _, v := range vendors {
		f, err := v.parse(render(t, reg, h, v.driver))
		if err != nil {
			t.Fatalf("%s: %v", v.driver, err)
		}
		for _, c := range cases {
			got := f.Forward(c.in.vlan, c.out.vlan, c.p)
			if got.Permit != c.permit || (c.logged && !got.Logged) {
				t.Errorf("%s: %s: %s: permit=%v logged=%v (%s: %s), want permit=%v logged=%v",
					v.driver, c.name, c.p, got.Permit, got.Logged, got.Filter, got.Line, c.permit, c.logged)
			}
		}
	}
}

func tcp4(src endpoint, sport int, dst endpoint, dport, flags int) Packet {
	return Packet{Src: src.addr, Dst: dst.addr, Proto: TCP, SrcPort: sport, DstPort: dport, Flags: flags}
}

func icmp4(src, dst endpoint, typ int) Packet {
	return Packet{Src: src.addr, Dst: dst.addr, Proto: ICMP, ICMPType: typ}
}

// TestComparisonCatchesBrokenRenders: the comparison fails on renders
// broken the ways a driver could break them (a reply rule that lets SYNs
// in, a port off by one, a monitor rule that does not log, a filter not
// bound), so its passing means something. Every broken text must still
// read: the disagreement, not the parser, must catch it.
func TestComparisonCatchesBrokenRenders(t *testing.T) {
	reg := registry()
	h := loadHospital(t, reg)
	replace := func(old, new string) func(string) string {
		return func(s string) string { return strings.ReplaceAll(s, old, new) }
	}
	dropLines := func(all ...string) func(string) string {
		return func(s string) string {
			var out []string
			for _, l := range strings.Split(s, "\n") {
				drop := true
				for _, a := range all {
					drop = drop && strings.Contains(l, a)
				}
				if !drop {
					out = append(out, l)
				}
			}
			return strings.Join(out, "\n")
		}
	}
	mutations := map[string]map[string]func(string) string{
		"cisco_iosxe": {
			"established dropped":   replace(" established", ""),
			"port off by one":       replace("eq 51444", "eq 51445"),
			"monitor not logged":    replace(" any log\n", " any\n"),
			"filters not bound":     replace(" ip access-group", " description was ip access-group"),
			"replies by ACK missed": replace("range 5000 5099 object-group zone_lab_analyzers", "range 5000 5098 object-group zone_lab_analyzers"),
		},
		"arista_eos": {
			"established dropped": replace(" established", ""),
			"port off by one":     replace("eq 51444", "eq 51445"),
			"monitor not logged":  replace(" any log\n", " any\n"),
			"filters not bound":   replace(" ip access-group", " description was ip access-group"),
		},
		"juniper_junos": {
			"tcp-established dropped": dropLines("from tcp-established"),
			"port off by one":         replace("destination-port 51444", "destination-port 51445"),
			"monitor not logged": func(s string) string {
				return dropLines("term monitor", "then log")(dropLines("term monitor", "then count")(s))
			},
			"filters not bound": dropLines("interfaces irb unit 221 "),
		},
	}
	for _, v := range vendors {
		text := render(t, reg, h, v.driver)
		for name, m := range mutations[v.driver] {
			broken := m(text)
			if broken == text {
				t.Errorf("%s: %s changes nothing in the render; update this test", v.driver, name)
				continue
			}
			ck := compare(t, h, v.driver, v.parse, broken)
			if len(ck.rows) == 0 {
				t.Errorf("%s: %s went unnoticed", v.driver, name)
			} else {
				t.Logf("%s: %s: %d disagreements, the first: %+v", v.driver, name, len(ck.rows), ck.rows[0])
			}
		}
	}
}

// table formats the disagreements, at most 60 rows, grouped so a rule
// that is wrong everywhere shows as one block.
func table(rows []disagreement) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tSERVICE\tDIRECTION\tPACKET\tACL SAYS\tREACH SAYS\tMATCHING LINE")
	for i, r := range rows {
		if i == 60 {
			fmt.Fprintf(tw, "... %d more\n", len(rows)-60)
			break
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.from, r.to, r.service, r.direction, r.packet, r.acl, r.reach, r.line)
	}
	tw.Flush()
	return b.String()
}
