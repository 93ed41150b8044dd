package intent

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The drivers of the example hospital and the roles each can fill (as in
// the engine's tests).
var exampleDrivers = map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"},
	"cisco_iosxe": {"access_switch", "firewall"}, "arista_eos": {"access_switch", "firewall"}, "juniper_junos": {"access_switch", "firewall"}}

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func loadExample(t testing.TB) (*policy.Config, []inventory.Device) {
	t.Helper()
	cfg, diags := policy.NewParser(policy.WithDrivers(exampleDrivers)).LoadDir("../../examples/hospital/policy")
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
	return cfg, devices
}

// evaluate runs the engine over a policy and devices at testNow.
func evaluate(t testing.TB, cfg *policy.Config, devices []inventory.Device) (*engine.Result, map[string]inventory.Device) {
	t.Helper()
	e, diags := engine.New(context.Background(), cfg, devices, engine.WithClock(func() time.Time { return testNow }))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := e.Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, e.Devices()
}

// parse loads a policy from HCL text.
func parse(t testing.TB, src string) *policy.Config {
	t.Helper()
	cfg, diags := policy.NewParser(policy.WithDrivers(exampleDrivers), policy.WithClock(func() time.Time { return testNow })).
		Load(policy.Source{Filename: "test.hcl", Bytes: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// compileSrc evaluates and compiles a policy with devices, failing on error.
func compileSrc(t testing.TB, src string, devices []inventory.Device) (*Intent, []Warning) {
	t.Helper()
	cfg := parse(t, src)
	res, devs := evaluate(t, cfg, devices)
	in, warns, err := Compile(cfg, res, devs)
	if err != nil {
		t.Fatal(err)
	}
	return in, warns
}

func TestCompileExampleGolden(t *testing.T) {
	cfg, devices := loadExample(t)
	res, devs := evaluate(t, cfg, devices)
	in, warns, err := Compile(cfg, res, devs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "example-intent.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./internal/intent -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("intent differs from %s (run with -update if intended)", golden)
	}

	// The shape the drivers rely on.
	if len(in.Targets) != len(cfg.Targets) {
		t.Fatalf("%d targets, want %d", len(in.Targets), len(cfg.Targets))
	}
	fw := in.Targets["core-fw"].Firewall
	if fw == nil || fw.DefaultAction != "drop" || !slices.Equal(fw.Monitor, []string{"zone_rtls"}) ||
		!slices.Equal(fw.Quarantine.Remediation, []string{"net_remediation"}) {
		t.Fatalf("core-fw: %+v", fw)
	}
	pumps := findSet(t, fw, "zone_infusion_pumps")
	if !slices.Contains(pumps.V4, netip.MustParsePrefix("10.61.210.0/24")) {
		t.Errorf("zone_infusion_pumps lacks its subnet: %v", pumps.V4)
	}
	for _, s := range fw.Sets {
		if !slices.Equal(s.V4, Aggregate(s.V4)) || !slices.Equal(s.V6, Aggregate(s.V6)) {
			t.Errorf("set %s is not aggregated: %v %v", s.Name, s.V4, s.V6)
		}
	}
	sw := in.Targets["access-3w"].Switch
	if sw == nil || sw.QuarantineVLAN != 999 || len(sw.Ports) == 0 {
		t.Fatalf("access-3w: %+v", sw)
	}
	for _, p := range sw.Ports {
		if p.Device == "pump-3w-01" && (p.Port != "Gi1/0/5" || p.VLAN != 210 || p.Zone != "infusion_pumps") {
			t.Errorf("pump-3w-01: %+v", p)
		}
	}
	if !slices.IsSortedFunc(sw.Ports, func(a, b PortVLAN) int { return comparePorts(a.Port, b.Port) }) {
		t.Error("ports are not in order")
	}
	for _, w := range warns {
		t.Logf("warning: %s", w)
	}
	if !Diff(in, in).Empty() {
		t.Error("an intent differs from itself")
	}
	again, _, _ := Compile(cfg, res, devs)
	if !reflect.DeepEqual(in, again) {
		t.Error("Compile is not deterministic")
	}
}

func findSet(t *testing.T, fw *Firewall, name string) AddressSet {
	t.Helper()
	for _, s := range fw.Sets {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no set %s among %v", name, setNames(fw))
	return AddressSet{}
}

func setNames(fw *Firewall) []string {
	var out []string
	for _, s := range fw.Sets {
		out = append(out, s.Name)
	}
	return out
}

func dev(name, ip, class, sw, port string) inventory.Device {
	return inventory.Device{Name: name, IP: netip.MustParseAddr(ip), Class: class, Criticality: "medium", Switch: sw, Port: port}
}

// base is a small policy the table tests add flows and settings to.
const base = `
zone "pumps" {
  criticality = "high"
  vlan    = 210
  subnets = ["10.61.210.0/24"]
  match { class = ["pump"] }
}
zone "servers" {
  criticality = "high"
  vlan    = 211
  subnets = ["10.61.211.0/24", "2001:db8:211::/64"]
  match { class = ["server"] }
}
zone "cams" {
  criticality = "high"
  subnets     = ["10.61.170.0/24"]
  enforcement = "monitor"
  match { class = ["camera"] }
}
zone "other" {
  criticality = "high"
  vlan = 199
}
network "ehr" { cidrs = ["10.10.0.0/16"] }
network "fix" { cidrs = ["10.250.99.0/24"] }
service "https" { tcp = [443] }
service "pump" { tcp = [51444, 443, 444] }
service "dns" {
  udp = [53]
  tcp = [53]
}
service "ping" {
  icmp   = ["echo-request"]
  icmpv6 = ["echo-request"]
}
target "fw" {
  driver = "linux_nftables"
  address = "10.250.61.2"
  role = "firewall"
}
target "sw1" {
  driver = "openvswitch"
  address = "10.250.61.3"
  role = "access_switch"
}
`

var baseDevices = []inventory.Device{
	dev("pump-1", "10.61.210.11", "pump", "sw1", "p1"),
	dev("srv-1", "10.61.211.5", "server", "sw1", "p2"),
}

func TestCompileRules(t *testing.T) {
	r := func(flow, svc, from, to, proto string, essential bool, ports ...int) Rule {
		rule := Rule{Flow: flow, Service: svc, From: from, To: to, Proto: proto, Essential: essential}
		for i := 0; i < len(ports); i += 2 {
			rule.Ports = append(rule.Ports, Ports{From: ports[i], To: ports[i+1]})
		}
		return rule
	}
	ping := func(flow, from, to, proto string) Rule {
		return Rule{Flow: flow, Service: "ping", From: from, To: to, Proto: proto, ICMPTypes: []string{"echo-request"}}
	}
	tests := []struct {
		name    string
		src     string
		rules   []Rule
		sets    []string
		monitor []string
		action  string
	}{
		{
			name: "multi-protocol services, ports merged and sorted",
			src: `flow "a" {
  from = zone.pumps
  to = zone.servers
  services = [service.pump, service.dns, service.ping]
  essential = true
  reason = "r"
}`,
			rules: []Rule{
				r("a", "pump", "zone_pumps", "zone_servers", "tcp", true, 443, 444, 51444, 51444),
				r("a", "dns", "zone_pumps", "zone_servers", "tcp", true, 53, 53),
				r("a", "dns", "zone_pumps", "zone_servers", "udp", true, 53, 53),
				{Flow: "a", Service: "ping", From: "zone_pumps", To: "zone_servers", Proto: "icmp", ICMPTypes: []string{"echo-request"}, Essential: true},
				{Flow: "a", Service: "ping", From: "zone_pumps", To: "zone_servers", Proto: "icmpv6", ICMPTypes: []string{"echo-request"}, Essential: true},
			},
			sets:    []string{"zone_cams", "zone_pumps", "zone_servers"},
			monitor: []string{"zone_cams"},
			action:  "drop",
		},
		{
			name: "lists of references in declaration order, flows by name",
			src: `flow "z_last" {
  from = network.ehr
  to = zone.pumps
  services = [service.https]
  reason = "r"
}
flow "b" {
  from = [zone.servers, network.ehr]
  to = [zone.pumps, zone.cams]
  services = [service.https, service.ping]
  reason = "r"
}`,
			rules: []Rule{
				r("b", "https", "zone_servers", "zone_pumps", "tcp", false, 443, 443),
				ping("b", "zone_servers", "zone_pumps", "icmp"),
				ping("b", "zone_servers", "zone_pumps", "icmpv6"),
				r("b", "https", "zone_servers", "zone_cams", "tcp", false, 443, 443),
				ping("b", "zone_servers", "zone_cams", "icmp"),
				ping("b", "zone_servers", "zone_cams", "icmpv6"),
				r("b", "https", "net_ehr", "zone_pumps", "tcp", false, 443, 443),
				ping("b", "net_ehr", "zone_pumps", "icmp"),
				ping("b", "net_ehr", "zone_pumps", "icmpv6"),
				r("b", "https", "net_ehr", "zone_cams", "tcp", false, 443, 443),
				ping("b", "net_ehr", "zone_cams", "icmp"),
				ping("b", "net_ehr", "zone_cams", "icmpv6"),
				r("z_last", "https", "net_ehr", "zone_pumps", "tcp", false, 443, 443),
			},
			sets:    []string{"net_ehr", "zone_cams", "zone_pumps", "zone_servers"},
			monitor: []string{"zone_cams"},
			action:  "drop",
		},
		{
			name: "expired flows are absent, remediation gets a set, default allow",
			src: `settings { default_action = "allow" }
flow "old" {
  from = zone.pumps
  to = zone.servers
  services = [service.https]
  reason = "r"
  expires = "2025-01-01"
}
flow "current" {
  from = zone.pumps
  to = zone.servers
  services = [service.https]
  reason = "r"
  expires = "2026-11-22"
}
quarantine {
  vlan = 999
  remediation = [network.fix, zone.other]
  action = { low = "isolate" }
}`,
			rules:   []Rule{r("current", "https", "zone_pumps", "zone_servers", "tcp", false, 443, 443)},
			sets:    []string{"net_fix", "zone_cams", "zone_other", "zone_pumps", "zone_servers"},
			monitor: []string{"zone_cams"},
			action:  "accept",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := compileSrc(t, base+tt.src, baseDevices)
			fw := in.Targets["fw"].Firewall
			if !reflect.DeepEqual(fw.Rules, tt.rules) {
				t.Errorf("rules:\n got %s\nwant %s", jsonOf(fw.Rules), jsonOf(tt.rules))
			}
			if got := setNames(fw); !slices.Equal(got, tt.sets) {
				t.Errorf("sets %v, want %v", got, tt.sets)
			}
			if !slices.Equal(fw.Monitor, tt.monitor) {
				t.Errorf("monitor %v, want %v", fw.Monitor, tt.monitor)
			}
			if fw.DefaultAction != tt.action {
				t.Errorf("default action %q, want %q", fw.DefaultAction, tt.action)
			}
			if fw.Quarantine.IsolateSet != IsolateSet || fw.Quarantine.RestrictSet != RestrictSet {
				t.Errorf("quarantine sets %+v", fw.Quarantine)
			}
		})
	}
}

func TestCompileQuarantine(t *testing.T) {
	in, _ := compileSrc(t, base, baseDevices)
	if q := in.Targets["fw"].Firewall.Quarantine; !slices.Equal(q.Remediation, []string{}) {
		t.Errorf("no quarantine block, remediation %v", q.Remediation)
	}
	if v := in.Targets["sw1"].Switch.QuarantineVLAN; v != 0 {
		t.Errorf("no quarantine block, quarantine vlan %d", v)
	}
	in, _ = compileSrc(t, base+`quarantine {
  vlan = 999
  remediation = [network.fix]
  action = { low = "isolate" }
}`, baseDevices)
	fw := in.Targets["fw"].Firewall
	if !slices.Equal(fw.Quarantine.Remediation, []string{"net_fix"}) {
		t.Errorf("remediation %v", fw.Quarantine.Remediation)
	}
	if s := findSet(t, fw, "net_fix"); !slices.Equal(s.V4, []netip.Prefix{netip.MustParsePrefix("10.250.99.0/24")}) {
		t.Errorf("net_fix %v", s.V4)
	}
	if v := in.Targets["sw1"].Switch.QuarantineVLAN; v != 999 {
		t.Errorf("quarantine vlan %d", v)
	}
}

const precedenceSrc = `
settings { default_zone = "other" }
zone "wide" {
  criticality = "high"
  subnets = ["10.0.0.0/16"]
  match { class = ["wide"] }
}
zone "narrow" {
  criticality = "high"
  subnets = ["10.0.1.0/24"]
  match { class = ["narrow"] }
}
zone "other" {
  criticality = "low"
}
network "all" { cidrs = ["10.0.0.0/8"] }
service "https" { tcp = [443] }
flow "f" {
  from = [zone.wide, zone.narrow, zone.other]
  to = network.all
  services = [service.https]
  reason = "r"
}
target "fw" {
  driver = "linux_nftables"
  address = "10.250.61.2"
  role = "firewall"
}
`

var precedenceDevices = []inventory.Device{
	dev("n1", "10.0.1.7", "narrow", "", ""),
	dev("w-in-narrow", "10.0.1.9", "wide", "", ""),  // a wide device inside narrow's subnet
	dev("unknown", "10.0.2.4", "nothing", "", ""),   // default zone, inside wide's subnet
	dev("outside", "10.5.0.1", "wide", "", ""),      // wide device outside every subnet
	dev("twin-a", "10.0.3.3", "narrow", "", ""),     // shares an address with twin-b:
	dev("twin-b", "10.0.3.3", "wide", "", ""),       // twin-a, first by name, owns it
	dev("stray", "10.200.0.1", "unknown", "", ""),   // default zone, in the network only
	dev("outside6", "2001:db8::1", "wide", "", ""),  // IPv6
	dev("outside6b", "2001:db8::0", "wide", "", ""), // merges with it
}

// Set members follow the precedence of ward query reach: a device's
// address is its zone's; an address inside zone subnets is the most
// specific subnet's zone; a network holds only what is outside zones.
func TestCompileSetPrecedence(t *testing.T) {
	src, devices := precedenceSrc, precedenceDevices
	in, warns := compileSrc(t, src, devices)
	fw := in.Targets["fw"].Firewall
	want := map[string]string{
		"zone_wide": "10.0.0.0/24 10.0.1.9/32 10.0.2.0/30 10.0.2.5/32 10.0.2.6/31 10.0.2.8/29 10.0.2.16/28 10.0.2.32/27 10.0.2.64/26 10.0.2.128/25 " +
			"10.0.3.0/31 10.0.3.2/32 10.0.3.4/30 10.0.3.8/29 10.0.3.16/28 10.0.3.32/27 10.0.3.64/26 10.0.3.128/25 10.0.4.0/22 10.0.8.0/21 10.0.16.0/20 10.0.32.0/19 10.0.64.0/18 10.0.128.0/17 " +
			"10.5.0.1/32 2001:db8::/127",
		"zone_narrow": "10.0.1.0/29 10.0.1.8/32 10.0.1.10/31 10.0.1.12/30 10.0.1.16/28 10.0.1.32/27 10.0.1.64/26 10.0.1.128/25 10.0.3.3/32",
		"zone_other":  "10.0.2.4/32 10.200.0.1/32",
	}
	for name, w := range want {
		s := findSet(t, fw, name)
		if got := prefixText(append(s.V4, s.V6...)); got != w {
			t.Errorf("%s:\n got %s\nwant %s", name, got, w)
		}
	}
	all := findSet(t, fw, "net_all")
	allSet := setOf(all.V4, all.V6)
	for _, a := range []string{"10.0.0.1", "10.0.1.7", "10.5.0.1", "10.200.0.1"} {
		if setOf([]netip.Prefix{netip.PrefixFrom(netip.MustParseAddr(a), 32)}, nil).intersects(allSet) {
			t.Errorf("net_all holds %s, which is a zone's", a)
		}
	}
	if !allSet.intersects(setOf([]netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}, nil)) {
		t.Errorf("net_all lacks 10.9.0.0/16: %v", all.V4)
	}
	var shared, overlap bool
	for _, w := range warns {
		shared = shared || (w.Device == "twin-b" && strings.Contains(w.Message, `"twin-a"`))
		overlap = overlap || strings.Contains(w.Message, `network "all" overlaps zones "narrow", "other", "wide"`)
	}
	if !shared || !overlap {
		t.Errorf("warnings lack the shared address or the overlap: %v", warns)
	}
}

func prefixText(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCompileSwitchPorts(t *testing.T) {
	src := base + `
settings { default_zone = "other" }
target "sw2" {
  driver = "openvswitch"
  address = "10.250.61.4"
  role = "access_switch"
}
`
	devices := []inventory.Device{
		dev("pump-1", "10.61.210.11", "pump", "sw1", "Gi1/0/10"),
		dev("pump-2", "10.61.210.12", "pump", "sw1", "Gi1/0/2"),
		dev("srv-1", "10.61.211.5", "server", "sw1", "Gi1/0/1"),
		dev("cam-1", "10.61.170.5", "camera", "sw1", "Gi1/0/3"),   // zone without vlan
		dev("noport", "10.61.210.13", "pump", "sw1", ""),          // no port
		dev("guest", "10.61.199.4", "laptop", "sw2", "eth1"),      // default zone, vlan 199
		dev("lost", "10.61.210.14", "pump", "idf-9", "Gi1/0/1"),   // switch not a target
		dev("onfw", "10.61.210.15", "pump", "fw", "eth0"),         // switch is a firewall
		dev("unswitched", "10.61.210.16", "pump", "", "Gi1/0/20"), // no switch: nothing to say
	}
	in, warns := compileSrc(t, src, devices)
	got := in.Targets["sw1"].Switch.Ports
	want := []PortVLAN{
		{Port: "Gi1/0/1", VLAN: 211, Device: "srv-1", Zone: "servers"},
		{Port: "Gi1/0/2", VLAN: 210, Device: "pump-2", Zone: "pumps"},
		{Port: "Gi1/0/10", VLAN: 210, Device: "pump-1", Zone: "pumps"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sw1 ports:\n got %+v\nwant %+v", got, want)
	}
	if got := in.Targets["sw2"].Switch.Ports; !reflect.DeepEqual(got, []PortVLAN{{Port: "eth1", VLAN: 199, Device: "guest", Zone: "other"}}) {
		t.Errorf("sw2 ports %+v", got)
	}
	wantWarn := []struct{ target, device, text string }{
		{"fw", "onfw", "is a firewall, not an access switch"},
		{"idf-9", "lost", `switch "idf-9" is not a target of the policy`},
		{"sw1", "cam-1", `zone "cams" has no vlan`},
		{"sw1", "noport", "no port"},
	}
	if len(warns) != len(wantWarn) {
		t.Fatalf("warnings %v, want %d", warns, len(wantWarn))
	}
	for i, w := range wantWarn {
		if warns[i].Target != w.target || warns[i].Device != w.device || !strings.Contains(warns[i].Message, w.text) {
			t.Errorf("warning %d: %s; want %s/%s %q", i, warns[i], w.target, w.device, w.text)
		}
	}
}

func TestCompileSwitchUnplacedWarns(t *testing.T) {
	// No default zone: a device no zone matches has no VLAN to get.
	in, warns := compileSrc(t, base, []inventory.Device{dev("mystery", "10.61.210.50", "toaster", "sw1", "p9")})
	if len(in.Targets["sw1"].Switch.Ports) != 0 || len(warns) != 1 || !strings.Contains(warns[0].Message, "has no zone") {
		t.Errorf("ports %v, warnings %v", in.Targets["sw1"].Switch.Ports, warns)
	}
}

func TestCompileDuplicatePortIsError(t *testing.T) {
	cfg := parse(t, base)
	res, devs := evaluate(t, cfg, []inventory.Device{
		dev("pump-1", "10.61.210.11", "pump", "sw1", "Gi1/0/5"),
		dev("pump-2", "10.61.210.12", "pump", "sw1", "gi1/0/5"),
		dev("srv-1", "10.61.211.5", "server", "sw1", "Gi1/0/6"),
	})
	in, _, err := Compile(cfg, res, devs)
	if err == nil || in != nil {
		t.Fatalf("want an error, got %v", in)
	}
	for _, s := range []string{`"sw1"`, `"pump-1"`, `"pump-2"`, "gi1/0/5"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
}

func TestComparePorts(t *testing.T) {
	ports := []string{"Gi1/0/10", "Gi1/0/2", "Gi1/0/1", "eth10", "eth2", "Gi1/0/02", "Gi2/0/1", "Te1/1/1", "eth", "gi1/0/3", "gi1/0/2"}
	slices.SortFunc(ports, comparePorts)
	want := []string{"eth", "eth2", "eth10", "Gi1/0/1", "Gi1/0/02", "Gi1/0/2", "gi1/0/2", "gi1/0/3", "Gi1/0/10", "Gi2/0/1", "Te1/1/1"}
	if !slices.Equal(ports, want) {
		t.Errorf("got %v, want %v", ports, want)
	}
}

// The firewall must enforce what ward query reach answers: for every
// address, the sets holding it are exactly the zone or networks Reach
// says it stands for. Checked on the precedence policy with extra zones
// that tie, nest in IPv6, and networks that nest and overlap zones.
func TestSetsAgreeWithReach(t *testing.T) {
	src := precedenceSrc + `
zone "tie_a" {
  criticality = "low"
  subnets = ["10.0.200.0/25", "2001:db8:1::/48"]
  match { class = ["tie_a"] }
}
zone "tie_b" {
  criticality = "low"
  subnets = ["10.0.200.0/25", "2001:db8:1:2::/64"]
  match { class = ["tie_b"] }
}
network "inner" { cidrs = ["10.0.0.0/15", "2001:db8::/32"] }
network "edge" { cidrs = ["10.1.255.0/24", "10.200.0.0/30"] }
flow "g" {
  from = [zone.tie_a, zone.tie_b, network.inner, network.edge]
  to = zone.other
  services = [service.https]
  reason = "r"
}
`
	devices := append(slices.Clone(precedenceDevices),
		dev("b1", "10.0.200.9", "tie_b", "", ""),
		dev("a6", "2001:db8:1:2::9", "tie_a", "", ""),
		dev("edge-dev", "10.1.255.7", "wide", "", ""),
	)
	cfg := parse(t, src)
	e, diags := engine.New(context.Background(), cfg, devices, engine.WithClock(func() time.Time { return testNow }))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := e.Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := Compile(cfg, res, e.Devices())
	if err != nil {
		t.Fatal(err)
	}
	fw := in.Targets["fw"].Firewall

	var addrs []netip.Addr
	for _, d := range devices {
		addrs = append(addrs, d.IP)
	}
	r := rand.New(rand.NewPCG(5, 8))
	for range 3000 {
		addrs = append(addrs,
			offsetAddr(netip.MustParseAddr("10.0.0.0"), r.Uint64N(1<<17)),    // 10.0.0.0/15
			offsetAddr(netip.MustParseAddr("10.200.0.0"), r.Uint64N(8)),      // edge's /30 and beyond
			offsetAddr(netip.MustParseAddr("2001:db8:1:2::"), r.Uint64N(16)), // tie_b's /64 inside tie_a's /48
			offsetAddr(netip.MustParseAddr("2001:db8:1:3::"), r.Uint64N(16)), // tie_a only
			offsetAddr(netip.MustParseAddr("2001:db8::"), r.Uint64N(16)),     // inner, and wide's devices
			offsetAddr(netip.MustParseAddr("10.0.200.0"), r.Uint64N(256)),    // the tie, and beyond
			offsetAddr(netip.MustParseAddr("10.1.255.0"), r.Uint64N(256)),    // edge inside inner
		)
	}
	for _, a := range addrs {
		ans, err := e.Reach(engine.ReachQuery{From: a.String(), To: "zone:other"})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if z := ans.From.Zone; z != "" {
			want = append(want, "zone_"+z)
		} else {
			for _, n := range ans.From.Networks {
				want = append(want, "net_"+n)
			}
		}
		var got []string
		for _, s := range fw.Sets {
			if slices.ContainsFunc(append(s.V4, s.V6...), func(p netip.Prefix) bool { return p.Contains(a) }) {
				got = append(got, s.Name)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s (%s): in sets %v, but reach says it stands for %v", a, ans.From.Kind, got, want)
		}
	}
}
