package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

const sandboxHCL = `settings { default_zone = "unclassified" }
zone "unclassified" { criticality = "low" }
zone "pumps" {
  criticality = "life_critical"
  match { class = ["infusion_pump"] }
}
zone "lab" {
  criticality = "medium"
  match { ip = ["10.61.0.0/16"] }
}
`

// forbiddenCalls are modules, one per package Ward evaluates, each calling
// a forbidden builtin on line 5, in a rule that is otherwise valid Rego.
func forbiddenCalls() map[string]string {
	calls := map[string]string{
		"http.send":          `http.send({"method": "GET", "url": "http://192.0.2.1/"})`,
		"net.lookup_ip_addr": `net.lookup_ip_addr("example.org")`,
		"opa.runtime":        `opa.runtime()`,
		"time.now_ns":        `time.now_ns()`,
		"rand.intn":          `rand.intn("x", 10)`,
		"uuid.rfc4122":       `uuid.rfc4122("x")`,
		"net.cidr_expand":    `net.cidr_expand("10.0.0.0/8")`,
		"json.match_schema":  `json.match_schema({}, {"$ref": "file:///etc/passwd"})`,
	}
	out := map[string]string{}
	for name, call := range calls {
		for _, pkg := range []string{"ward.placement", "ward.guardrails", "ward.quarantine"} {
			var rule string // the call is on line 5
			switch pkg {
			case "ward.placement":
				rule = "zone_match[id] contains \"pumps\" if {\n\tsome id, _ in data.ward.devices\n\tx := %s\n\tx != 1\n}"
			case "ward.guardrails":
				rule = "deny contains msg if {\n\tmsg := \"x\"\n\tx := %s\n\tx != 1\n}"
			default:
				rule = "decision := {\"action\": \"notify\", \"pending\": \"\", \"reason\": r} if {\n\tr := \"x\"\n\tx := %s\n\tx != 1\n}"
			}
			src := "package " + pkg + "\n\n" + fmt.Sprintf(rule, call) + "\n"
			out[name+" in "+pkg] = src
		}
	}
	return out
}

// TestSandboxRefusesForbiddenBuiltins: a module calling a network,
// environment, clock or random builtin in any package Ward evaluates does
// not compile; the diagnostic names the file, the line of the call, the
// builtin and that Ward does not allow it. The policy parser alone accepts
// the module, so it is the engine's sandbox that refuses it.
func TestSandboxRefusesForbiddenBuiltins(t *testing.T) {
	for name, src := range forbiddenCalls() {
		t.Run(name, func(t *testing.T) {
			builtinName := strings.Fields(name)[0]
			if got := strings.Count(src[:strings.Index(src, builtinName+"(")], "\n") + 1; got != 5 {
				t.Fatalf("fixture: call on line %d, want 5:\n%s", got, src)
			}
			cfg, diags := policy.NewParser().Load(policy.Source{Filename: "p.hcl", Bytes: []byte(sandboxHCL)},
				policy.Source{Filename: "operator.rego", Bytes: []byte(src)})
			if diags.HasErrors() {
				t.Fatalf("the policy parser should accept the module (OPA's default capabilities): %v", diags)
			}
			for what, d := range map[string]hcl.Diagnostics{"Check": Check(cfg), "New": newDiags(cfg)} {
				if len(d) != 1 {
					t.Fatalf("%s: want one diagnostic, got %v", what, d)
				}
				got := d[0]
				if got.Severity != hcl.DiagError || got.Summary != "Rego builtin not allowed in Ward policy" ||
					!strings.HasPrefix(got.Detail, builtinName+" is not allowed in Ward policy: ") {
					t.Errorf("%s: diagnostic %q / %q", what, got.Summary, got.Detail)
				}
				if got.Subject == nil || got.Subject.Filename != "operator.rego" || got.Subject.Start.Line != 5 {
					t.Errorf("%s: diagnostic at %v, want operator.rego:5", what, got.Subject)
				}
			}
		})
	}
}

