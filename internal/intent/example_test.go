package intent_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

const examplePolicy = `
zone "pumps" {
  criticality = "life_critical"
  vlan        = 210
  subnets     = ["10.61.210.0/24"]
  match { class = ["infusion_pump"] }
}
zone "pump_servers" {
  criticality = "high"
  vlan        = 211
  match { class = ["pump_server"] }
}
service "pump_telemetry" { tcp = [443, 51444] }
flow "pumps_to_pump_servers" {
  from      = zone.pumps
  to        = zone.pump_servers
  services  = [service.pump_telemetry]
  essential = true
  reason    = "Drug library updates and infusion telemetry"
}
target "core-fw" {
  driver  = "linux_nftables"
  address = "10.250.61.2"
  role    = "firewall"
}
target "access-3w" {
  driver  = "openvswitch"
  address = "10.250.61.3"
  role    = "access_switch"
}
`

var exampleDevices = []inventory.Device{
	{Name: "pump-01", IP: netip.MustParseAddr("10.61.210.11"), Class: "infusion_pump", Criticality: "life_critical", Switch: "access-3w", Port: "Gi1/0/5"},
	{Name: "pump-srv", IP: netip.MustParseAddr("10.61.211.5"), Class: "pump_server", Criticality: "high"},
}

// compile evaluates the example policy with a service's TCP ports.
func compile(tcp ...int) *intent.Intent {
	cfg, diags := policy.NewParser(policy.WithDrivers(map[string][]string{
		"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"}})).
		Load(policy.Source{Filename: "example.hcl", Bytes: []byte(examplePolicy)})
	if diags.HasErrors() {
		panic(diags)
	}
	cfg.Services["pump_telemetry"].TCP = nil
	for _, p := range tcp {
		cfg.Services["pump_telemetry"].TCP = append(cfg.Services["pump_telemetry"].TCP, policy.PortRange{From: p, To: p})
	}
	e, diags := engine.New(context.Background(), cfg, exampleDevices)
	if diags.HasErrors() {
		panic(diags)
	}
	res, err := e.Evaluate(context.Background())
	if err != nil {
		panic(err)
	}
	in, _, err := intent.Compile(cfg, res, e.Devices())
	if err != nil {
		panic(err)
	}
	return in
}

func ExampleCompile() {
	in := compile(443, 51444)
	fw := in.Targets["core-fw"].Firewall
	for _, s := range fw.Sets {
		fmt.Println(s.Name, s.V4)
	}
	for _, r := range fw.Rules {
		fmt.Println(r.Flow, r.From, "->", r.To, r.Proto, r.Ports, "essential:", r.Essential)
	}
	fmt.Println(fw.DefaultAction)
	fmt.Println(in.Targets["access-3w"].Switch.Ports)
	// Output:
	// zone_pump_servers [10.61.211.5/32]
	// zone_pumps [10.61.210.0/24]
	// pumps_to_pump_servers zone_pumps -> zone_pump_servers tcp [{443 443} {51444 51444}] essential: true
	// drop
	// [{Gi1/0/5 210 pump-01 pumps}]
}

func ExampleDiff() {
	ch := intent.Diff(compile(443, 51444), compile(443))
	fmt.Println(ch.Counts.FlowsChanged, "flow changed")
	for _, e := range ch.Essential {
		fmt.Println(e.Kind+":", e.Message)
	}
	// Output:
	// 1 flow changed
	// narrowed: essential flow "pumps_to_pump_servers" is narrowed on target "core-fw": it no longer allows tcp 51444 from zone_pumps to zone_pump_servers
}
