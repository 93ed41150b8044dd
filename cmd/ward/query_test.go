package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestQueryReach(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", url); code != 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		name string
		args []string
		code int
		out  []string // substrings of stdout
		errs []string // substrings of stderr
	}{
		{
			name: "pump to its pump server over https", args: []string{"pump-3w-01", "pumpsrv-dc-01", "https"}, code: 0,
			out: []string{
				`allowed: flow "pumps_to_pump_servers" (`,
				"pump-3w-01 (device, zone infusion_pumps, 10.61.210.11) -> pumpsrv-dc-01 (device, zone pump_servers, 10.61.211.11), https\n",
				"  flow pumps_to_pump_servers (" + examplePolicy + "/flows.hcl:21) on pump_telemetry, essential, CHG-1042: Drug library",
			},
		},
		{
			name: "guest to pump", args: []string{"tv-5w-01", "pump-3w-01"}, code: 1,
			out: []string{"denied: no flow from zone \"guest\" to zone \"infusion_pumps\"\n", "any service"},
		},
		{
			name: "ssh to the pump server", args: []string{"10.61.210.11", "10.61.211.11", "22/tcp"}, code: 1,
			out: []string{"allows only pump_telemetry — not 22/tcp"},
		},
		{
			name: "flags after the arguments", args: []string{"ehr_datacenter", "printers", "printing", "-json"}, code: 0,
			out: []string{`"allowed": true`, `"name": "print_server_to_printers"`},
		},
		{name: "unknown device", args: []string{"pump-3w-1", "pacs"}, code: 2, errs: []string{`did you mean "pump-3w-01"?`}},
		{name: "bad service", args: []string{"guest", "pacs", "443/tpc"}, code: 2, errs: []string{`unknown protocol "tpc"`}},
		{name: "one argument", args: []string{"guest"}, code: 2, errs: []string{"Usage: ward query reach FROM TO"}},
		{name: "four arguments", args: []string{"a", "b", "c", "d"}, code: 2, errs: []string{"Usage: ward query reach FROM TO"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"query", "reach"}, tt.args...)
			args = append(args, "-policy", examplePolicy, "-db", url)
			code, out, errs := runWard(t, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			for _, w := range tt.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.errs {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
}

func TestQueryReachJSON(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", url); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := runWard(t, "query", "reach", "rtls-icu-01", "pacs", "443/tcp", "-json", "-policy", examplePolicy, "-db", url)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errs)
	}
	var a struct {
		Allowed, Monitor bool
		From             struct{ Kind, Name, Zone, IP string }
		To               struct{ Kind, Name, Zone string }
		Service, Reason  string
		Flows            []any
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if a.Allowed || !a.Monitor || a.From.Kind != "device" || a.From.Zone != "rtls" || a.From.IP != "10.61.150.11" ||
		a.To.Kind != "zone" || a.Service != "443/tcp" || a.Flows == nil || !strings.Contains(a.Reason, "monitor mode") {
		t.Errorf("%+v\n%s", a, out)
	}
}

func TestQueryUsage(t *testing.T) {
	for _, args := range [][]string{{"query"}, {"query", "what-if"}} {
		if code, _, errs := runWard(t, args...); code != 2 || !strings.Contains(errs, "Usage: ward query reach") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	// A policy that does not load gives no answer: exit 2, not "denied".
	code, _, errs := runWard(t, "query", "reach", "a", "b", "-policy", filepath.Join(t.TempDir(), "nope"),
		"-db", "sqlite://"+filepath.Join(t.TempDir(), "ward.db"))
	if code != 2 || !strings.Contains(errs, "Cannot read policy directory") {
		t.Errorf("missing policy: exit %d, stderr %q", code, errs)
	}
}
