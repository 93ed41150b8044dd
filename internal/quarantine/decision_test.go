package quarantine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/wardnet/ward/policy"
	builtin "github.com/wardnet/ward/policy/rego"
)

// TestBuiltinDecisionRego runs policy/rego/quarantine_test.rego against the
// built-in decision module.
func TestBuiltinDecisionRego(t *testing.T) {
	name, src := builtin.Quarantine()
	testSrc, err := builtin.Files().ReadFile("quarantine_test.rego")
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string]*ast.Module{}
	for n, s := range map[string]string{name: src, "quarantine_test.rego": string(testSrc)} {
		m, err := ast.ParseModuleWithOpts(n, s, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatal(err)
		}
		modules[n] = m
	}
	ch, err := tester.NewRunner().SetModules(modules).SetTimeout(30*time.Second).RunTests(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range ch {
		n++
		if r.Fail || r.Error != nil {
			t.Errorf("%s: fail (error %v)", r.Name, r.Error)
		}
	}
	if n < 6 {
		t.Errorf("%d Rego tests ran, want the 6 in quarantine_test.rego", n)
	}
}

// decider compiles an operator decision module (soc.rego) with the given
// deadline.
func decider(t *testing.T, module string, opts ...DeciderOption) *Decider {
	t.Helper()
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "p.hcl", Bytes: []byte(`zone "a" { criticality = "low" }`)},
		policy.Source{Filename: "soc.rego", Bytes: []byte(module)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	d, err := NewDecider(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Custom {
		t.Fatal("the operator's module is not in use")
	}
	return d
}

func alertInput(device, signature string) DecisionInput {
	return DecisionInput{Request: DecisionRequest{}, Alert: &DecisionAlert{Source: "suricata", ID: device + signature, Severity: "high", Signature: signature},
		Device: DecisionDevice{Name: device, Class: "pc", Criticality: "low", Labels: map[string]string{}, EssentialFlows: []string{}}}
}

// loopingDecision never finishes for a "loop" alert: 8e9 cheap iterations
// that allocate nothing, so only the deadline stops it. Any other alert
// isolates.
const loopingDecision = `package ward.quarantine

spin if {
	input.alert.signature == "loop"
	count([1 | some a in numbers.range(1, 2000); some b in numbers.range(1, 2000); some c in numbers.range(1, 2000); a + b + c < 0]) == 0
}

decision := {"action": "notify", "pending": "", "reason": "spun"} if spin

decision := {"action": "isolate", "pending": "", "reason": "bad traffic"} if input.alert.signature != "loop"
`

// TestDecisionLoopTimesOutToNotify: a decision that loops becomes notify
// at its deadline, with the reason kept, and alerts decided meanwhile on
// other goroutines are not held up by it.
func TestDecisionLoopTimesOutToNotify(t *testing.T) {
	const limit = 300 * time.Millisecond
	d := decider(t, loopingDecision, WithDecisionTimeout(limit))
	ctx := context.Background()

	type outcome struct {
		dec  Decision
		err  error
		took time.Duration
	}
	looped := make(chan outcome, 1)
	start := time.Now()
	go func() {
		dec, err := d.Decide(ctx, alertInput("ws-loop", "loop"))
		looped <- outcome{dec, err, time.Since(start)}
	}()
	// Other alerts, decided while the loop runs, each well inside the
	// looping one's deadline.
	for i := range 20 {
		t0 := time.Now()
		dec, err := d.Decide(ctx, alertInput(fmt.Sprintf("ws-%d", i), "scan"))
		if err != nil || dec.Action != LevelIsolate || dec.Failed || dec.Reason != "bad traffic" {
			t.Fatalf("alert %d beside the loop: %+v, %v", i, dec, err)
		}
		if took := time.Since(t0); took > limit {
			t.Fatalf("alert %d took %v beside the loop, want well under %v", i, took, limit)
		}
	}
	select {
	case o := <-looped:
		if o.took < limit {
			t.Fatalf("the loop finished in %v, before the deadline: the fixture does not loop", o.took)
		}
	default:
	}
	o := <-looped
	if o.err != nil {
		t.Fatalf("a decision past its deadline is notify, not an error: %v", o.err)
	}
	if o.dec.Action != LevelNotify || o.dec.Pending != "" || !o.dec.Failed {
		t.Errorf("looping decision: %+v, want notify, failed", o.dec)
	}
	for _, want := range []string{"ward.quarantine", "policy's own module", "did not finish within 300ms", "a person decides"} {
		if !strings.Contains(o.dec.Reason, want) {
			t.Errorf("reason %q does not say %q", o.dec.Reason, want)
		}
	}
	if o.took > limit+2*time.Second {
		t.Errorf("the loop was stopped after %v, want about %v", o.took, limit)
	}
}

// TestDecisionFailuresBecomeNotify: whatever goes wrong in the module, the
// alert becomes notify with the reason, never an error or an enforcement.
func TestDecisionFailuresBecomeNotify(t *testing.T) {
	for _, tc := range []struct{ name, body, reason string }{
		{"builtin error", `decision := {"action": "isolate", "pending": "", "reason": "x"} if to_number(input.device.class) > 1`, "to_number"},
		{"undefined", `decision := {"action": "isolate", "pending": "", "reason": "x"} if input.device.class == "nothing"`, "undefined for device ws-1"},
		{"bad action", `decision := {"action": "shutdown", "pending": "", "reason": "x"}`, `action "shutdown"`},
		{"bad pending", `decision := {"action": "notify", "pending": "later", "reason": "x"}`, `pending "later"`},
		{"not an object", `decision := "isolate"`, "not {action, pending, reason}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decider(t, "package ward.quarantine\n\n"+tc.body+"\n")
			dec, err := d.Decide(context.Background(), alertInput("ws-1", "scan"))
			if err != nil {
				t.Fatal(err)
			}
			if dec.Action != LevelNotify || dec.Pending != "" || !dec.Failed || !strings.Contains(dec.Reason, tc.reason) {
				t.Errorf("got %+v, want notify, failed, reason naming %q", dec, tc.reason)
			}
		})
	}
}

