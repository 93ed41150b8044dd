package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runReportCmd runs ward report's entry point as the command line would.
func runReportCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	code := runReport(c, args)
	return code, out.String(), errb.String()
}

// reportWorkspace is a database with the example inventory and a
// credential store of its own (the audit key signs the manifests).
func reportWorkspace(t *testing.T) (dir, db string) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(dir, "credentials"))
	t.Setenv("WARD_AUDIT_KEY", "")
	db = "sqlite://" + filepath.Join(dir, "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	return dir, db
}

func TestReportCommandJSONAndVerify(t *testing.T) {
	dir, db := reportWorkspace(t)
	file := filepath.Join(dir, "report.json")
	code, _, errs := runReportCmd(t, "-format", "json", "-o", file, "-policy", examplePolicy, "-db", db)
	if code != 0 {
		t.Fatalf("ward report: exit %d\n%s", code, errs)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		PolicyRevision struct{ Hash string } `json:"policy_revision"`
		Zones          []struct{ Name string }
		Summary        struct{ Devices int }
		Controls       []struct{ Status string }
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	cfg, diags := (&cli{}).loadPolicy(examplePolicy)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if r.PolicyRevision.Hash != cfg.ContentHash() || len(r.Zones) != len(cfg.Zones) || r.Summary.Devices != 432 || len(r.Controls) == 0 {
		t.Errorf("report: policy %s, %d zones, %d devices, %d controls; want %s, %d, 432", r.PolicyRevision.Hash, len(r.Zones), r.Summary.Devices, len(r.Controls), cfg.ContentHash(), len(cfg.Zones))
	}
	if !strings.Contains(errs, "ward report verify "+file) {
		t.Errorf("ward report does not say how to verify:\n%s", errs)
	}

	code, out, errs := runReportCmd(t, "verify", file)
	if code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("ward report verify: exit %d\n%s%s", code, out, errs)
	}
	b[len(b)/3] ^= 0x20
	if err := os.WriteFile(file, b, 0o640); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runReportCmd(t, "verify", file, "-manifest", file+".manifest.json")
	if code != 1 || !strings.Contains(errs, "NOT VERIFIED") || !strings.Contains(errs, "bytes differ") {
		t.Errorf("a changed byte: exit %d\n%s%s", code, out, errs)
	}
}

func TestReportCommandCSVHTMLAndAsOf(t *testing.T) {
	_, db := reportWorkspace(t)
	code, out, errs := runReportCmd(t, "-format", "csv", "-policy", examplePolicy, "-db", db)
	if code != 0 {
		t.Fatalf("csv: exit %d\n%s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 || rows[0][0] != "flow" {
		t.Fatalf("csv: %v\n%s", err, out)
	}

	code, out, errs = runReportCmd(t, "-policy", examplePolicy, "-db", db)
	if code != 0 || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "Flow register") {
		t.Fatalf("html: exit %d\n%s", code, errs)
	}

	code, out, errs = runReportCmd(t, "-format", "json", "-as-of", "2026-01-01", "-policy", examplePolicy, "-db", db)
	if code != 0 || !strings.Contains(out, "no applied plan at or before 2026-01-01T00:00:00Z") {
		t.Fatalf("as-of before any apply: exit %d\n%s%s", code, out, errs)
	}

	if code, _, errs := runReportCmd(t, "-as-of", "yesterday", "-db", db); code != 2 || !strings.Contains(errs, "RFC 3339") {
		t.Errorf("a bad time: exit %d %s", code, errs)
	}
	if code, _, errs := runReportCmd(t, "-format", "docx", "-db", db); code != 2 || !strings.Contains(errs, "want html, pdf, json or csv") {
		t.Errorf("a bad format: exit %d %s", code, errs)
	}
}

// TestReportCommandPDF prints the report with headless Chromium when the
// machine has it, and otherwise checks the message says what to do.
func TestReportCommandPDF(t *testing.T) {
	dir, db := reportWorkspace(t)
	file := filepath.Join(dir, "report.pdf")
	code, _, errs := runReportCmd(t, "-format", "pdf", "-o", file, "-policy", examplePolicy, "-db", db)
	_, errA := exec.LookPath("chromium")
	_, errB := exec.LookPath("chromium-browser")
	if errA != nil && errB != nil {
		if code != 1 || !strings.Contains(errs, "neither chromium nor chromium-browser") || !strings.Contains(errs, "-format html") {
			t.Errorf("without Chromium: exit %d\n%s", code, errs)
		}
		return
	}
	if code != 0 {
		t.Fatalf("pdf: exit %d\n%s", code, errs)
	}
	b, err := os.ReadFile(file)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("pdf: %v, starts %q", err, b[:min(len(b), 8)])
	}
	if code, out, errs := runReportCmd(t, "verify", file); code != 0 {
		t.Errorf("verify the pdf: exit %d\n%s%s", code, out, errs)
	}
}
