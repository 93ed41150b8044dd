package openvswitch_test

import (
	"fmt"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/openvswitch"
)

func Example() {
	d := openvswitch.New(openvswitch.Options{Bridge: "ward-br"})
	cfg, err := d.Render(&intent.Target{
		Name: "access-1",
		Switch: &intent.Switch{QuarantineVLAN: 999, Ports: []intent.PortVLAN{
			{Port: "p-pump1", VLAN: 210, Device: "pump1", Zone: "infusion_pumps"},
			{Port: "p-mon1", VLAN: 220, Device: "mon1", Zone: "patient_monitors"},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(cfg.Text)
	// Output:
	// -- set bridge ward-br external_ids:ward-quarantine-vlan=999
	// -- set port p-mon1 tag=220 vlan_mode=access external_ids:ward-device=mon1 external_ids:ward-vlan=220 external_ids:ward-zone=patient_monitors
	// -- set port p-pump1 tag=210 vlan_mode=access external_ids:ward-device=pump1 external_ids:ward-vlan=210 external_ids:ward-zone=infusion_pumps
}

func ExampleRegister() {
	r := &drivers.Registry{}
	openvswitch.Register(r)
	info, _ := r.Lookup("openvswitch")
	d, _ := info.Open(nil)
	_, quarantine := d.(drivers.VLANSetter)
	fmt.Println(info.Roles, quarantine)
	// Output: [access_switch] true
}
