// Package scenario generates hospital-scale policies and inventories for
// benchmarks: many zones (a few placed by glob, the rest by literal class),
// flows between random zones, optionally a firewall and access switches,
// and devices spread over the zones and the switches' ports. The same
// Scale always generates the same policy and devices.
package scenario

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/wardnet/ward/internal/inventory"
)

// Scale says how big a scenario is. With Switches 0 there are no targets
// and devices are on no switch.
type Scale struct {
	Zones, Flows, Switches, Devices int
}

// Generate returns the policy as HCL source and the devices.
func Generate(s Scale) ([]byte, []inventory.Device) {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("settings {\n  default_zone = \"z0\"\n}\n")
	for i := range s.Zones {
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
	for i := range s.Flows {
		fmt.Fprintf(&b, "flow \"f%d\" {\n  from = zone.z%d\n  to = [zone.z%d, zone.z%d]\n  services = [service.s%d]\n  reason = \"generated\"\n  ticket = \"CHG-%d\"\n}\n",
			i, r.IntN(s.Zones), r.IntN(s.Zones), r.IntN(s.Zones), r.IntN(20), i)
	}
	if s.Switches > 0 {
		b.WriteString("target \"core-fw\" {\n  driver = \"linux_nftables\"\n  address = \"10.250.61.2\"\n  role = \"firewall\"\n}\n")
		for i := range s.Switches {
			fmt.Fprintf(&b, "target \"sw%d\" {\n  driver = \"openvswitch\"\n  address = \"10.250.62.%d\"\n  role = \"access_switch\"\n}\n", i, i+1)
		}
	}
	devices := make([]inventory.Device, s.Devices)
	for j := range s.Devices {
		z := 1 + j%(s.Zones-1)
		class := fmt.Sprintf("class%d", z)
		if z%20 == 0 {
			class = fmt.Sprintf("glob%d-x", z)
		}
		d := inventory.Device{
			Name: fmt.Sprintf("dev-%06d", j), IP: netip.AddrFrom4([4]byte{10, byte(z), byte(j >> 8), byte(j)}),
			MAC: fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(j>>16), byte(j>>8), byte(j)), Class: class,
			Vendor: fmt.Sprintf("Vendor%d Inc", z%7), Criticality: "medium", Site: "main",
		}
		if s.Switches > 0 {
			k := j / s.Switches // the device's place on its switch
			d.Switch, d.Port = fmt.Sprintf("sw%d", j%s.Switches), fmt.Sprintf("Gi%d/0/%d", k/48+1, k%48+1)
		}
		devices[j] = d
	}
	return []byte(b.String()), devices
}
