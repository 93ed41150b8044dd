package web_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
)

// TestFlowPageZonePageAndCSV checks the flow page's declaration, commit,
// owner and enforcement points, the zone page's characteristics, and the
// flow register's CSV export.
func TestFlowPageZonePageAndCSV(t *testing.T) {
	s := newUIServer(t)
	c := s.signIn(t, store.RoleViewer)

	a := do(t, c, "GET", s.url+"/ui/flows/pumps_to_pump_servers", nil)
	if a.status != 200 {
		t.Fatalf("flow page: %d", a.status)
	}
	m := regexp.MustCompile(`<code>([^<]*flows\.hcl):(\d+)</code>`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("flow page: no file:line in\n%s", a.body)
	}
	for _, w := range []string{"Owner", "Enforcement points", "Last applied", "never: no target"} {
		if !strings.Contains(a.body, w) {
			t.Errorf("flow page: no %q", w)
		}
	}
	// The commit, by another git command than the page's (blame).
	out, err := exec.Command("git", "blame", "--porcelain", "-L", m[2]+","+m[2], "--", m[1]).Output()
	if err != nil {
		t.Logf("git blame %s: %v: the commit is not checked", m[1], err)
	} else if commit := strings.Fields(string(out))[0]; strings.Trim(commit, "0") != "" {
		if !strings.Contains(a.body, "<code>"+commit+"</code>") {
			t.Errorf("flow page: want commit %s (git blame) in\n%s", commit, a.body)
		}
	}

	z := do(t, c, "GET", s.url+"/ui/zones/infusion_pumps", nil)
	for _, w := range []string{"IEC 62443-3-2", "security level's proxy", "Device classes", "Flows into this zone (conduits)", "Targets enforcing it"} {
		if !strings.Contains(z.body, w) {
			t.Errorf("zone page: no %q", w)
		}
	}

	flows := do(t, c, "GET", s.url+"/ui/flows", nil)
	if !strings.Contains(flows.body, `href="/ui/flows.csv"`) {
		t.Error("/ui/flows does not link the CSV")
	}
	csv := do(t, c, "GET", s.url+"/ui/flows.csv", nil)
	if csv.status != 200 || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("flows.csv: %d %s", csv.status, csv.header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(csv.body), "\n")
	if lines[0] != strings.Join(report.CSVHeader, ",") {
		t.Errorf("flows.csv header %q", lines[0])
	}
	if len(lines) < 2 || !strings.Contains(csv.body, "pumps_to_pump_servers,") {
		t.Errorf("flows.csv: %d lines, no pumps_to_pump_servers", len(lines))
	}
}
