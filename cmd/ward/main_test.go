package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const examplePolicy = "../../examples/hospital/policy"

// runWard runs the CLI in-process and returns its exit code and output.
func runWard(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	code := c.run(args)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateExampleHospital(t *testing.T) {
	code, out, errs := runWard(t, "validate", "-policy", examplePolicy)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if !strings.Contains(out, "Success!") || errs != "" {
		t.Errorf("want a success line and no diagnostics, got stdout %q stderr %q", out, errs)
	}
}

func TestValidateReportsErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "zones.hcl", "zone \"pumps\" {\n  criticality = \"life_critical\"\n  vlan        = 5000\n}\n")
	// Both spellings of a flag work, as with Terraform.
	for _, flagName := range []string{"-policy", "--policy"} {
		code, out, errs := runWard(t, "validate", flagName, dir)
		if code != 1 {
			t.Fatalf("exit %d, want 1 (stdout %q)", code, out)
		}
		for _, want := range []string{"Error: Invalid VLAN", "zones.hcl line 3", "vlan        = 5000", "1 error found"} {
			if !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errs)
			}
		}
	}
}

func TestValidateJSON(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "zones.hcl", "zone \"pumps\" {\n  criticality = \"urgent\"\n}\n")
	// The flag after the others, and -json given last, both parse.
	code, out, errs := runWard(t, "validate", "-policy", dir, "-json")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, errs)
	}
	var diags []map[string]any
	if err := json.Unmarshal([]byte(out), &diags); err != nil {
		t.Fatalf("stdout is not a JSON array: %v\n%s", err, out)
	}
	if len(diags) != 1 {
		t.Fatalf("got %d diagnostics, want 1: %s", len(diags), out)
	}
	d := diags[0]
	for k, want := range map[string]any{
		"severity": "error", "summary": "Invalid criticality", "file": filepath.Join(dir, "zones.hcl"),
		"line": float64(2), "column": float64(17), "snippet": "  criticality = \"urgent\"",
	} {
		if d[k] != want {
			t.Errorf("%s = %v, want %v", k, d[k], want)
		}
	}

	// A valid policy gives an empty array, not null.
	code, out, _ = runWard(t, "validate", "-json", "-policy", examplePolicy)
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("valid policy: exit %d, stdout %q; want 0 and []", code, out)
	}
}

