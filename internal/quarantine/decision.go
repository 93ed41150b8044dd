package quarantine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
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
}

// DecisionInput is the input of package ward.quarantine (docs/quarantine.md).
type DecisionInput struct {
	Request    DecisionRequest       `json:"request"`
	Alert      *DecisionAlert        `json:"alert,omitempty"`
	Device     DecisionDevice        `json:"device"`
	Quarantine *policy.DocQuarantine `json:"quarantine"`
	Current    DecisionCurrent       `json:"current"`
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
// policy directory's own when it has one (which then replaces it).
type Decider struct {
	query rego.PreparedEvalQuery
	// Custom reports an operator's module is in use.
	Custom bool
}

// NewDecider compiles the decision once.
func NewDecider(ctx context.Context, cfg *policy.Config) (*Decider, error) {
	d := &Decider{}
	var opts []func(*rego.Rego)
	for _, m := range cfg.Modules {
		parsed, err := ast.ParseModuleWithOpts(m.Filename, string(m.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, err
		}
		if parsed.Package.Path.String() == "data.ward.quarantine" {
			d.Custom = true
			opts = append(opts, rego.ParsedModule(parsed))
		}
	}
	if !d.Custom {
		name, src := builtin.Quarantine()
		opts = append(opts, rego.Module(name, src))
	}
	opts = append(opts, rego.Query("data.ward.quarantine.decision"), rego.SetRegoVersion(ast.RegoV1))
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compiling the quarantine decision (package ward.quarantine): %w", err)
	}
	d.query = q
	return d, nil
}

// Decide evaluates the decision for in. A result that is not a valid
// decision is an error naming what is wrong, so an operator's module cannot
// silently do nothing.
func (d *Decider) Decide(ctx context.Context, in DecisionInput) (Decision, error) {
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
