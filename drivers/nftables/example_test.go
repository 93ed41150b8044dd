package nftables_test

import (
	"fmt"
	"net/netip"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/nftables"
)

func Example() {
	d := nftables.New(nftables.Options{Sudo: true})
	cfg, err := d.Render(&intent.Target{
		Name: "core-fw",
		Firewall: &intent.Firewall{
			Sets: []intent.AddressSet{
				{Name: "zone_infusion_pumps", V4: []netip.Prefix{netip.MustParsePrefix("10.61.210.0/24")}},
				{Name: "zone_pump_servers", V4: []netip.Prefix{netip.MustParsePrefix("10.61.10.5/32")}},
			},
			Rules: []intent.Rule{{Flow: "pumps_to_pump_server", Service: "https",
				From: "zone_infusion_pumps", To: "zone_pump_servers", Proto: "tcp", Ports: []intent.Ports{{From: 443, To: 443}}}},
			DefaultAction: "drop",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(cfg.Text)
	// Output:
	// table inet ward
	// delete table inet ward
	// table inet ward {
	// 	set zone_infusion_pumps_v4 {
	// 		type ipv4_addr
	// 		flags interval
	// 		elements = { 10.61.210.0/24 }
	// 	}
	//
	// 	set zone_infusion_pumps_v6 {
	// 		type ipv6_addr
	// 		flags interval
	// 	}
	//
	// 	set zone_pump_servers_v4 {
	// 		type ipv4_addr
	// 		flags interval
	// 		elements = { 10.61.10.5 }
	// 	}
	//
	// 	set zone_pump_servers_v6 {
	// 		type ipv6_addr
	// 		flags interval
	// 	}
	//
	// 	chain forward {
	// 		type filter hook forward priority filter; policy drop;
	// 		ct state established,related accept
	// 		ct state invalid drop
	// 		ip saddr @zone_infusion_pumps_v4 ip daddr @zone_pump_servers_v4 tcp dport 443 accept comment "flow pumps_to_pump_server service https"
	// 	}
	// }
}

func ExampleRegister() {
	r := &drivers.Registry{}
	nftables.Register(r)
	info, _ := r.Lookup("linux_nftables")
	d, _ := info.Open(nil)
	_, quarantine := d.(drivers.SetUpdater)
	fmt.Println(info.Roles, quarantine)
	// Output: [firewall] true
}