func newDiags(cfg *policy.Config) hcl.Diagnostics {
	_, d := New(context.Background(), cfg, nil)
	return d
}

// TestSandboxCoversNondeterministicBuiltins: every builtin OPA marks
// non-deterministic (network, clock, randomness, environment) is either
// refused by the sandbox or listed here as reviewed. An OPA upgrade that
// adds one fails this test until someone decides.
func TestSandboxCoversNondeterministicBuiltins(t *testing.T) {
	reviewed := map[string]string{
		"rego.metadata.rule":  "reads the module's own annotations",
		"rego.metadata.chain": "reads the module's own annotations",
	}
	caps := Capabilities()
	allowed := map[string]bool{}
	for _, b := range caps.Builtins {
		allowed[b.Name] = true
	}
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		_, forbidden := forbiddenBuiltin(b.Name)
		switch {
		case forbidden && allowed[b.Name]:
			t.Errorf("%s is forbidden but still in the capabilities", b.Name)
		case !forbidden && !allowed[b.Name]:
			t.Errorf("%s is not forbidden but missing from the capabilities", b.Name)
		case b.Nondeterministic && !forbidden && reviewed[b.Name] == "":
			t.Errorf("OPA marks %s non-deterministic: forbid it in forbiddenBuiltin or review it here", b.Name)
		}
	}
	for _, must := range []string{"http.send", "net.lookup_ip_addr", "opa.runtime", "time.now_ns", "rand.intn"} {
		if allowed[must] {
			t.Errorf("%s is allowed", must)
		}
	}
	if caps.AllowNet == nil || len(caps.AllowNet) != 0 {
		t.Errorf("AllowNet = %#v, want empty (no host), not nil (every host)", caps.AllowNet)
	}
}

// loopingModule never finishes in practice: 8e9 iterations, each cheap,
// none allocating, so only the deadline stops it.
const loopBody = `count([1 | some a in numbers.range(1, 2000); some b in numbers.range(1, 2000); some c in numbers.range(1, 2000); a + b + c < 0]) == 0`

// TestEvaluateDeadline: a placement or guardrail module that loops is
// stopped at the engine's deadline, with an error naming the step.
func TestEvaluateDeadline(t *testing.T) {
	for _, tc := range []struct{ name, module, step string }{
		{"placement", "package ward.placement\n\nzone_match[id] contains \"pumps\" if {\n\tdata.ward.devices[id]\n\t" + loopBody + "\n}\n", "ward.placement"},
		{"guardrails", "package ward.guardrails\n\ndeny contains \"slow\" if {\n\t" + loopBody + "\n}\n", "ward.guardrails"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := policy.NewParser().Load(policy.Source{Filename: "p.hcl", Bytes: []byte(sandboxHCL)},
				policy.Source{Filename: "slow.rego", Bytes: []byte(tc.module)})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			devices := []inventory.Device{{Name: "pump-1", Class: "infusion_pump", IP: netip.MustParseAddr("10.1.0.1"), Criticality: "life_critical"}}
			e, d := New(context.Background(), cfg, devices, WithTimeout(300*time.Millisecond))
			if d.HasErrors() {
				t.Fatal(d)
			}
			start := time.Now()
			_, err := e.Evaluate(context.Background())
			took := time.Since(start)
			var te *TimeoutError
			if !errors.As(err, &te) {
				t.Fatalf("want a TimeoutError, got %v after %v", err, took)
			}
			if !strings.Contains(te.Error(), tc.step) || te.Limit != 300*time.Millisecond {
				t.Errorf("error %q: want the step %s and the limit", te, tc.step)
			}
			if took > 5*time.Second {
				t.Errorf("stopped after %v, want about 300ms", took)
			}
		})
	}
}

// TestEvaluateTimeoutScales: the default deadline grows with the
// inventory and stays generous for 10,000 devices.
func TestEvaluateTimeoutScales(t *testing.T) {
	if EvaluateTimeout(10_000) < 10*time.Second || EvaluateTimeout(100_000) <= EvaluateTimeout(10_000) {
		t.Errorf("EvaluateTimeout: 10k %v, 100k %v", EvaluateTimeout(10_000), EvaluateTimeout(100_000))
	}
}

