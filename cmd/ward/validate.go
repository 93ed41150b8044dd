package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/policy"
)

func runValidate(c *cli, args []string) int {
	cl := c.command("validate", "[-policy DIR] [-json]")
	dir := cl.String("policy", "./policy", "directory holding the policy's *.hcl and *.rego files")
	asJSON := cl.Bool("json", false, "print diagnostics as a JSON array on stdout")
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) > 0 {
		fmt.Fprintf(c.stderr, "ward validate: unexpected argument %q; name the policy directory with -policy %s\n", pos[0], pos[0])
		return 2
	}

	cfg, diags := c.loadPolicy(*dir)
	if *asJSON {
		files := map[string]*hcl.File{}
		if cfg != nil {
			files = cfg.Files
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(policy.JSONDiagnostics(files, diags)); err != nil {
			fmt.Fprintf(c.stderr, "ward validate: %v\n", err)
			return 1
		}
	} else if len(diags) > 0 {
		c.printDiags(cfg, diags)
	}
	if diags.HasErrors() {
		if !*asJSON {
			fmt.Fprintf(c.stderr, "%s found in %s.\n", countSeverities(diags), *dir)
		}
		return 1
	}
	if !*asJSON {
		fmt.Fprintf(c.stdout, "Success! The policy in %s is valid: %s, %s, %s, %s, %s.\n", *dir,
			plural(len(cfg.Zones), "zone"), plural(len(cfg.Services), "service"), plural(len(cfg.Networks), "network"),
			plural(len(cfg.Flows), "flow"), plural(len(cfg.Targets), "target"))
		if w := len(diags); w > 0 {
			fmt.Fprintf(c.stdout, "%s: see above.\n", plural(w, "warning"))
		}
	}
	return 0
}

// loadPolicy parses and validates the policy in dir against this binary's
// driver registry, and compiles its Rego in the engine's sandbox, so every
// command that loads a policy (validate, plan, serve and its reloads)
// refuses a module calling a builtin Ward does not allow, at its line.
func (c *cli) loadPolicy(dir string) (*policy.Config, hcl.Diagnostics) {
	reg := newRegistry()
	p := policy.NewParser(policy.WithDrivers(reg.RolesByName()), policy.WithDriverOptions(reg.OptionDecoders()))
	cfg, diags := p.LoadDir(dir)
	if cfg != nil && !diags.HasErrors() {
		diags = append(diags, engine.Check(cfg)...)
	}
	return cfg, diags
}

func countSeverities(diags hcl.Diagnostics) string {
	var errs, warns int
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	parts := []string{plural(errs, "error")}
	if warns > 0 {
		parts = append(parts, plural(warns, "warning"))
	}
	return strings.Join(parts, " and ")
}

// printDiags writes diagnostics to stderr; cfg may be nil when the policy
// could not be read at all.
func (c *cli) printDiags(cfg *policy.Config, diags hcl.Diagnostics) {
	files := map[string]*hcl.File{}
	if cfg != nil {
		files = cfg.Files
	}
	_ = policy.WriteDiagnostics(c.stderr, files, diags, c.width, c.color)
}
