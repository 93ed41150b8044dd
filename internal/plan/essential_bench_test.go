package plan

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
)

// BenchmarkEssentialReachability: a hospital of 5,000 devices in 20 zones
// on 10 access switches and 2 firewalls, 40 flows of which 20 essential;
// the change re-zones 25 devices (other set, other VLAN) and moves 25
// ports to another VLAN.
func BenchmarkEssentialReachability(b *testing.B) {
	const devices, zones, switches = 5000, 20, 10
	in := essentialInput{Before: map[string]*intent.Target{}, After: map[string]*intent.Target{},
		Devices: map[string]inventory.Device{}, Zones: map[string]string{}, Recorded: map[string]Endpoint{}}
	members := [2][zones][]netip.Prefix{}
	ports := [2][switches][]intent.PortVLAN{}
	for i := range devices {
		name := fmt.Sprintf("dev-%05d", i)
		zb := i % zones
		za := zb
		if i%200 == 7 {
			za = (zb + 1) % zones // re-zoned by an inventory edit
		}
		ip := netip.AddrFrom4([4]byte{10, 61, byte(zb), 0}).Next()
		for range i / zones {
			ip = ip.Next()
		}
		in.Devices[name] = inventory.Device{Name: name, IP: ip}
		in.Zones[name] = fmt.Sprint("z", za)
		in.Recorded[name] = Endpoint{IP: ip, Zone: fmt.Sprint("z", zb)}
		members[before][zb] = append(members[before][zb], netip.PrefixFrom(ip, 32))
		members[after][za] = append(members[after][za], netip.PrefixFrom(ip, 32))
		vb, va := 200+zb, 200+za
		if i%200 == 99 {
			va = 999 // a VLAN move on the switch
		}
		sw := i % switches
		ports[before][sw] = append(ports[before][sw], intent.PortVLAN{Port: fmt.Sprint("Gi1/0/", i), VLAN: vb, Device: name})
		ports[after][sw] = append(ports[after][sw], intent.PortVLAN{Port: fmt.Sprint("Gi1/0/", i), VLAN: va, Device: name})
	}
	for s, state := range []map[string]*intent.Target{in.Before, in.After} {
		fw := &intent.Firewall{DefaultAction: "drop", Monitor: []string{}}
		for z := range zones {
			fw.Sets = append(fw.Sets, intent.AddressSet{Name: fmt.Sprintf("zone_z%02d", z), Kind: "zone", Of: fmt.Sprint("z", z), V4: members[s][z]})
		}
		for f := range 40 {
			from, to := f%zones, (f*7+3)%zones
			fw.Rules = append(fw.Rules, intent.Rule{Flow: fmt.Sprint("flow", f), Service: "svc", From: fmt.Sprintf("zone_z%02d", from),
				To: fmt.Sprintf("zone_z%02d", to), Proto: "tcp", Ports: []intent.Ports{{From: 1000 + f, To: 1000 + f}}, Essential: f%2 == 0})
		}
		for _, name := range []string{"core-fw", "edge-fw"} {
			state[name] = &intent.Target{Name: name, Roles: []string{"firewall"}, Firewall: fw}
		}
		for sw := range switches {
			name := fmt.Sprint("access-", sw)
			state[name] = &intent.Target{Name: name, Roles: []string{"access_switch"}, Switch: &intent.Switch{Ports: ports[s][sw]}}
		}
	}
	b.ReportAllocs()
	var res essentialResult
	for b.Loop() {
		res = essentialAnalysis(in)
	}
	b.ReportMetric(float64(res.Total), "lost_pairs")
}