// TestStrictBuiltinErrorsKeepBuiltinPlacement: builtin errors are errors
// (StrictBuiltinErrors), yet the built-in placement still handles devices
// the builtins would choke on: no IP beside a zone matching by CIDR.
func TestStrictBuiltinErrorsKeepBuiltinPlacement(t *testing.T) {
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "p.hcl", Bytes: []byte(sandboxHCL)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	devices := []inventory.Device{
		{Name: "no-ip", Class: "printer", Criticality: "low", MAC: "00:1a:2b:3c:4d:99"},
		{Name: "lab-1", Class: "analyzer", IP: netip.MustParseAddr("10.61.3.4"), Criticality: "medium"},
		{Name: "pump-1", Class: "infusion_pump", Criticality: "life_critical"},
	}
	res, err := newEngine(t, cfg, devices).Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"no-ip": "unclassified", "lab-1": "lab", "pump-1": "pumps"}
	for d, z := range want {
		if res.Zone[d] != z {
			t.Errorf("%s in %q, want %q", d, res.Zone[d], z)
		}
	}
}

// TestStrictBuiltinErrorsInOperatorPlacement: an operator module whose
// builtin fails on some device is an error that says so, not a device
// silently left in the default zone.
func TestStrictBuiltinErrorsInOperatorPlacement(t *testing.T) {
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "p.hcl", Bytes: []byte(sandboxHCL)},
		policy.Source{Filename: "place.rego", Bytes: []byte("package ward.placement\n\nzone_match[id] contains \"lab\" if {\n\td := data.ward.devices[id]\n\tto_number(d.labels.floor) > 2\n}\n")})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	devices := []inventory.Device{{Name: "odd", Class: "x", Criticality: "low", Labels: map[string]string{"floor": "third"}}}
	_, err := newEngine(t, cfg, devices).Evaluate(context.Background())
	if err == nil || !strings.Contains(err.Error(), "place.rego:5") || !strings.Contains(err.Error(), "odd") {
		t.Fatalf("want an error at place.rego:5 naming device odd, got %v", err)
	}
}

// TestRunTestsSandboxed: ward test runs Rego tests under the same sandbox,
// so a test cannot call what the policy may not.
func TestRunTestsSandboxed(t *testing.T) {
	cfg := loadPolicy(t, map[string]string{
		"z.hcl": `zone "guest" { criticality = "low" }`,
		"g_test.rego": "package ward.guardrails_test\n\n" +
			"test_fetch if {\n\tr := http.send({\"method\": \"GET\", \"url\": \"http://192.0.2.1/\"})\n\tr.status_code == 200\n}\n",
	})
	_, err := RunTests(context.Background(), cfg, "")
	if err == nil || !strings.Contains(err.Error(), "g_test.rego:4") || !strings.Contains(err.Error(), "http.send is not allowed in Ward policy") {
		t.Fatalf("want http.send refused at g_test.rego:4, got %v", err)
	}
}

// A guardrail that asks a CMDB over HTTP is refused where it is written.
func ExampleCheck() {
	cfg, _ := policy.NewParser().Load(
		policy.Source{Filename: "zones.hcl", Bytes: []byte(`zone "pumps" { criticality = "life_critical" }`)},
		policy.Source{Filename: "cmdb.rego", Bytes: []byte(`package ward.guardrails

deny contains msg if {
	msg := "pump not in the CMDB"
	r := http.send({"method": "GET", "url": "http://cmdb.example.org/pumps"})
	r.status_code != 200
}
`)})
	for _, d := range Check(cfg) {
		fmt.Printf("%s:%d: %s\n", d.Subject.Filename, d.Subject.Start.Line, d.Summary)
	}
	// Output:
	// cmdb.rego:5: Rego builtin not allowed in Ward policy
}
