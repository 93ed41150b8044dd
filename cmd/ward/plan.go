package main

import (
	"context"
	"fmt"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/policy"
)

func runPlan(c *cli, args []string) int {
	fs := c.newFlagSet("plan", "[-policy DIR] [-db URL] [-json]")
	dir := fs.String("policy", "./policy", "directory holding the policy")
	asJSON := fs.Bool("json", false, "print the plan as JSON (docs/plan-json.md)")
	db := dbFlag(fs)
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, diags := c.loadPolicy(*dir)
	if len(diags) > 0 {
		c.printDiags(cfg, diags)
	}
	if diags.HasErrors() {
		fmt.Fprintf(c.stderr, "%s found in %s; no plan was made.\n", countSeverities(diags), *dir)
		return 1
	}
	ctx := context.Background()
	st, ok := c.openStore(ctx, *db)
	if !ok {
		return 1
	}
	defer st.Close()
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward plan: %v\n", err)
		return 1
	}
	if len(devices) == 0 && !*asJSON {
		fmt.Fprintln(c.stderr, "Note: the inventory is empty, so no device is placed. Import one with ward inventory import FILE.")
	}
	p, diags := plan.Build(ctx, cfg, devices, plan.Options{PolicyDir: *dir, GitCommit: policy.GitCommit(*dir)})
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return 1
	}
	if *asJSON {
		if code := c.printJSON(p); code != 0 {
			return code
		}
	} else if err := plan.WriteText(c.stdout, p); err != nil {
		fmt.Fprintf(c.stderr, "ward plan: %v\n", err)
		return 1
	}
	if p.Blocked {
		return 1
	}
	return 0
}
