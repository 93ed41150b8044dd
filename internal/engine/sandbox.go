package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/wardnet/ward/policy"
)

// The Rego sandbox. Operator modules (placement, guardrails, the quarantine
// decision) are code from the policy directory that Ward runs inside the
// controller that holds the firewalls' credentials, often under the
// quarantine manager's deadlines. They are compiled with Capabilities, so a
// module that reaches the network, the environment, the clock or a random
// source is refused when the policy is validated, not when an alert
// arrives; and every evaluation runs under a deadline, so a module that
// loops cannot stall placement, a plan or alert intake.

// Deadlines of Rego evaluation. The policy language has no place for them:
// they bound operator mistakes, not behaviour an operator tunes.
const (
	// DecisionTimeout bounds one quarantine decision. The built-in
	// module decides in microseconds; an operator's module that needs
	// seconds per alert is broken, and the alert becomes notify.
	DecisionTimeout = 2 * time.Second
	// evaluateBase plus evaluatePerDevice for each device bounds one full
	// Evaluate: placement, the effective policy and the guardrails: 15 s
	// at 10,000 devices, 60 s at 100,000. Measured on two cores at
	// 100,000 devices: 0.3 s with the built-in placement, 11 s with an
	// operator ward.placement module (each device placed on its own), so
	// a sound policy keeps five times its need, and a looping one is
	// stopped in a bounded time.
	evaluateBase      = 10 * time.Second
	evaluatePerDevice = 500 * time.Microsecond
	// updateTimeout bounds re-placing one device (UpdateDevice).
	updateTimeout = 2 * time.Second
)

// EvaluateTimeout is the default deadline of Evaluate for n devices.
func EvaluateTimeout(n int) time.Duration {
	return evaluateBase + time.Duration(n)*evaluatePerDevice
}

// forbiddenBuiltin says why a Rego builtin is not available to Ward
// policy, or forbidden=false when it is allowed. Every builtin OPA marks
// non-deterministic is either listed here or reviewed and allowed in
// TestSandboxCoversNondeterministicBuiltins, so an OPA upgrade that adds a
// network builtin cannot slip in unnoticed.
func forbiddenBuiltin(name string) (why string, forbidden bool) {
	switch name {
	case "http.send":
		return "it makes HTTP requests: policy would depend on, and could leak to, any host Ward can reach", true
	case "net.lookup_ip_addr":
		return "it resolves names over DNS: placement would change with the resolver's answers, and queries leak data", true
	case "opa.runtime":
		return "it reads Ward's environment and configuration, which hold database URLs and secrets", true
	case "time.now_ns":
		return "it reads the wall clock, so a plan and its apply could disagree; use input.now_ns, the one clock Ward evaluates with", true
	case "rand.intn", "uuid.rfc4122":
		return "it is random: the same policy and inventory would give different zones or decisions", true
	case "json.match_schema", "json.verify_schema":
		return "a $ref in the schema reads local files and fetches URLs", true
	case "io.jwt.decode_verify", "io.jwt.encode_sign", "io.jwt.encode_sign_raw":
		return "it reads the wall clock or a random source (Ward policy has no tokens to check; io.jwt.decode and io.jwt.verify_* stay available)", true
	case "net.cidr_expand":
		// Cancellation stops it at the deadline, but a /8 is 16 million
		// terms in memory before then; membership is what placement needs.
		return "it enumerates every address of a prefix (a /8 is 16 million) and can exhaust memory; test membership with net.cidr_contains or net.cidr_contains_matches", true
	}
	return "", false
}

// Capabilities are what operator Rego may use: OPA's builtins of this
// version minus those forbiddenBuiltin names, and no network host for any
// builtin that would fetch (belt and braces: none such is left).
func Capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		_, bad := forbiddenBuiltin(b.Name)
		return bad
	})
	caps.AllowNet = []string{}
	return caps
}

// RegoOptions are the options of every evaluation of operator Rego: the
// sandbox's capabilities at evaluation time too (allow_net), and builtin
// errors as errors rather than undefined, so a module that fails on
// some device is reported instead of silently placing it nowhere.
func RegoOptions() []func(*rego.Rego) {
	return []func(*rego.Rego){rego.Capabilities(Capabilities()), rego.StrictBuiltinErrors(true)}
}

// NewCompiler returns the compiler for Ward's built-in and operator Rego,
// with the sandbox's capabilities.
func NewCompiler() *ast.Compiler {
	return ast.NewCompiler().WithCapabilities(Capabilities()).WithEnablePrintStatements(false)
}

// CompileDiagnostics converts the compiler's errors into the diagnostics
// users see for HCL, at the file and line of the policy's module. A call
// of a forbidden builtin says so and why, rather than OPA's "undefined
// function".
func CompileDiagnostics(cfg *policy.Config, errs ast.Errors) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, e := range errs {
		d := policy.RegoErrorDiagnostic(cfg, e)
		if name, ok := strings.CutPrefix(e.Message, "undefined function "); ok {
			if why, bad := forbiddenBuiltin(name); bad {
				d.Summary = "Rego builtin not allowed in Ward policy"
				d.Detail = fmt.Sprintf("%s is not allowed in Ward policy: %s. Ward evaluates placement, guardrails and quarantine decisions without network, environment, wall clock or randomness, so the same policy and inventory always give the same result.", name, why)
			}
		}
		diags = append(diags, d)
	}
	return diags
}

// Check compiles the policy's Rego modules with Ward's built-in ones under
// the sandbox, as New does, and returns the diagnostics; nil when they
// compile. ward validate (and every command that loads a policy) runs it,
// so a forbidden builtin is reported before anything evaluates.
func Check(cfg *policy.Config) hcl.Diagnostics {
	_, _, diags := compileModules(cfg)
	return diags
}
