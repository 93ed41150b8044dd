package main

import (
	"encoding/json"
	"fmt"

	"github.com/wardnet/ward/internal/engine"
)

func runTest(c *cli, args []string) int {
	cl := c.command("test", "[-policy DIR] [-run REGEX] [-v] [-json]")
	dir := cl.String("policy", "./policy", "directory holding the policy and its *_test.rego files")
	filter := cl.String("run", "", "run only tests whose package.name matches this regular expression")
	verbose := cl.Bool("v", false, "list every test, not only failures")
	asJSON := cl.Bool("json", false, "print results as a JSON array")
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()

	cfg, diags := c.loadPolicy(*dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		fmt.Fprintf(c.stderr, "%s found in %s; fix them before running tests.\n", countSeverities(diags), *dir)
		return 1
	}
	results, err := engine.RunTests(cl.context(), cfg, *filter)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward test: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(results)
	}
	var passed, failed, skipped int
	for _, r := range results {
		status := "PASS"
		switch {
		case r.Skip:
			status = "SKIP"
			skipped++
		case r.Pass:
			passed++
		default:
			status = "FAIL"
			if r.Error != "" {
				status = "ERROR"
			}
			failed++
		}
		if *asJSON || (status == "PASS" && !*verbose) {
			continue
		}
		fmt.Fprintf(c.stdout, "%-5s %s.%s (%s:%d) %s\n", status, r.Package, r.Name, r.File, r.Line, r.Duration.Round(1000))
		if r.Error != "" {
			fmt.Fprintf(c.stdout, "      %s\n", r.Error)
		}
	}
	if *asJSON {
		return exitFor(failed)
	}
	total := len(results)
	if total == 0 {
		fmt.Fprintf(c.stdout, "No Rego tests in %s (tests are test_ rules in *_test.rego files).\n", *dir)
		return 0
	}
	if passed > 0 {
		fmt.Fprintf(c.stdout, "PASS: %d/%d\n", passed, total)
	}
	if failed > 0 {
		fmt.Fprintf(c.stdout, "FAIL: %d/%d\n", failed, total)
	}
	if skipped > 0 {
		fmt.Fprintf(c.stdout, "SKIPPED: %d/%d\n", skipped, total)
	}
	return exitFor(failed)
}

func exitFor(failed int) int {
	if failed > 0 {
		return 1
	}
	return 0
}
