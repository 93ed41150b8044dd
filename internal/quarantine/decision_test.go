package quarantine

import (
	"context"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
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
