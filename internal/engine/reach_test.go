package engine

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

func evaluatedExample(t testing.TB) *Engine {
	t.Helper()
	cfg, devices := loadExample(t)
	e := newEngine(t, cfg, devices)
	if _, err := e.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestReachExampleHospital(t *testing.T) {
	e := evaluatedExample(t)
	tests := []struct {
		name             string
		q                ReachQuery
		allowed, monitor bool
		flows            []string // names of the allowing flows
		fromKind, toKind string
		fromZone, toZone string
		reason           []string // substrings of Reason
	}{
		{
			name: "pump to its pump server over https", q: ReachQuery{"pump-3w-01", "pumpsrv-dc-01", "https"},
			allowed: true, flows: []string{"pumps_to_pump_servers"}, fromKind: EndpointDevice, toKind: EndpointDevice,
			fromZone: "infusion_pumps", toZone: "pump_servers",
			reason: []string{`allowed: flow "pumps_to_pump_servers" (`, `flows.hcl:21)`, `zone "infusion_pumps" reach zone "pump_servers" on https (service pump_telemetry)`},
		},
		{
			name: "pump to pump server, any service", q: ReachQuery{"pump-3w-01", "pumpsrv-dc-01", ""},
			allowed: true, flows: []string{"pumps_to_pump_servers"}, reason: []string{"on pump_telemetry"},
		},
		{
			name: "guest to pump", q: ReachQuery{"tv-5w-01", "pump-3w-01", ""},
			fromZone: "guest", toZone: "infusion_pumps",
			reason: []string{`denied: no flow from zone "guest" to zone "infusion_pumps"`},
		},
		{
			name: "pump to pump server over ssh", q: ReachQuery{"pump-3w-01", "pumpsrv-dc-01", "22/tcp"},
			reason: []string{`denied: flow "pumps_to_pump_servers" from zone "infusion_pumps" to zone "pump_servers" allows only pump_telemetry — not 22/tcp`},
		},
		{
			name: "pump to pump server on the second telemetry port", q: ReachQuery{"pump-3w-01", "pumpsrv-dc-01", "51444/TCP"},
			allowed: true, flows: []string{"pumps_to_pump_servers"}, reason: []string{"on 51444/tcp (service pump_telemetry)"},
		},
		{
			name: "zones by name", q: ReachQuery{"lab_analyzers", "lis", "astm_lis"},
			allowed: true, flows: []string{"lab_analyzers_to_lis"}, fromKind: EndpointZone, toKind: EndpointZone,
		},
		{
			name: "several flows say what they allow together", q: ReachQuery{"pacs", "network:ehr_datacenter", "vendor_remote"},
			reason: []string{`denied: flows from zone "pacs" to network "ehr_datacenter" allow only hl7, https, smb — not all of vendor_remote (22/tcp, 5900/tcp not allowed)`},
		},
		{
			name: "a named service the flow lists", q: ReachQuery{"mon-4e-01", "central_monitoring", "philips_intellivue"},
			allowed: true, flows: []string{"monitors_to_central_monitoring"}, toKind: EndpointZone,
			reason: []string{`reach zone "central_monitoring" on philips_intellivue`},
		},
		{
			name: "part of a port range", q: ReachQuery{"lis", "lab_analyzers", "5000-5199/tcp"},
			reason: []string{`allows only astm_lis — not all of 5000-5199/tcp (5100-5199/tcp not allowed)`},
		},
		{
			name: "devices by IP", q: ReachQuery{"10.61.210.11", "10.61.211.11", "443/tcp"},
			allowed: true, flows: []string{"pumps_to_pump_servers"}, fromKind: EndpointDevice, toKind: EndpointDevice,
			fromZone: "infusion_pumps", toZone: "pump_servers",
		},
		{
			name: "a free address in a zone's subnet", q: ReachQuery{"10.61.190.250", "infusion_pumps", ""},
			fromKind: EndpointIP, fromZone: "guest", reason: []string{`no flow from zone "guest" to zone "infusion_pumps"`},
		},
		{
			name: "EHR data centre address as source", q: ReachQuery{"10.10.4.20", "pumpsrv-dc-02", "hl7"},
			allowed: true, flows: []string{"ehr_to_pump_servers_orders"}, fromKind: EndpointIP,
			reason: []string{`10.10.4.20 (network "ehr_datacenter") reach zone "pump_servers" on hl7`},
		},
		{
			name: "EHR data centre address as destination", q: ReachQuery{"pumpsrv-dc-01", "10.10.4.20", "2575/tcp"},
			allowed: true, flows: []string{"pump_servers_to_ehr_documentation"}, toKind: EndpointIP,
		},
		{
			name: "network by name", q: ReachQuery{"ehr_datacenter", "printers", "printing"},
			allowed: true, flows: []string{"print_server_to_printers"}, fromKind: EndpointNetwork,
		},
		{
			name: "guest to the internet", q: ReachQuery{"guest", "93.184.216.34", "https"},
			allowed: true, flows: []string{"guest_to_internet"},
		},
		// network "internet" is the public address space only, so
		// guest_to_internet does not reach the EHR data centre.
		{
			name: "guest cannot reach an EHR server", q: ReachQuery{"guest", "network:ehr_datacenter", "443/tcp"},
			toKind: EndpointNetwork,
		},
		{
			name: "internet holds no zone's devices", q: ReachQuery{"guest", "pacs", "https"},
			reason: []string{`denied: no flow from zone "guest" to zone "pacs"`},
		},
		{
			name: "same zone", q: ReachQuery{"pump-3w-01", "pump-3w-02", "22/tcp"},
			allowed: true, reason: []string{`allowed: same zone ("infusion_pumps"); traffic within a zone does not cross the firewall`},
		},
		{
			name: "monitor-mode zone", q: ReachQuery{"rtls-icu-01", "pacs", ""},
			monitor: true, reason: []string{`denied: no flow from zone "rtls" to zone "pacs"; zone "rtls" is in monitor mode, so this traffic is logged, not dropped`},
		},
		{
			name: "ping", q: ReachQuery{"biomed-bme-01", "pump-3w-01", "icmp"},
			allowed: true, flows: []string{"biomed_to_medical_devices"}, reason: []string{"on icmp (service ping)"},
		},
		{
			name: "echo request", q: ReachQuery{"biomed_engineering", "infusion_pumps", "echo-request/icmp"},
			allowed: true, flows: []string{"biomed_to_medical_devices"},
		},
		{
			name: "echo reply is not ping", q: ReachQuery{"biomed_engineering", "infusion_pumps", "echo-reply/icmp"},
			reason: []string{"allows only https, ping — not echo-reply/icmp"},
		},
		{
			name: "an address in nothing", q: ReachQuery{"pump-3w-01", "fd00::1", ""},
			reason: []string{"denied: fd00::1 is in no zone's subnets and no network of the policy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := e.Reach(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var flows []string
			for _, f := range a.Flows {
				flows = append(flows, f.Name)
			}
			if a.Allowed != tt.allowed || a.Monitor != tt.monitor || !slices.Equal(flows, tt.flows) {
				t.Errorf("allowed %v monitor %v flows %v; want %v %v %v\nreason: %s", a.Allowed, a.Monitor, flows, tt.allowed, tt.monitor, tt.flows, a.Reason)
			}
			for _, want := range tt.reason {
				if !strings.Contains(a.Reason, want) {
					t.Errorf("reason lacks %q:\n%s", want, a.Reason)
				}
			}
			for _, c := range []struct{ got, want, what string }{
				{a.From.Kind, tt.fromKind, "FROM kind"}, {a.To.Kind, tt.toKind, "TO kind"},
				{a.From.Zone, tt.fromZone, "FROM zone"}, {a.To.Zone, tt.toZone, "TO zone"},
			} {
				if c.want != "" && c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestReachAnswerDetails(t *testing.T) {
	e := evaluatedExample(t)
	a, err := e.Reach(ReachQuery{From: "pump-3w-01", To: "pumpsrv-dc-01", Service: "https"})
	if err != nil {
		t.Fatal(err)
	}
	if a.From.IP != netip.MustParseAddr("10.61.210.11") || a.To.Name != "pumpsrv-dc-01" || a.Service != "https" {
		t.Errorf("endpoints %+v -> %+v, service %q", a.From, a.To, a.Service)
	}
	f := a.Flows[0]
	if f.From != "zone.infusion_pumps" || f.To != "zone.pump_servers" || !slices.Equal(f.Services, []string{"pump_telemetry"}) ||
		!f.Essential || f.Ticket != "CHG-1042" || !strings.HasSuffix(f.DeclaredAt, "flows.hcl:21") || !strings.HasPrefix(f.Reason, "Drug library") {
		t.Errorf("flow %+v", f)
	}

	// An address inside a zone counts as the zone, not as the networks
	// (internet) that also contain it; outside zones it lists them all.
	a, _ = e.Reach(ReachQuery{From: "10.61.190.250", To: "10.10.0.9"})
	if a.From.Networks != nil || !slices.Equal(a.To.Networks, []string{"ehr_datacenter"}) {
		t.Errorf("networks: from %v, to %v", a.From.Networks, a.To.Networks)
	}
	a, _ = e.Reach(ReachQuery{From: "network:vendor_vpn_bd", To: "pumpsrv-dc-01"})
	if !slices.Equal(a.From.Networks, []string{"vendor_vpn_bd"}) || !a.Allowed {
		t.Errorf("network endpoint: %+v, %s", a.From, a.Reason)
	}
}

func TestReachExpiredFlow(t *testing.T) {
	cfg, devices := loadExample(t)
	// A day after vendor_roche_to_lab's last day.
	later := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	e, diags := New(context.Background(), cfg, devices, WithClock(func() time.Time { return later }))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := e.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err := e.Reach(ReachQuery{From: "172.20.3.7", To: "lab_analyzers", Service: "22/tcp"})
	if err != nil {
		t.Fatal(err)
	}
	want := `denied: no flow from 172.20.3.7 (network "vendor_vpn_roche") to zone "lab_analyzers"; flow "vendor_roche_to_lab" would allow it but expired on 2027-01-31`
	if a.Allowed || a.Reason != want || len(a.Expired) != 1 || a.Expired[0].Expires != "2027-01-31" {
		t.Errorf("got %v %q %+v\nwant %q", a.Allowed, a.Reason, a.Expired, want)
	}
}

func TestReachDefaultAllow(t *testing.T) {
	cfg, devices := loadExample(t)
	cfg.Settings.DefaultAction = "allow"
	e := newEngine(t, cfg, devices)
	if _, err := e.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err := e.Reach(ReachQuery{From: "guest", To: "infusion_pumps", Service: "22/tcp"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Allowed || a.Reason != `allowed by default_action "allow" (no flow from zone "guest" to zone "infusion_pumps")` {
		t.Errorf("%v %q", a.Allowed, a.Reason)
	}
}

func TestReachErrors(t *testing.T) {
	cfg, devices := loadExample(t)
	e := newEngine(t, cfg, devices)
	if _, err := e.Reach(ReachQuery{From: "guest", To: "pacs"}); err == nil || !strings.Contains(err.Error(), "before Evaluate") {
		t.Fatalf("before Evaluate: %v", err)
	}
	if _, err := e.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		q    ReachQuery
		want []string
	}{
		{ReachQuery{"pump-3w-1", "pacs", ""}, []string{`FROM "pump-3w-1" is not a device, zone, network or IP address; did you mean "pump-3w-01"?`, "FROM and TO name a device"}},
		{ReachQuery{"guest", "infusion_pump", ""}, []string{`TO "infusion_pump"`, `did you mean "infusion_pumps"?`}},
		{ReachQuery{"guest", "PACS", ""}, []string{`did you mean "pacs"?`}},
		{ReachQuery{"zone:pump-3w-01", "pacs", ""}, []string{`FROM "zone:pump-3w-01" is not a zone`}},
		{ReachQuery{"network:ehr", "pacs", ""}, []string{`did you mean "network:ehr_datacenter"?`}},
		{ReachQuery{"", "pacs", ""}, []string{"FROM is empty"}},
		{ReachQuery{"guest", "pacs", "htps"}, []string{`SERVICE "htps" is not a service of the policy nor PORT/PROTO; did you mean "https"?`, "443/tcp"}},
		{ReachQuery{"guest", "pacs", "443/tpc"}, []string{`unknown protocol "tpc"`}},
		{ReachQuery{"guest", "pacs", "0/tcp"}, []string{"outside 1-65535"}},
		{ReachQuery{"guest", "pacs", "99-98/udp"}, []string{"runs backwards"}},
		{ReachQuery{"guest", "pacs", "https/tcp"}, []string{`"https" is not a port`}},
		{ReachQuery{"guest", "pacs", "echo/icmp"}, []string{`"echo" is not an icmp type`, "echo-request"}},
	} {
		_, err := e.Reach(tt.q)
		if err == nil {
			t.Errorf("%+v: no error", tt.q)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error lacks %q:\n%v", tt.q, w, err)
			}
		}
	}
}

// A small policy for what the example cannot show: a name used twice,
// devices without a zone, and devices changed after Evaluate.
func TestReachNoZoneAmbiguityAndUpdates(t *testing.T) {
	src := `
zone "guest" {
  criticality = "low"
  subnets     = ["10.0.1.0/24"]
  match {
    class = ["tv"]
  }
}
zone "pumps" {
  criticality = "life_critical"
  subnets     = ["10.0.2.0/24"]
  match {
    class = ["pump"]
  }
}
zone "pumps_too" {
  criticality = "life_critical"
  match {
    vendor = ["BD"]
  }
}
service "https" {
  tcp = [443]
}
flow "guest_to_pumps" {
  from     = zone.guest
  to       = zone.pumps
  services = [service.https]
  reason   = "test"
}
`
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "t.hcl", Bytes: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dev := func(name, ip, class, vendor string) inventory.Device {
		return inventory.Device{Name: name, IP: netip.MustParseAddr(ip), Class: class, Vendor: vendor, Criticality: "low"}
	}
	devices := []inventory.Device{
		dev("guest", "10.0.1.5", "tv", "LG"), dev("pump", "10.0.2.5", "pump", "Baxter"),
		dev("bd-pump", "10.0.2.6", "pump", "BD"), dev("toaster", "10.0.9.9", "toaster", "Acme"),
	}
	e := newEngine(t, cfg, devices)
	ctx := context.Background()
	if _, err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	reach := func(from, to, svc string) *ReachAnswer {
		t.Helper()
		a, err := e.Reach(ReachQuery{from, to, svc})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	if _, err := e.Reach(ReachQuery{"guest", "pump", ""}); err == nil || !strings.Contains(err.Error(), "write device:guest or zone:guest") {
		t.Errorf("ambiguous name: %v", err)
	}
	if a := reach("device:guest", "pump", "https"); !a.Allowed || a.From.Kind != EndpointDevice {
		t.Errorf("device:guest: %+v", a)
	}
	if a := reach("zone:guest", "10.0.2.5", "https"); !a.Allowed || a.From.Kind != EndpointZone || a.To.Name != "pump" {
		t.Errorf("zone:guest: %+v", a)
	}
	a := reach("zone:guest", "bd-pump", "https")
	if a.Allowed || !strings.Contains(a.Reason, `device "bd-pump" has no zone (zones "pumps", "pumps_too" all match it at the same priority`) {
		t.Errorf("conflict: %s", a.Reason)
	}
	a = reach("toaster", "zone:guest", "")
	if a.Allowed || !strings.Contains(a.Reason, `device "toaster" has no zone (no zone's match block selects it and settings has no default_zone)`) {
		t.Errorf("unplaced: %s", a.Reason)
	}

	// A device moved after Evaluate is found at its new address, and its
	// old address is free.
	d := dev("guest", "10.0.2.77", "tv", "LG")
	if _, err := e.UpdateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	if a := reach("10.0.2.77", "pump", ""); a.From.Kind != EndpointDevice || a.From.Name != "guest" || a.From.Zone != "guest" {
		t.Errorf("new address: %+v", a.From)
	}
	if a := reach("10.0.1.5", "pump", ""); a.From.Kind != EndpointIP || a.From.Zone != "guest" {
		t.Errorf("old address: %+v", a.From)
	}
	if _, err := e.UpdateDevice(ctx, dev("toaster2", "10.0.9.10", "toaster", "Acme")); err != nil {
		t.Fatal(err)
	}
	if a := reach("10.0.9.10", "pump", ""); a.From.Name != "toaster2" {
		t.Errorf("new unplaced device: %+v", a.From)
	}
	if err := e.RemoveDevice(ctx, "pump"); err != nil {
		t.Fatal(err)
	}
	if a := reach("10.0.2.5", "zone:guest", ""); a.From.Kind != EndpointIP {
		t.Errorf("removed device: %+v", a.From)
	}
}

func TestUncovered(t *testing.T) {
	pr := func(a, b int) policy.PortRange { return policy.PortRange{From: a, To: b} }
	for _, tt := range []struct {
		want, have, out []policy.PortRange
	}{
		{[]policy.PortRange{pr(443, 443)}, []policy.PortRange{pr(443, 443)}, nil},
		{[]policy.PortRange{pr(1, 10)}, []policy.PortRange{pr(6, 10), pr(1, 5)}, nil},
		{[]policy.PortRange{pr(1, 10)}, []policy.PortRange{pr(3, 4), pr(8, 20)}, []policy.PortRange{pr(1, 2), pr(5, 7)}},
		{[]policy.PortRange{pr(1, 10), pr(50, 50)}, []policy.PortRange{pr(0, 5)}, []policy.PortRange{pr(6, 10), pr(50, 50)}},
		{[]policy.PortRange{pr(5, 5)}, nil, []policy.PortRange{pr(5, 5)}},
	} {
		if got := uncovered(tt.want, tt.have); !slices.Equal(got, tt.out) {
			t.Errorf("uncovered(%v, %v) = %v, want %v", tt.want, tt.have, got, tt.out)
		}
	}
}

// BenchmarkReach100k: one query on 100,000 devices, 100 zones and 1,000
// flows, after Evaluate and the first query have built the indexes.
func BenchmarkReach100k(b *testing.B) {
	cfg, devices := generate(b, 100, 1000, 100_000)
	e := newEngine(b, cfg, devices)
	if _, err := e.Evaluate(context.Background()); err != nil {
		b.Fatal(err)
	}
	queries := []ReachQuery{
		{From: "dev-000001", To: "dev-054321", Service: "s3"},
		{From: devices[777].IP.String(), To: devices[99_999].IP.String(), Service: "1005/tcp"},
		{From: "z17", To: "z42"},
		{From: "10.200.0.1", To: "dev-012345", Service: "22/tcp"},
	}
	start := time.Now()
	if _, err := e.Reach(queries[0]); err != nil {
		b.Fatal(err)
	}
	first := time.Since(start)
	i := 0
	for b.Loop() {
		if _, err := e.Reach(queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(first.Microseconds()), "µs-first-query")
}

// Ask whether a pump may reach its pump server, and a patient TV a pump.
func ExampleEngine_Reach() {
	src := `
zone "infusion_pumps" {
  criticality = "life_critical"
  match {
    class = ["infusion_pump"]
  }
}
zone "pump_servers" {
  criticality = "high"
  match {
    class = ["pump_server"]
  }
}
zone "guest" {
  criticality = "low"
  subnets     = ["10.61.190.0/24"]
}
service "pump_telemetry" {
  tcp = [443, 51444]
}
flow "pumps_to_pump_servers" {
  from      = zone.infusion_pumps
  to        = zone.pump_servers
  services  = [service.pump_telemetry]
  essential = true
  reason    = "Drug library downloads and infusion events"
  ticket    = "CHG-1042"
}
`
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "flows.hcl", Bytes: []byte(src)})
	if diags.HasErrors() {
		panic(diags)
	}
	devices := []inventory.Device{
		{Name: "pump-3w-01", IP: netip.MustParseAddr("10.61.210.11"), Class: "infusion_pump", Criticality: "life_critical"},
		{Name: "pumpsrv-dc-01", IP: netip.MustParseAddr("10.61.211.11"), Class: "pump_server", Criticality: "high"},
	}
	e, diags := New(context.Background(), cfg, devices)
	if diags.HasErrors() {
		panic(diags)
	}
	if _, err := e.Evaluate(context.Background()); err != nil {
		panic(err)
	}
	for _, q := range []ReachQuery{
		{From: "pump-3w-01", To: "pumpsrv-dc-01", Service: "443/tcp"},
		{From: "pump-3w-01", To: "pumpsrv-dc-01", Service: "22/tcp"},
		{From: "10.61.190.20", To: "10.61.210.11"},
	} {
		a, err := e.Reach(q)
		if err != nil {
			panic(err)
		}
		fmt.Println(a.Reason)
	}
	// Output:
	// allowed: flow "pumps_to_pump_servers" (flows.hcl:21) lets zone "infusion_pumps" reach zone "pump_servers" on 443/tcp (service pump_telemetry)
	// denied: flow "pumps_to_pump_servers" from zone "infusion_pumps" to zone "pump_servers" allows only pump_telemetry — not 22/tcp
	// denied: no flow from zone "guest" to zone "infusion_pumps"
}
