package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyPolicy copies the example hospital policy into a new directory.
func copyPolicy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(examplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(examplePolicy, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, e.Name(), string(b))
	}
	return dir
}

// TestValidateRefusesForbiddenBuiltins: ward validate refuses an operator
// module — placement, guardrail or quarantine decision — that calls the
// network or the environment, naming the file, the line and the builtin,
// in text and in -json. The same module is fine Rego to OPA itself.
func TestValidateRefusesForbiddenBuiltins(t *testing.T) {
	modules := map[string]string{
		"place.rego":            "package ward.placement\n\nzone_match[id] contains \"imaging\" if {\n\tsome id, _ in data.ward.devices\n\tr := http.send({\"method\": \"GET\", \"url\": \"http://192.0.2.1/\" })\n\tr.status_code == 200\n}\n",
		"extra_guardrails.rego": "package ward.guardrails\n\ndeny contains msg if {\n\tmsg := \"x\"\n\tips := net.lookup_ip_addr(\"cmdb.example.org\")\n\tcount(ips) > 9\n}\n",
		"soc.rego":              "package ward.quarantine\n\ndecision := {\"action\": \"notify\", \"pending\": \"\", \"reason\": r} if {\n\tr := \"x\"\n\trt := opa.runtime()\n\trt.env.WARD_DB != \"\"\n}\n",
	}
	builtins := map[string]string{"place.rego": "http.send", "extra_guardrails.rego": "net.lookup_ip_addr", "soc.rego": "opa.runtime"}
	for file, src := range modules {
		t.Run(file, func(t *testing.T) {
			dir := copyPolicy(t)
			writeFile(t, dir, file, src)
			code, out, errs := runWard(t, "validate", "-policy", dir)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
			}
			for _, want := range []string{"Error: Rego builtin not allowed in Ward policy", file + " line 5", builtins[file] + " is not allowed in Ward policy", "1 error found"} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}

			code, out, _ = runWard(t, "validate", "-policy", dir, "-json")
			var diags []map[string]any
			if code != 1 || json.Unmarshal([]byte(out), &diags) != nil || len(diags) != 1 {
				t.Fatalf("-json: exit %d\n%s", code, out)
			}
			if diags[0]["file"] != filepath.Join(dir, file) || diags[0]["line"] != float64(5) || diags[0]["summary"] != "Rego builtin not allowed in Ward policy" {
				t.Errorf("-json diagnostic: %v", diags[0])
			}

			// Every command that loads the policy refuses it the same way.
			code, _, errs = runWard(t, "plan", "-policy", dir, "-db", "sqlite://"+filepath.Join(t.TempDir(), "ward.db"))
			if code == 0 || !strings.Contains(errs, builtins[file]+" is not allowed in Ward policy") {
				t.Errorf("plan: exit %d\n%s", code, errs)
			}
		})
	}
}
