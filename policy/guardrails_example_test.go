package policy_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/wardnet/ward/policy"
)

const exampleDir = "../examples/hospital/policy"

var allDrivers = map[string][]string{
	"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"},
	"cisco_iosxe": {"access_switch", "firewall"}, "arista_eos": {"access_switch", "firewall"},
	"juniper_junos": {"access_switch", "firewall"},
}

// evalGuardrails evaluates the policy directory's guardrails against doc and
// returns the deny messages.
func evalGuardrails(t *testing.T, cfg *policy.Config, doc *policy.Document) []string {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var input any
	if err := json.Unmarshal(b, &input); err != nil {
		t.Fatal(err)
	}
	opts := []func(*rego.Rego){rego.Query("data.ward.guardrails.deny"), rego.Input(input)}
	for _, m := range cfg.Modules {
		opts = append(opts, rego.Module(m.Filename, string(m.Source)))
	}
	rs, err := rego.New(opts...).Eval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		t.Fatalf("unexpected result set %v", rs)
	}
	var msgs []string
	for _, m := range rs[0].Expressions[0].Value.([]any) {
		msgs = append(msgs, m.(string))
	}
	return msgs
}

// TestExampleGuardrails: the example hospital passes its own guardrails, and
// typical bad changes are caught, with a message naming the flow.
func TestExampleGuardrails(t *testing.T) {
	cfg, diags := policy.NewParser(policy.WithDrivers(allDrivers)).LoadDir(exampleDir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(cfg.Modules) == 0 {
		t.Fatal("the example has no guardrails")
	}
	if denies := evalGuardrails(t, cfg, cfg.Document()); len(denies) != 0 {
		t.Fatalf("example policy is denied by its own guardrails:\n%s", strings.Join(denies, "\n"))
	}

	bad := []struct {
		name   string
		change func(d *policy.Document)
		want   string
	}{
		{"flow into pumps without ticket", func(d *policy.Document) {
			f := d.Flows["pumps_to_pump_servers"]
			f.To, f.Ticket = []policy.DocRef{{Kind: "zone", Name: "infusion_pumps"}}, ""
			d.Flows["pumps_to_pump_servers"] = f
		}, "pumps_to_pump_servers"},
		{"guest into pumps", func(d *policy.Document) {
			d.Flows["guest_to_pumps"] = policy.DocFlow{
				From: []policy.DocRef{{Kind: "zone", Name: "guest"}}, To: []policy.DocRef{{Kind: "zone", Name: "infusion_pumps"}},
				Services: []string{"https"}, Reason: "bad idea", Ticket: "CHG-1",
			}
		}, "guest_to_pumps"},
		{"telnet into monitors", func(d *policy.Document) {
			d.Services["telnet"] = policy.DocService{TCP: []policy.PortRange{{From: 23, To: 23}}, UDP: []policy.PortRange{}, ICMP: []string{}, ICMPv6: []string{}}
			d.Flows["biomed_telnet"] = policy.DocFlow{
				From: []policy.DocRef{{Kind: "zone", Name: "biomed_engineering"}}, To: []policy.DocRef{{Kind: "zone", Name: "patient_monitors"}},
				Services: []string{"telnet"}, Reason: "legacy console", Ticket: "CHG-2",
			}
		}, "biomed_telnet"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			doc := cfg.Document()
			tt.change(doc)
			denies := evalGuardrails(t, cfg, doc)
			found := false
			for _, d := range denies {
				found = found || strings.Contains(d, tt.want)
			}
			if !found {
				t.Errorf("no deny naming %q; denies: %q", tt.want, denies)
			}
		})
	}
}

// TestExampleRegoTests runs the example's *_test.rego files, as ward test will.
func TestExampleRegoTests(t *testing.T) {
	results, err := tester.Run(context.Background(), exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no Rego tests found in the example")
	}
	for _, r := range results {
		if !r.Pass() {
			t.Errorf("%s.%s: %s", r.Package, r.Name, r.String())
		}
	}
}
