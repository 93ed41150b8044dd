package policy_test

import (
	"fmt"
	"os"

	"github.com/wardnet/ward/policy"
)

func ExampleParser_Load() {
	src := `
zone "infusion_pumps" {
  criticality = "life_critical"
  vlan        = 210
  subnets     = ["10.61.210.0/24"]
}

zone "pump_servers" {
  criticality = "high"
  vlan        = 211
}

service "https" { tcp = [443] }

flow "pumps_to_pump_server" {
  from      = zone.infusion_pumps
  to        = zone.pump_servers
  services  = [service.https]
  essential = true
  reason    = "Drug library updates"
}
`
	p := policy.NewParser()
	cfg, diags := p.Load(policy.Source{Filename: "policy.hcl", Bytes: []byte(src)})
	if diags.HasErrors() {
		_ = policy.WriteDiagnostics(os.Stdout, cfg.Files, diags, 0, false)
		return
	}
	f := cfg.Flows["pumps_to_pump_server"]
	fmt.Println(f.From[0], "->", f.To[0], f.Services[0], "essential:", f.Essential)
	fmt.Println(cfg.Zones["infusion_pumps"].Subnets)
	// Output:
	// zone.infusion_pumps -> zone.pump_servers service.https essential: true
	// [10.61.210.0/24]
}

func ExampleFormat() {
	out, _ := policy.Format("svc.hcl", []byte("service \"dns\" {\nudp=[53]\n    tcp = [53] # zone transfers\n}\n"))
	fmt.Print(string(out))
	// Output:
	// service "dns" {
	//   udp = [53]
	//   tcp = [53] # zone transfers
	// }
}
