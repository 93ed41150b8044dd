package aclsem_test

import (
	"fmt"
	"net/netip"

	"github.com/wardnet/ward/internal/aclsem"
)

func ExampleParseIOS() {
	f, err := aclsem.ParseIOS(`object-group network PUMPS
 10.61.210.0 255.255.255.0
object-group network PUMP_SERVERS
 10.61.211.0 255.255.255.0
ip access-list extended ward_pumps
 permit tcp object-group PUMPS object-group PUMP_SERVERS eq 443
 deny ip any any log
interface Vlan210
 ip access-group ward_pumps in
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	pump, server := netip.MustParseAddr("10.61.210.11"), netip.MustParseAddr("10.61.211.5")
	for _, port := range []int{443, 22} {
		v := f.Forward(210, 211, aclsem.Packet{Src: pump, Dst: server, Proto: aclsem.TCP, SrcPort: 40000, DstPort: port, Flags: aclsem.SYN})
		fmt.Printf("%d: permit=%v logged=%v by %q\n", port, v.Permit, v.Logged, v.Line)
	}
	// Output:
	// 443: permit=true logged=false by "permit tcp object-group PUMPS object-group PUMP_SERVERS eq 443"
	// 22: permit=false logged=true by "deny ip any any log"
}
