package ciscoiosxe

import (
	"sort"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/benchscale"
	"github.com/wardnet/ward/internal/intent"
)

// BenchmarkRender100kCoreAnd50Access renders the 100,000-device scenario
// (benchscale.Core100kAnd50Access: 100 zones, 1,000 flows, a quarantine
// block) for its IOS-XE core firewall and its 50 IOS-XE access switches,
// every device on a switch port; the intents are compiled beforehand, as
// ward plan compiles them. Before timing, each switch's rendering is
// checked to hold an interface block with an access VLAN for each of its
// devices' ports.
func BenchmarkRender100kCoreAnd50Access(b *testing.B) {
	s := benchscale.Core100kAnd50Access()
	sc, in := benchIntent(b, s)
	var targets []*intent.Target
	var ports int
	for _, name := range benchTargetNames(in) {
		t := in.Targets[name]
		targets = append(targets, t)
		if t.Switch != nil {
			ports += len(t.Switch.Ports)
		}
	}
	if len(targets) != 1+s.Switches || ports != len(sc.Devices) {
		b.Fatalf("%d targets with %d ports; want %d targets with a port for each of the %d devices", len(targets), ports, 1+s.Switches, len(sc.Devices))
	}
	for _, t := range targets {
		if t.Switch == nil {
			continue
		}
		text, err := benchRender(t)
		if err != nil {
			b.Fatal(err)
		}
		var ifaces, access int
		for _, l := range strings.Split(text, "\n") {
			switch {
			case strings.HasPrefix(l, "interface "):
				ifaces++
			case strings.HasPrefix(l, " switchport access vlan "):
				access++
			}
		}
		if ifaces != len(t.Switch.Ports) || access != len(t.Switch.Ports) {
			b.Fatalf("%s: %d interface blocks and %d access VLANs for %d ports", t.Name, ifaces, access, len(t.Switch.Ports))
		}
	}
	var lines int
	for b.Loop() {
		lines = 0
		for _, t := range targets {
			text, err := benchRender(t)
			if err != nil {
				b.Fatal(err)
			}
			lines += strings.Count(text, "\n")
		}
	}
	b.ReportMetric(float64(lines), "lines")
}

func benchTargetNames(in *intent.Intent) []string {
	names := make([]string, 0, len(in.Targets))
	for name := range in.Targets {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
