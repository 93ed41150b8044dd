package intent

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// scenario generates a policy of nZones zones (a few placed by glob, the
// rest by literal class), nFlows flows between random zones, one firewall
// and nSwitches access switches, and nDevices devices spread over the zones
// and the switches' ports. It is the engine's benchmark scenario
// (internal/engine/bench_test.go) with targets added.
func scenario(tb testing.TB, nZones, nFlows, nSwitches, nDevices int) (*policy.Config, []inventory.Device) {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("settings {\n  default_zone = \"z0\"\n}\n")
	for i := range nZones {
		fmt.Fprintf(&b, "zone \"z%d\" {\n  criticality = %q\n  vlan = %d\n  subnets = [\"10.%d.0.0/16\"]\n", i,
			[]string{"life_critical", "high", "medium", "low"}[i%4], 100+i, i)
		switch {
		case i == 0: // the default zone has no match
		case i%20 == 0: // a glob class: tried for every device
			fmt.Fprintf(&b, "  match {\n    class  = [\"glob%d-*\"]\n    vendor = [\"Vendor*\"]\n  }\n", i)
		default:
			fmt.Fprintf(&b, "  match {\n    class  = [\"class%d\", \"alias%d\"]\n    vendor = [\"Vendor%d*\", \"Other\"]\n  }\n", i, i, i%7)
		}
		b.WriteString("}\n")
	}
	for i := range 20 {
		fmt.Fprintf(&b, "service \"s%d\" {\n  tcp = [%d]\n}\n", i, 1000+i)
	}
	for i := range nFlows {
		fmt.Fprintf(&b, "flow \"f%d\" {\n  from = zone.z%d\n  to = [zone.z%d, zone.z%d]\n  services = [service.s%d]\n  reason = \"generated\"\n  ticket = \"CHG-%d\"\n}\n",
			i, r.IntN(nZones), r.IntN(nZones), r.IntN(nZones), r.IntN(20), i)
	}
	b.WriteString("target \"core-fw\" {\n  driver = \"linux_nftables\"\n  address = \"10.250.61.2\"\n  role = \"firewall\"\n}\n")
	for i := range nSwitches {
		fmt.Fprintf(&b, "target \"sw%d\" {\n  driver = \"openvswitch\"\n  address = \"10.250.62.%d\"\n  role = \"access_switch\"\n}\n", i, i+1)
	}
	cfg, diags := policy.NewParser(policy.WithDrivers(exampleDrivers)).Load(policy.Source{Filename: "generated.hcl", Bytes: []byte(b.String())})
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	devices := make([]inventory.Device, nDevices)
	for j := range nDevices {
		z := 1 + j%(nZones-1)
		class := fmt.Sprintf("class%d", z)
		if z%20 == 0 {
			class = fmt.Sprintf("glob%d-x", z)
		}
		k := j / nSwitches // the device's place on its switch
		devices[j] = inventory.Device{
			Name: fmt.Sprintf("dev-%06d", j), IP: netip.AddrFrom4([4]byte{10, byte(z), byte(j >> 8), byte(j)}),
			MAC: fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(j>>16), byte(j>>8), byte(j)), Class: class,
			Vendor: fmt.Sprintf("Vendor%d Inc", z%7), Criticality: "medium", Site: "main",
			Switch: fmt.Sprintf("sw%d", j%nSwitches), Port: fmt.Sprintf("Gi%d/0/%d", k/48+1, k%48+1),
		}
	}
	return cfg, devices
}

// BenchmarkCompile100k: the intent of one firewall and 50 access switches
// for 100,000 devices, 100 zones and 1,000 flows; the evaluation is done
// once, outside the timer.
func BenchmarkCompile100k(b *testing.B) {
	cfg, devices := scenario(b, 100, 1000, 50, 100_000)
	res, devs := evaluate(b, cfg, devices)
	b.ResetTimer()
	for b.Loop() {
		in, warns, err := Compile(cfg, res, devs)
		if err != nil || len(warns) != 0 {
			b.Fatalf("%v; %d warnings", err, len(warns))
		}
		if n := len(in.Targets["sw0"].Switch.Ports); n != 2000 {
			b.Fatalf("sw0 has %d ports, want 2000", n)
		}
	}
}

// BenchmarkDiff100k: the diff of two such intents that differ in one
// device's zone.
func BenchmarkDiff100k(b *testing.B) {
	cfg, devices := scenario(b, 100, 1000, 50, 100_000)
	res, devs := evaluate(b, cfg, devices)
	before, _, err := Compile(cfg, res, devs)
	if err != nil {
		b.Fatal(err)
	}
	after, _, _ := Compile(cfg, res, devs)
	p := &after.Targets["sw7"].Switch.Ports[3]
	p.VLAN, p.Zone = 150, "z50"
	b.ResetTimer()
	for b.Loop() {
		if ch := Diff(before, after); ch.Counts.PortsChanged != 1 {
			b.Fatalf("%+v", ch.Counts)
		}
	}
}
