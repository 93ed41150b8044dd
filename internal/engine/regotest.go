package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/wardnet/ward/policy"
)

// TestResult is the outcome of one Rego test rule.
type TestResult struct {
	Package  string        `json:"package"`
	Name     string        `json:"name"`
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Pass     bool          `json:"pass"`
	Skip     bool          `json:"skip,omitempty"`
	Error    string        `json:"error,omitempty"` // an evaluation error, as opposed to a failed test
	Duration time.Duration `json:"duration_ns"`
}

// RunTests runs the test_ rules of the policy's *_test.rego files against its
// modules with OPA's tester. filter, when not empty, is a regular expression
// a test's package.name must match.
func RunTests(ctx context.Context, cfg *policy.Config, filter string) ([]TestResult, error) {
	modules := map[string]*ast.Module{}
	for _, m := range append(append([]*policy.RegoModule(nil), cfg.Modules...), cfg.TestModules...) {
		mod, err := ast.ParseModuleWithOpts(m.Filename, string(m.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("%s: %w (run ward validate for details)", m.Filename, err)
		}
		modules[m.Filename] = mod
	}
	if filter != "" {
		if _, err := regexp.Compile(filter); err != nil {
			return nil, fmt.Errorf("bad -run pattern %q: %w", filter, err)
		}
	}
	// Tests run in the sandbox too: a test that could call http.send would
	// be a way around it, and a module must behave in ward test as it does
	// when Ward evaluates it.
	compiler := ast.NewCompiler().WithCapabilities(Capabilities()).WithEnablePrintStatements(true).WithDefaultRegoVersion(ast.RegoV1)
	runner := tester.NewRunner().SetCompiler(compiler).SetModules(modules).SetTimeout(30 * time.Second).Filter(filter).RaiseBuiltinErrors(true)
	ch, err := runner.RunTests(ctx, nil)
	var errs ast.Errors
	if errors.As(err, &errs) {
		return nil, errors.New(CompileDiagnostics(cfg, errs).Error())
	}
	if err != nil {
		return nil, err
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{Package: r.Package, Name: r.Name, Pass: r.Pass(), Skip: r.Skip, Duration: r.Duration}
		if r.Location != nil {
			tr.File, tr.Line = r.Location.File, r.Location.Row
		}
		if r.Error != nil {
			tr.Error = r.Error.Error()
		}
		out = append(out, tr)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out, nil
}
