package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/wardnet/ward/policy"
)

func loadPolicy(t *testing.T, files map[string]string) *policy.Config {
	t.Helper()
	var srcs []policy.Source
	for name, src := range files {
		srcs = append(srcs, policy.Source{Filename: name, Bytes: []byte(src)})
	}
	cfg, diags := policy.NewParser().Load(srcs...)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

func TestRunTests(t *testing.T) {
	cfg := loadPolicy(t, map[string]string{
		"z.hcl":  `zone "guest" { criticality = "low" }`,
		"g.rego": "package ward.guardrails\n\ndeny contains \"guest is low\" if input.zones.guest.criticality == \"low\"\n",
		"g_test.rego": "package ward.guardrails_test\n\nimport data.ward.guardrails\n\n" +
			"test_ok if \"guest is low\" in guardrails.deny with input as {\"zones\": {\"guest\": {\"criticality\": \"low\"}}}\n\n" +
			"test_fails if count(guardrails.deny) == 0 with input as {\"zones\": {\"guest\": {\"criticality\": \"low\"}}}\n\n" +
			"test_errors if 1 / 0 == 1\n",
	})
	results, err := RunTests(context.Background(), cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]TestResult{}
	for _, r := range results {
		got[r.Name] = r
	}
	if len(got) != 3 {
		t.Fatalf("got %d results, want 3: %+v", len(got), results)
	}
	if r := got["test_ok"]; !r.Pass || r.File != "g_test.rego" || r.Line != 5 {
		t.Errorf("test_ok: %+v", r)
	}
	if r := got["test_fails"]; r.Pass || r.Error != "" {
		t.Errorf("test_fails should fail without an error: %+v", r)
	}
	if r := got["test_errors"]; r.Pass {
		t.Errorf("test_errors should not pass: %+v", r)
	}

	if _, err := RunTests(context.Background(), cfg, "("); err == nil || !strings.Contains(err.Error(), "bad -run pattern") {
		t.Errorf("bad filter: got %v", err)
	}
}