// TestDecisionCallerGaveUp: when the caller's context ends, nothing is
// decided: an error, not a notify that would be recorded as the module's.
func TestDecisionCallerGaveUp(t *testing.T) {
	d := decider(t, loopingDecision, WithDecisionTimeout(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	dec, err := d.Decide(ctx, alertInput("ws-loop", "loop"))
	if !errors.Is(err, context.DeadlineExceeded) || dec.Action != "" {
		t.Fatalf("got %+v, %v; want no decision and the caller's deadline", dec, err)
	}
}

// TestNewDeciderRefusesForbiddenBuiltins: a decision module calling the
// network or the environment does not compile, and says where and why.
func TestNewDeciderRefusesForbiddenBuiltins(t *testing.T) {
	for builtinName, call := range map[string]string{
		"http.send":          `http.send({"method": "POST", "url": "http://192.0.2.1/", "body": input})`,
		"net.lookup_ip_addr": `net.lookup_ip_addr("soc.example.org")`,
		"opa.runtime":        `opa.runtime()`,
	} {
		t.Run(builtinName, func(t *testing.T) {
			src := "package ward.quarantine\n\ndecision := {\"action\": \"notify\", \"pending\": \"\", \"reason\": r} if {\n\tr := \"x\"\n\tx := " + call + "\n\tx != 1\n}\n"
			cfg, diags := policy.NewParser().Load(policy.Source{Filename: "p.hcl", Bytes: []byte(`zone "a" { criticality = "low" }`)},
				policy.Source{Filename: "soc.rego", Bytes: []byte(src)})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			_, err := NewDecider(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), "soc.rego:5") || !strings.Contains(err.Error(), builtinName+" is not allowed in Ward policy") {
				t.Fatalf("want %s refused at soc.rego:5, got %v", builtinName, err)
			}
		})
	}
}

// TestDecisionNow: a module reads the time from input.now_ns, filled from
// the Decider's clock.
func TestDecisionNow(t *testing.T) {
	at := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	d := decider(t, `package ward.quarantine

decision := {"action": "notify", "pending": "", "reason": sprintf("hour %d", [time.clock([input.now_ns, "UTC"])[0]])}
`, WithDecisionClock(func() time.Time { return at }))
	dec, err := d.Decide(context.Background(), alertInput("ws-1", "scan"))
	if err != nil || dec.Reason != "hour 3" {
		t.Fatalf("got %+v, %v; want hour 3", dec, err)
	}
}
