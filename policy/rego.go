package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/open-policy-agent/opa/v1/ast"
)

// regoPackages are the packages Ward evaluates. A module in any other
// package would be loaded and silently never consulted.
var regoPackages = []string{"ward.guardrails", "ward.placement", "ward.quarantine"}

// checkRego parses and compiles the policy directory's Rego modules (Rego v1)
// and reports their errors at file and line, like HCL errors. The source of
// each module is added to cfg.Files so diagnostics show a snippet.
func (cfg *Config) checkRego() hcl.Diagnostics {
	var diags hcl.Diagnostics
	parsed := map[string]*ast.Module{}
	for _, m := range append(append([]*RegoModule(nil), cfg.Modules...), cfg.TestModules...) {
		cfg.Files[m.Filename] = &hcl.File{Bytes: m.Source}
		mod, err := ast.ParseModuleWithOpts(m.Filename, string(m.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			diags = append(diags, regoDiagnostics(m, err)...)
			continue
		}
		if strings.HasSuffix(m.Filename, "_test.rego") {
			// Tests are parsed here and compiled by ward test, which is
			// where they run; compiling them on every validate costs more
			// than the rest of the policy together.
			continue
		}
		parsed[m.Filename] = mod
		pkg := strings.TrimPrefix(mod.Package.Path.String(), "data.")
		if !slices.Contains(regoPackages, pkg) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown Rego package",
				Detail: fmt.Sprintf("package %s is not one Ward evaluates, so its rules would never run. Use one of: %s (tests go in files ending _test.rego).",
					pkg, strings.Join(regoPackages, ", ")),
				Subject: regoRange(m, mod.Package.Location).Ptr(),
			})
		}
	}
	if len(parsed) == 0 || diags.HasErrors() {
		return diags
	}
	compiler := ast.NewCompiler()
	compiler.Compile(parsed)
	if compiler.Failed() {
		byName := map[string]*RegoModule{}
		for _, m := range append(append([]*RegoModule(nil), cfg.Modules...), cfg.TestModules...) {
			byName[m.Filename] = m
		}
		for _, e := range compiler.Errors {
			var m *RegoModule
			if e.Location != nil {
				m = byName[e.Location.File]
			}
			diags = append(diags, regoErrorDiagnostic(m, e))
		}
	}
	return diags
}

func regoDiagnostics(m *RegoModule, err error) hcl.Diagnostics {
	var errs ast.Errors
	var one *ast.Error
	switch {
	case errors.As(err, &errs):
	case errors.As(err, &one):
		errs = ast.Errors{one}
	default:
		return hcl.Diagnostics{errDiag(regoRange(m, nil), "Invalid Rego", err.Error())}
	}
	var diags hcl.Diagnostics
	for _, e := range errs {
		diags = append(diags, regoErrorDiagnostic(m, e))
	}
	return diags
}

func regoErrorDiagnostic(m *RegoModule, e *ast.Error) *hcl.Diagnostic {
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid Rego: " + e.Code,
		Detail:   e.Message + ".",
	}
	if e.Code == ast.ParseErr {
		d.Detail += " Rego files beside the policy are Rego v1: if, contains and in need no import."
	}
	if m != nil {
		// An error without a location (such as an empty module) is
		// reported at the top of its file.
		d.Subject = regoRange(m, e.Location).Ptr()
	}
	return d
}

// regoRange converts an OPA location into an HCL range in module m.
func regoRange(m *RegoModule, loc *ast.Location) hcl.Range {
	if loc == nil || loc.Row < 1 {
		return hcl.Range{Filename: m.Filename, Start: hcl.InitialPos, End: hcl.InitialPos}
	}
	start := hcl.Pos{Line: loc.Row, Column: loc.Col, Byte: loc.Offset}
	// Highlight the reported token, but never past the end of its line.
	n := len(loc.Text)
	if i := strings.IndexByte(string(loc.Text), '\n'); i >= 0 {
		n = i
	}
	if start.Byte+n > len(m.Source) || start.Byte < 0 {
		n = 0
		start.Byte = 0
	}
	end := hcl.Pos{Line: loc.Row, Column: loc.Col + n, Byte: start.Byte + n}
	return hcl.Range{Filename: m.Filename, Start: start, End: end}
}

// RegoDiagnostics converts an error from parsing module m into diagnostics
// at its file and line.
func RegoDiagnostics(m *RegoModule, err error) hcl.Diagnostics { return regoDiagnostics(m, err) }

// RegoErrorDiagnostic converts an OPA compile error into a diagnostic at the
// file and line of the policy's module it names (no location for others).
func RegoErrorDiagnostic(cfg *Config, e *ast.Error) *hcl.Diagnostic {
	var m *RegoModule
	if e.Location != nil {
		for _, rm := range append(append([]*RegoModule(nil), cfg.Modules...), cfg.TestModules...) {
			if rm.Filename == e.Location.File {
				m = rm
			}
		}
	}
	return regoErrorDiagnostic(m, e)
}
