package main

import (
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/nftables"
	"github.com/wardnet/ward/drivers/openvswitch"
)

// newRegistry is the one explicit list of the drivers this binary knows.
//
// linux_nftables and openvswitch are implemented. The vendor drivers are
// registered by name and role, so policies naming them validate and plan,
// but their targets cannot be applied yet.
func newRegistry() *drivers.Registry {
	r := &drivers.Registry{}
	nftables.Register(r)
	openvswitch.Register(r)
	r.Register(drivers.Info{Name: "cisco_iosxe", Description: "Cisco IOS-XE: ACLs with object-groups, switchport access vlan (not yet implemented)", Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	r.Register(drivers.Info{Name: "arista_eos", Description: "Arista EOS: ACLs in config sessions, switchport access vlan (not yet implemented)", Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	r.Register(drivers.Info{Name: "juniper_junos", Description: "Juniper Junos: firewall filters with prefix-lists, commit confirmed (not yet implemented)", Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	return r
}
