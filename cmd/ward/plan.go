package main

import (
	"fmt"
	"os"

	"github.com/wardnet/ward/internal/plan"
)

func runPlan(c *cli, args []string) int {
	cl := c.command("plan", "[-policy DIR] [-target NAME]... [-refresh] [-out FILE] [-db URL] [-json]")
	dir := cl.String("policy", "./policy", "directory holding the policy")
	asJSON := cl.Bool("json", false, "print the plan as JSON (docs/plan-json.md)")
	refresh := cl.Bool("refresh", false, "read each target's running configuration, and plan to push again to any that was changed outside Ward")
	out := cl.String("out", "", "save the plan, signed with the key in the credential store, to FILE, for ward apply FILE")
	var only targetList
	cl.Var(&only, "target", "plan only this target (repeatable)")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	p, _, ok := c.makePlan(ctx, st, *dir, only, *refresh)
	if !ok {
		return 1
	}
	if p.Inventory.Devices == 0 && !*asJSON {
		fmt.Fprintln(c.stderr, "Note: the inventory is empty, so no device is placed. Import one with ward inventory import FILE.")
	}
	if *asJSON {
		if code := c.printJSON(p); code != 0 {
			return code
		}
	} else if err := plan.WriteText(c.stdout, p); err != nil {
		fmt.Fprintf(c.stderr, "ward plan: %v\n", err)
		return 1
	}
	if *out != "" {
		signer, ok := c.planSigner("plan")
		if !ok {
			return 1
		}
		b, err := signer.Sign(p)
		if err != nil {
			fmt.Fprintf(c.stderr, "ward plan: %v\n", err)
			return 1
		}
		if err := os.WriteFile(*out, b, 0o640); err != nil {
			fmt.Fprintf(c.stderr, "ward plan: %v\n", err)
			return 1
		}
		fmt.Fprintf(c.stdout, "\nSaved the plan, signed with key %s, to %s; apply exactly it with: ward apply %s\n", signer.KeyID(), *out, *out)
	}
	if p.Blocked {
		return 1
	}
	return 0
}
