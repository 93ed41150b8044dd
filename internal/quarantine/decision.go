package quarantine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/policy"
	builtin "github.com/wardnet/ward/policy/rego"
)

// Levels a quarantine enforces, weakest first.
const (
	LevelNotify   = policy.ActionNotify
	LevelRestrict = policy.ActionRestrict
	LevelIsolate  = policy.ActionIsolate
)

func levelRank(l string) int {
	switch l {
	case LevelRestrict:
		return 1
	case LevelIsolate:
		return 2
	}
	return 0
}

// Decision is what the Rego decision says to do.
type Decision struct {
	// Action is enforced now: isolate, restrict or notify.
	Action string `json:"action"`
	// Pending is a stronger level waiting for a person ("isolate" or "").
	Pending string `json:"pending"`
	Reason  string `json:"reason"`
	// Failed reports the module gave no decision (it ran past its
	// deadline, failed, or answered something that is not a decision):
	// Action is then notify and Reason says what went wrong.
	Failed bool `json:"-"`
}

// DecisionInput is the input of package ward.quarantine (docs/quarantine.md).
type DecisionInput struct {
	Request    DecisionRequest       `json:"request"`
	Alert      *DecisionAlert        `json:"alert,omitempty"`
	Device     DecisionDevice        `json:"device"`
	Quarantine *policy.DocQuarantine `json:"quarantine"`
	Current    DecisionCurrent       `json:"current"`
	// NowNs is the time of the decision in Unix nanoseconds, the clock a
	// module may read (time.now_ns is not allowed in Ward policy). Decide
	// fills it from the Decider's clock when it is zero.
	NowNs int64 `json:"now_ns"`
}
type DecisionRequest struct {
	Level  string `json:"level"`
	Manual bool   `json:"manual"`
}

type DecisionAlert struct {
	Source    string `json:"source"`
	ID        string `json:"id"`
	Severity  string `json:"severity"`
	Signature string `json:"signature"`
	Format    string `json:"format"`
}

type DecisionDevice struct {
	Name           string            `json:"name"`
	Class          string            `json:"class"`
	Vendor         string            `json:"vendor"`
	Criticality    string            `json:"criticality"`
	Zone           string            `json:"zone"`
	Labels         map[string]string `json:"labels"`
	EssentialFlows []string          `json:"essential_flows"`
}

type DecisionCurrent struct {
	Level   string `json:"level"`
	Pending string `json:"pending"`
}

// Decider evaluates package ward.quarantine: the built-in module, or the
// policy directory's own when it has one (which then replaces it). The
// module is compiled in the engine's Rego sandbox, and every decision runs
// under a deadline. A Decider is safe for concurrent use: callers need not,
// and should not, hold a lock while it evaluates.
type Decider struct {
	query   rego.PreparedEvalQuery
	timeout time.Duration
	now     func() time.Time
	// Custom reports an operator's module is in use.
	Custom bool
}

// DeciderOption configures NewDecider.
type DeciderOption func(*Decider)

// WithDecisionTimeout sets the deadline of one decision (default
// engine.DecisionTimeout).
func WithDecisionTimeout(d time.Duration) DeciderOption {
	return func(dc *Decider) { dc.timeout = d }
}

// WithDecisionClock sets the clock that fills DecisionInput.NowNs.
func WithDecisionClock(now func() time.Time) DeciderOption {
	return func(dc *Decider) { dc.now = now }
}

// NewDecider compiles the decision once, in the sandbox: a module calling
// a builtin Ward does not allow (http.send, …) is an error naming its file
// and line.
func NewDecider(ctx context.Context, cfg *policy.Config, opts ...DeciderOption) (*Decider, error) {
	d := &Decider{timeout: engine.DecisionTimeout, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	modules := map[string]*ast.Module{}
	for _, m := range cfg.Modules {
		parsed, err := ast.ParseModuleWithOpts(m.Filename, string(m.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("the quarantine decision does not parse: %s", policy.RegoDiagnostics(m, err).Error())
		}
		if parsed.Package.Path.String() == "data.ward.quarantine" {
			d.Custom = true
			modules[m.Filename] = parsed
		}
	}
	if !d.Custom {
		name, src := builtin.Quarantine()
		parsed, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("the built-in quarantine decision does not parse: %w", err)
		}
		modules[name] = parsed
	}
	compiler := engine.NewCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("compiling the quarantine decision (package ward.quarantine): %s; ward validate shows it in context",
			engine.CompileDiagnostics(cfg, compiler.Errors).Error())
	}
	opts2 := append(engine.RegoOptions(), rego.Compiler(compiler), rego.Query("data.ward.quarantine.decision"))
	q, err := rego.New(opts2...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compiling the quarantine decision (package ward.quarantine): %w", err)
	}
	d.query = q
	return d, nil
}

// Decide evaluates the decision for in, within the Decider's deadline.
//
// It fails only when ctx ends first (the caller gave up; nothing was
// decided). Anything else the module does wrong — running past the
// deadline, an evaluation error, no decision, or a result that is not a
// valid one — is a Decision with Action notify, no pending level, Failed
// set and a Reason saying what happened, so the alert is recorded and a
// person decides, and an operator's module cannot silently do nothing.
func (d *Decider) Decide(ctx context.Context, in DecisionInput) (Decision, error) {
	if in.NowNs == 0 {
		in.NowNs = d.now().UnixNano()
	}
	tctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	dec, err := d.eval(tctx, in)
	if err == nil {
		return dec, nil
	}
	if ctx.Err() != nil {
		return Decision{}, fmt.Errorf("deciding on device %s: %w", in.Device.Name, ctx.Err())
	}
	why := err.Error()
	if tctx.Err() != nil {
		why = fmt.Sprintf("it did not finish within %v, so Ward stopped it (the module loops or is too slow)", d.timeout)
	}
	module := "the built-in module"
	if d.Custom {
		module = "the policy's own module"
	}
	return Decision{Action: LevelNotify, Failed: true,
		Reason: fmt.Sprintf("the quarantine decision (package ward.quarantine, %s) gave no decision: %s; nothing was enforced, a person decides", module, why)}, nil
}

// eval runs the query once and checks its result.
func (d *Decider) eval(ctx context.Context, in DecisionInput) (Decision, error) {
	var doc any
	if err := remarshal(in, &doc); err != nil {
		return Decision{}, err
	}
	rs, err := d.query.Eval(ctx, rego.EvalInput(doc))
	if err != nil {
		return Decision{}, fmt.Errorf("evaluating ward.quarantine.decision: %w", err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return Decision{}, fmt.Errorf("ward.quarantine.decision is undefined for device %s; it must always give a decision", in.Device.Name)
	}
	var out Decision
	if err := remarshal(rs[0].Expressions[0].Value, &out); err != nil {
		return Decision{}, fmt.Errorf("ward.quarantine.decision is not {action, pending, reason}: %w", err)
	}
	switch out.Action {
	case LevelIsolate, LevelRestrict, LevelNotify:
	default:
		return Decision{}, fmt.Errorf("ward.quarantine.decision gave action %q; want isolate, restrict or notify", out.Action)
	}
	if out.Pending != "" && out.Pending != LevelIsolate && out.Pending != LevelRestrict {
		return Decision{}, fmt.Errorf("ward.quarantine.decision gave pending %q; want isolate, restrict or \"\"", out.Pending)
	}
	return out, nil
}

func remarshal(v any, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