func TestValidateMissingDirectory(t *testing.T) {
	code, _, errs := runWard(t, "validate", "-policy", filepath.Join(t.TempDir(), "nope"))
	if code != 1 || !strings.Contains(errs, "Cannot read policy directory") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestFmtCheckExamples(t *testing.T) {
	code, out, errs := runWard(t, "fmt", "-check", "../../examples/")
	if code != 0 {
		t.Fatalf("examples are not formatted (exit %d): %s%s", code, out, errs)
	}
}

func TestFmtRewritesAndChecks(t *testing.T) {
	dir := t.TempDir()
	messy := "zone \"guest\" {\ncriticality=\"low\" # visitors\n  vlan = 900\n}\n\n\n"
	tidy := "zone \"guest\" {\n  criticality = \"low\" # visitors\n  vlan        = 900\n}\n"
	p := writeFile(t, dir, "zones.hcl", messy)
	sub := filepath.Join(dir, "testdata")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	skipped := writeFile(t, sub, "broken.hcl", "zone {{{")

	// -check changes nothing, names the file, exits 1; flags may follow paths.
	code, out, _ := runWard(t, "fmt", dir, "-check")
	if code != 1 || strings.TrimSpace(out) != p {
		t.Fatalf("fmt -check: exit %d, stdout %q; want 1 and %q", code, out, p)
	}
	if b, _ := os.ReadFile(p); string(b) != messy {
		t.Fatal("fmt -check modified the file")
	}

	// -diff -check shows the change as a unified diff.
	_, out, _ = runWard(t, "fmt", "-check", "-diff", dir)
	if !strings.Contains(out, "\n-criticality=\"low\" # visitors\n") || !strings.Contains(out, "\n+  criticality = \"low\" # visitors\n") {
		t.Errorf("diff output lacks the change:\n%s", out)
	}

	// Without -check the file is rewritten, comments kept; testdata skipped.
	if code, _, errs := runWard(t, "fmt", dir); code != 0 {
		t.Fatalf("fmt: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(p); string(b) != tidy {
		t.Errorf("formatted file:\n%s\nwant:\n%s", b, tidy)
	}
	if code, out, _ := runWard(t, "fmt", "-check", dir); code != 0 || out != "" {
		t.Errorf("second fmt -check: exit %d, stdout %q; want 0 and nothing", code, out)
	}
	if b, _ := os.ReadFile(skipped); string(b) != "zone {{{" {
		t.Error("fmt touched a file under testdata")
	}

	// A file with syntax errors, named explicitly, is reported and left alone.
	code, _, errs := runWard(t, "fmt", skipped)
	if code != 1 || !strings.Contains(errs, "Error:") {
		t.Errorf("fmt on a broken file: exit %d, stderr %q", code, errs)
	}
	if b, _ := os.ReadFile(skipped); string(b) != "zone {{{" {
		t.Error("fmt modified a file it could not parse")
	}
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := runWard(t, "version")
	if code != 0 || !strings.HasPrefix(out, "ward ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	code, _, errs := runWard(t, "frobnicate")
	if code != 2 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errs)
	}
	code, _, errs = runWard(t, "validate", "-nope")
	if code != 2 || !strings.Contains(errs, "flag provided but not defined: -nope") {
		t.Errorf("bad flag: exit %d, %q", code, errs)
	}
	if code, out, _ := runWard(t, "help"); code != 0 || !strings.Contains(out, "validate") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}

func TestParseFlagsDoubleDash(t *testing.T) {
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	fs := c.newFlagSet("x", "")
	check := fs.Bool("check", false, "")
	pos, _, ok := parseFlags(fs, []string{"a", "-check", "--", "-not-a-flag", "b"})
	if !ok || !*check || strings.Join(pos, ",") != "a,-not-a-flag,b" {
		t.Errorf("got pos %q check %v ok %v", pos, *check, ok)
	}
}

func TestRegoTests(t *testing.T) {
	code, out, errs := runWard(t, "test", "-policy", examplePolicy)
	if code != 0 || !strings.HasPrefix(out, "PASS: ") || strings.Contains(out, "FAIL") {
		t.Fatalf("example Rego tests: exit %d\n%s%s", code, out, errs)
	}

	dir := t.TempDir()
	writeFile(t, dir, "zones.hcl", "zone \"pumps\" {\n  criticality = \"life_critical\"\n}\n")
	writeFile(t, dir, "guardrails.rego", "package ward.guardrails\n\ndeny contains \"pumps are monitored\" if input.zones.pumps.enforcement == \"monitor\"\n")
	writeFile(t, dir, "guardrails_test.rego", `package ward.guardrails_test

import data.ward.guardrails

test_monitor_denied if {
	"pumps are monitored" in guardrails.deny with input as {"zones": {"pumps": {"enforcement": "monitor"}}}
}

test_wrong_expectation if {
	count(guardrails.deny) == 1 with input as {"zones": {"pumps": {"enforcement": "enforce"}}}
}

todo_test_later if {
	false
}
`)
	code, out, _ = runWard(t, "test", "-policy", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"FAIL  data.ward.guardrails_test.test_wrong_expectation", "guardrails_test.rego:9", "PASS: 1/3", "FAIL: 1/3", "SKIPPED: 1/3"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runWard(t, "test", "-policy", dir, "-run", "monitor_denied", "-v")
	if code != 0 || !strings.Contains(out, "PASS  data.ward.guardrails_test.test_monitor_denied") || !strings.Contains(out, "PASS: 1/1") {
		t.Errorf("-run filter: exit %d\n%s", code, out)
	}
}
