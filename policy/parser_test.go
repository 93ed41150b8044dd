package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// testNow is the clock fixtures are judged by: flows expiring before it are
// expired. Fixtures use dates far from it on either side.
var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// testDrivers stands in for the driver registry.
var testDrivers = map[string][]string{
	"linux_nftables": {"firewall"},
	"openvswitch":    {"access_switch"},
	"cisco_iosxe":    {"access_switch", "firewall"},
	"arista_eos":     {"access_switch", "firewall"},
	"juniper_junos":  {"access_switch", "firewall"},
}

func newTestParser() *Parser {
	return NewParser(WithDrivers(testDrivers), WithClock(func() time.Time { return testNow }))
}

// loadFixture loads a fixture: one .hcl file, or a directory as one policy.
func loadFixture(t *testing.T, path string) (*Config, hcl.Diagnostics) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	p := newTestParser()
	if info.IsDir() {
		return p.LoadDir(path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return p.Load(Source{Filename: path, Bytes: src})
}

func fixtures(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".hcl") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return out
}

// TestParserLoad_validFiles: these fixtures produce no diagnostics at all.
func TestParserLoad_validFiles(t *testing.T) {
	for _, path := range fixtures(t, "testdata/valid-files") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, diags := loadFixture(t, path)
			for _, d := range diags {
				t.Errorf("unexpected diagnostic: %s", d.Error())
			}
		})
	}
}

// TestParserLoad_invalidFiles: these fixtures must produce at least one
// error, wherever it is (used where the line is not the point, such as a
// file that is not HCL at all).
func TestParserLoad_invalidFiles(t *testing.T) {
	for _, path := range fixtures(t, "testdata/invalid-files") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, diags := loadFixture(t, path)
			if !diags.HasErrors() {
				t.Errorf("expected errors, got none (diagnostics: %v)", diags)
			}
		})
	}
}

var markerRE = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*(.+?)\s*$`)

// TestParserLoad_errorFiles: each line marked "# ERROR: <summary>" or
// "# WARNING: <summary>" must get exactly that diagnostic, and no other
// diagnostic may appear.
func TestParserLoad_errorFiles(t *testing.T) {
	for _, path := range fixtures(t, "testdata/error-files") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := expectedDiagnostics(t, path)
			if len(want) == 0 {
				t.Fatalf("%s has no # ERROR: or # WARNING: markers", path)
			}
			_, diags := loadFixture(t, path)
			var got []string
			for _, d := range diags {
				got = append(got, diagKey(d))
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("diagnostics differ\n got:\n  %s\nwant:\n  %s\n\nfull output:\n%s",
					strings.Join(got, "\n  "), strings.Join(want, "\n  "), diags.Error())
			}
		})
	}
}

func diagKey(d *hcl.Diagnostic) string {
	sev := "ERROR"
	if d.Severity == hcl.DiagWarning {
		sev = "WARNING"
	}
	file, line := "-", 0
	if d.Subject != nil {
		file, line = filepath.Base(d.Subject.Filename), d.Subject.Start.Line
	}
	return fmt.Sprintf("%s:%d %s: %s", file, line, sev, d.Summary)
}

func expectedDiagnostics(t *testing.T, path string) []string {
	t.Helper()
	var files []string
	if info, _ := os.Stat(path); info.IsDir() {
		matches, _ := filepath.Glob(filepath.Join(path, "*"))
		files = matches
	} else {
		files = []string{path}
	}
	var want []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(src))
		for line := 1; sc.Scan(); line++ {
			if m := markerRE.FindStringSubmatch(sc.Text()); m != nil {
				want = append(want, fmt.Sprintf("%s:%d %s: %s", filepath.Base(f), line, m[1], m[2]))
			}
		}
	}
	sort.Strings(want)
	return want
}

// TestFlowOwner: owner is decoded onto the flow and carried into the
// document the report and recertification read.
func TestFlowOwner(t *testing.T) {
	cfg, _ := loadFixture(t, "testdata/error-files/flow-owner.hcl")
	if cfg == nil || cfg.Flows["owned"] == nil {
		t.Fatal("flow owned not decoded")
	}
	if got := cfg.Flows["owned"].Owner; got != "Pharmacy informatics" {
		t.Errorf("owner = %q, want %q", got, "Pharmacy informatics")
	}
	if got := cfg.Document().Flows["owned"].Owner; got != "Pharmacy informatics" {
		t.Errorf("document owner = %q", got)
	}
}
