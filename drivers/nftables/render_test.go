package nftables

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/intent"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("render differs from %s (-golden +got; go test -update accepts it):\n%s", path, drivertest.Diff(string(want), got))
	}
}

func TestRenderGolden(t *testing.T) {
	for _, c := range []struct {
		file   string
		target *intent.Target
	}{
		{"hospital.golden", hospital()},
		{"permissive.golden", permissive()},
	} {
		t.Run(c.file, func(t *testing.T) {
			cfg, err := New(Options{}).Render(c.target)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.file, cfg.Text)
			// The rendered script is already in the form Running prints.
			tb, err := parseTable(cfg.Text)
			if err != nil {
				t.Fatalf("parsing the rendered script: %v", err)
			}
			if again := tb.script(); again != cfg.Text {
				t.Errorf("the rendered script is not in the read-back form (-rendered +reprinted):\n%s", drivertest.Diff(cfg.Text, again))
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*intent.Firewall)
		want   string
	}{
		{"default action", func(fw *intent.Firewall) { fw.DefaultAction = "reject" }, `default action "reject"`},
		{"unknown set", func(fw *intent.Firewall) { fw.Rules[0].To = "zone_nowhere" }, `rule 1 (flow "pumps_to_pump_server", service "https"): to "zone_nowhere" is not an address set`},
		{"bad set name", func(fw *intent.Firewall) { fw.Sets[0].Name = "net-ehr" }, `set name "net-ehr"`},
		{"overlap", func(fw *intent.Firewall) {
			fw.Sets[2].V4 = append(fw.Sets[2].V4, netip.MustParsePrefix("10.61.250.7/32"))
		}, "overlaps"},
		{"v6 in v4", func(fw *intent.Firewall) { fw.Sets[2].V4 = fw.Sets[0].V6 }, "is not an IPv4 prefix"},
		{"ports", func(fw *intent.Firewall) { fw.Rules[0].Ports[0].To = 70000 }, "port range 443-70000"},
		{"icmp type", func(fw *intent.Firewall) { fw.Rules[5].ICMPTypes = []string{"echo"} }, `unknown icmp type "echo"`},
		{"icmpv6 type in icmp", func(fw *intent.Firewall) { fw.Rules[5].ICMPTypes = []string{"nd-neighbor-solicit"} }, `unknown icmp type "nd-neighbor-solicit"`},
		{"proto", func(fw *intent.Firewall) { fw.Rules[0].Proto = "sctp" }, `protocol "sctp"`},
		{"monitor", func(fw *intent.Firewall) { fw.Monitor = []string{"zone_x"} }, `monitor set "zone_x"`},
		{"remediation", func(fw *intent.Firewall) { fw.Quarantine.Remediation = []string{"net_x"} }, `quarantine remediation "net_x"`},
		{"same quarantine sets", func(fw *intent.Firewall) { fw.Quarantine.RestrictSet = fw.Quarantine.IsolateSet }, "must differ"},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := hospital()
			c.change(target.Firewall)
			_, err := New(Options{}).Render(target)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Render: err = %v, want one containing %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), `linux_nftables: target "core-fw": `) {
				t.Errorf("error %q does not name the driver and target", err)
			}
		})
	}
	if _, err := New(Options{}).Render(&intent.Target{Name: "sw", Switch: &intent.Switch{}}); err == nil {
		t.Error("Render of a switch target succeeded, want an error")
	}
}
