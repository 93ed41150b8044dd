package intent_test

import (
	"fmt"
	"net/netip"

	"github.com/wardnet/ward/drivers/intent"
)

// Two spellings of one firewall — rules in another order, labels a
// device cannot carry, a port list split differently — enforce the same.
func ExampleSameEnforcement() {
	pumps := intent.AddressSet{Name: "zone_pumps", V4: []netip.Prefix{netip.MustParsePrefix("10.61.210.0/24")}}
	servers := intent.AddressSet{Name: "zone_servers", V4: []netip.Prefix{netip.MustParsePrefix("10.61.230.0/24")}}
	planned := &intent.Target{Name: "core-sw", Roles: []string{intent.RoleFirewall}, Firewall: &intent.Firewall{
		DefaultAction: "drop", Sets: []intent.AddressSet{pumps, servers},
		Rules: []intent.Rule{
			{Flow: "pumps_to_servers", Service: "https", From: "zone_pumps", To: "zone_servers", Proto: "tcp", Ports: []intent.Ports{{From: 443, To: 443}}, Essential: true},
			{Flow: "pumps_to_servers", Service: "telemetry", From: "zone_pumps", To: "zone_servers", Proto: "tcp", Ports: []intent.Ports{{From: 8443, To: 8444}}, Essential: true},
		},
	}}
	running := &intent.Target{Firewall: &intent.Firewall{
		DefaultAction: "drop", Sets: []intent.AddressSet{servers, pumps},
		Rules: []intent.Rule{
			{From: "zone_pumps", To: "zone_servers", Proto: "tcp", Ports: []intent.Ports{{From: 8443, To: 8443}, {From: 8444, To: 8444}}, Essential: true},
			{From: "zone_pumps", To: "zone_servers", Proto: "tcp", Ports: []intent.Ports{{From: 443, To: 443}}, Essential: true},
		},
	}}
	fmt.Println(intent.SameEnforcement(planned, running))
	running.Firewall.Rules[1].Essential = false
	fmt.Println(intent.SameEnforcement(planned, running))
	// Output:
	// true
	// false
}
