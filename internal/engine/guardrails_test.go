package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

const guardrailBase = `
settings { default_zone = "unclassified" }
zone "unclassified" { criticality = "low" }
zone "guest" { criticality = "low" }
zone "pumps" { criticality = "life_critical" }
zone "pacs" { criticality = "high" }
zone "printers" { criticality = "low" }
network "internet" { cidrs = ["0.0.0.0/0", "::/0"] }
network "ehr" { cidrs = ["10.10.0.0/16"] }
service "https" { tcp = [443] }
service "everything" { tcp = ["1-65535"] }
service "high_udp" { udp = ["1-65535"] }
`

func TestBuiltinGuardrails(t *testing.T) {
	tests := []struct {
		name string
		flow string
		rule string // "" = no denial
	}{
		{"guest to life-critical", `from = zone.guest
  to = zone.pumps
  services = [service.https]
  reason = "x"`, "untrusted_to_critical"},
		{"default zone to high", `from = zone.unclassified
  to = zone.pacs
  services = [service.https]
  reason = "x"`, "untrusted_to_critical"},
		{"guest to a low zone is fine", `from = zone.guest
  to = zone.printers
  services = [service.https]
  reason = "x"`, ""},
		{"life-critical to the internet", `from = zone.pumps
  to = network.internet
  services = [service.https]
  reason = "x"`, "life_critical_to_internet"},
		{"life-critical to the EHR is fine", `from = zone.pumps
  to = network.ehr
  services = [service.https]
  reason = "x"`, ""},
		{"no reason", `from = zone.pacs
  to = network.ehr
  services = [service.https]`, "flow_reason_required"},
		{"blank reason", `from = zone.pacs
  to = network.ehr
  services = [service.https]
  reason = "   "`, "flow_reason_required"},
		{"all TCP ports into life-critical", `from = zone.pacs
  to = zone.pumps
  services = [service.everything]
  reason = "x"`, "all_ports_to_life_critical"},
		{"all UDP ports into life-critical", `from = zone.pacs
  to = zone.pumps
  services = [service.high_udp]
  reason = "x"`, "all_ports_to_life_critical"},
		{"all ports into a high zone is not this rule", `from = zone.printers
  to = zone.pacs
  services = [service.everything]
  reason = "x"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, waive := range []bool{false, true} {
				src := guardrailBase + "flow \"f\" {\n  " + tt.flow + "\n"
				if waive && tt.rule != "" {
					src += "  waive = [\"" + tt.rule + "\"]\n  waive_reason = \"accepted by the CISO, RISK-1\"\n"
				}
				src += "}\n"
				cfg, diags := policy.NewParser().Load(policy.Source{Filename: "g.hcl", Bytes: []byte(src)})
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				e := newEngine(t, cfg, nil)
				res, err := e.Evaluate(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tt.rule == "":
					if len(res.Deny) != 0 {
						t.Fatalf("unexpected denial: %+v", res.Deny)
					}
				case !waive:
					if len(res.Deny) != 1 || res.Deny[0].Rule != tt.rule || res.Deny[0].Flow != "f" || !strings.Contains(res.Deny[0].Message, `"f"`) {
						t.Fatalf("want one %s denial naming flow f, got %+v", tt.rule, res.Deny)
					}
				default:
					if len(res.Deny) != 0 || len(res.Waived) != 1 || res.Waived[0].Rule != tt.rule || res.Waived[0].Reason != "accepted by the CISO, RISK-1" {
						t.Fatalf("waived: deny %+v, waived %+v", res.Deny, res.Waived)
					}
				}
			}
		})
	}
}

func TestWaiverOfOneRuleKeepsTheOthers(t *testing.T) {
	src := guardrailBase + `flow "f" {
  from = zone.guest
  to = zone.pumps
  services = [service.everything]
  reason = "x"
  waive = ["untrusted_to_critical"]
  waive_reason = "portal appliance"
}
`
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "g.hcl", Bytes: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := newEngine(t, cfg, nil).Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deny) != 1 || res.Deny[0].Rule != "all_ports_to_life_critical" || len(res.Waived) != 1 {
		t.Fatalf("deny %+v waived %+v", res.Deny, res.Waived)
	}
}

func TestOperatorGuardrailsAndPlacement(t *testing.T) {
	cfg, diags := policy.NewParser().Load(
		policy.Source{Filename: "p.hcl", Bytes: []byte(guardrailBase + `flow "f" {
  from = zone.pacs
  to = network.ehr
  services = [service.https]
  reason = "x"
}
`)},
		policy.Source{Filename: "g.rego", Bytes: []byte(`package ward.guardrails

deny contains msg if {
	some name, f in input.flows
	f.ticket == ""
	msg := sprintf("flow %q has no ticket", [name])
}

warn contains "pacs has no VLAN" if input.zones.pacs.vlan == null
`)},
		policy.Source{Filename: "place.rego", Bytes: []byte(`package ward.placement

zone_match[id] contains "pacs" if {
	d := data.ward.devices[id]
	startswith(d.name, "pacs-")
}
`)},
	)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, devices := loadExample(t)
	devices[0].Name = "pacs-archive-1" // placed by the operator's rule
	e := newEngine(t, cfg, devices[:3])
	res, err := e.Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deny) != 1 || res.Deny[0].Message != `flow "f" has no ticket` || res.Deny[0].Builtin {
		t.Fatalf("operator deny: %+v", res.Deny)
	}
	if len(res.Warn) != 1 || res.Warn[0].Message != "pacs has no VLAN" {
		t.Fatalf("operator warn: %+v", res.Warn)
	}
	if res.Zone["pacs-archive-1"] != "pacs" || res.Zone[devices[1].Name] != "unclassified" {
		t.Fatalf("operator placement: %v", res.Zone)
	}
}

func TestExpiredFlowsDropped(t *testing.T) {
	src := guardrailBase + `flow "old" {
  from = zone.pacs
  to = network.ehr
  services = [service.https]
  reason = "x"
  expires = "2026-11-21"
}
flow "today" {
  from = zone.pacs
  to = network.ehr
  services = [service.https]
  reason = "x"
  expires = "2026-11-22"
}
`
	cfg, _ := policy.NewParser().Load(policy.Source{Filename: "e.hcl", Bytes: []byte(src)})
	res, err := newEngine(t, cfg, nil).Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.Flows["old"]; ok || len(res.Expired) != 1 || res.Expired[0] != "old" {
		t.Fatalf("flows %v expired %v", res.Flows, res.Expired)
	}
	if _, ok := res.Flows["today"]; !ok {
		t.Fatal("a flow is in force through its expiry day")
	}
}

// TestEvaluateRereadsTheClock: a long-running server drops a flow the day
// after it expires without being rebuilt.
func TestEvaluateRereadsTheClock(t *testing.T) {
	src := guardrailBase + `flow "vendor" {
  from = zone.pacs
  to = network.ehr
  services = [service.https]
  reason = "x"
  expires = "2026-12-31"
}
`
	cfg, _ := policy.NewParser().Load(policy.Source{Filename: "e.hcl", Bytes: []byte(src)})
	now := testNow
	e, diags := New(context.Background(), cfg, nil, WithClock(func() time.Time { return now }))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if res, _ := e.Evaluate(context.Background()); len(res.Expired) != 0 {
		t.Fatalf("expired too early: %v", res.Expired)
	}
	now = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if res, _ := e.Evaluate(context.Background()); len(res.Expired) != 1 {
		t.Fatalf("not expired after its day: %v", res.Expired)
	}
}

// TestGuardrailsResistSplitting: the built-in rules judge what a flow
// opens, not how it is written.
func TestGuardrailsResistSplitting(t *testing.T) {
	tests := []struct {
		name, extra, flow, rule string
	}{
		{"all ports in two ranges", `service "halves" { tcp = ["1-32767", "32768-65535"] }`, `from = zone.pacs
  to = zone.pumps
  services = [service.halves]`, "all_ports_to_life_critical"},
		{"all ports across two services", `service "low" { tcp = ["1-40000"] }
service "rest" { tcp = ["30000-65535"] }`, `from = zone.pacs
  to = zone.pumps
  services = [service.low, service.rest]`, "all_ports_to_life_critical"},
		{"the internet in two halves", `network "halves" { cidrs = ["0.0.0.0/1", "128.0.0.0/1"] }`, `from = zone.pumps
  to = network.halves
  services = [service.https]`, "life_critical_to_internet"},
		{"ranges with a gap are not all ports", `service "gappy" { tcp = ["1-1000", "1002-65535"] }`, `from = zone.pacs
  to = zone.pumps
  services = [service.gappy]`, ""},
		{"a network beside the guest subnet is not guest", `network "ehr_b" { cidrs = ["10.61.191.0/24"] }`, `from = network.ehr_b
  to = zone.pumps
  services = [service.https]`, ""},
		{"a network covering the guest subnet", `network "guest_wifi" { cidrs = ["10.61.190.0/25"] }`, `from = network.guest_wifi
  to = zone.pumps
  services = [service.https]`, "untrusted_to_critical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(guardrailBase, `zone "guest" { criticality = "low" }`, `zone "guest" {
  criticality = "low"
  subnets = ["10.61.190.0/24"]
}`, 1) + tt.extra + "\nflow \"f\" {\n  " + tt.flow + "\n  reason = \"x\"\n}\n"
			cfg, diags := policy.NewParser().Load(policy.Source{Filename: "s.hcl", Bytes: []byte(src)})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			res, err := newEngine(t, cfg, nil).Evaluate(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.rule == "" {
				if len(res.Deny) != 0 {
					t.Fatalf("unexpected denial %+v", res.Deny)
				}
				return
			}
			if len(res.Deny) == 0 || res.Deny[0].Rule != tt.rule {
				t.Fatalf("want a %s denial, got %+v", tt.rule, res.Deny)
			}
		})
	}
}

// TestEffectivePolicyLists: a flow with lists of zones and networks on both
// sides allows every pair; address sets hold device IPs and subnets.
func TestEffectivePolicyLists(t *testing.T) {
	src := guardrailBase + `zone "lab" {
  criticality = "high"
  subnets = ["10.61.240.0/24"]
  match { class = ["analyzer"] }
}
flow "f" {
  from = [zone.lab, network.ehr]
  to = [zone.pacs, network.internet]
  services = [service.https]
  reason = "x"
}
`
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "l.hcl", Bytes: []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, devices := loadExample(t)
	dev := devices[0]
	dev.Class, dev.Name = "analyzer", "an-1"
	res, err := newEngine(t, cfg, []inventory.Device{dev}).Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"lab", "pacs"}, {"lab", "network:internet"}, {"network:ehr", "pacs"}, {"network:ehr", "network:internet"}} {
		if got := res.Matrix[pair[0]][pair[1]]; len(got) != 1 || got[0] != "https" {
			t.Errorf("matrix[%s][%s] = %v, want [https]", pair[0], pair[1], got)
		}
	}
	if _, ok := res.Addresses["lab"][dev.IP.String()]; !ok {
		t.Errorf("lab addresses %v lack the analyzer's IP", res.Addresses["lab"])
	}
	if _, ok := res.Addresses["lab"]["10.61.240.0/24"]; !ok {
		t.Errorf("lab addresses %v lack its subnet", res.Addresses["lab"])
	}
}
