package policy

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// TestWriteDiagnostics_golden pins the text users see from ward validate.
func TestWriteDiagnostics_golden(t *testing.T) {
	const in, golden = "testdata/golden/diagnostics.hcl", "testdata/golden/diagnostics.txt"
	src, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := newTestParser().Load(Source{Filename: in, Bytes: src})
	if !diags.HasErrors() {
		t.Fatal("expected errors from the golden input")
	}
	var buf bytes.Buffer
	if err := WriteDiagnostics(&buf, cfg.Files, diags, 0, false); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./policy -run golden -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("diagnostic text differs from %s (run with -update if the change is intended)\n got:\n%s\nwant:\n%s", golden, buf.Bytes(), want)
	}
}

func TestJSONDiagnostics(t *testing.T) {
	src := []byte("zone \"a\" {\n  criticality = \"low\"\n  vlan        = 5000\n}\n")
	cfg, diags := newTestParser().Load(Source{Filename: "z.hcl", Bytes: src})
	got := JSONDiagnostics(cfg.Files, diags)
	if len(got) != 1 {
		t.Fatalf("got %d diagnostics, want 1: %v", len(got), diags)
	}
	want := JSONDiagnostic{
		Severity: "error", Summary: "Invalid VLAN",
		Detail: "VLAN 5000 is outside 1-4094 (0 and 4095 are reserved by 802.1Q). Pick a VLAN ID from your switching plan.",
		File:   "z.hcl", Line: 3, Column: 17, EndLine: 3, Snippet: "  vlan        = 5000",
	}
	if got[0] != want {
		t.Errorf("got  %+v\nwant %+v", got[0], want)
	}
}
