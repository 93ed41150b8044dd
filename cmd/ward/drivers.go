package main

import "github.com/wardnet/ward/drivers"

// newRegistry is the one explicit list of the drivers this binary knows.
//
// The names and roles below are the contract from DESIGN.md, so that policies
// naming these drivers validate today. The implementations that push
// configuration arrive package by package; each will replace its entry here
// with a call to its own Register function.
func newRegistry() *drivers.Registry {
	r := &drivers.Registry{}
	r.Register(drivers.Info{Name: "linux_nftables", Description: "Linux firewall: one inet ward table, replaced atomically with nft -f", Roles: []drivers.Role{drivers.RoleFirewall}})
	r.Register(drivers.Info{Name: "openvswitch", Description: "Open vSwitch: access-port VLAN tags with ovs-vsctl", Roles: []drivers.Role{drivers.RoleAccessSwitch}})
	r.Register(drivers.Info{Name: "cisco_iosxe", Description: "Cisco IOS-XE: ACLs with object-groups, switchport access vlan", Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	r.Register(drivers.Info{Name: "arista_eos", Description: "Arista EOS: ACLs in config sessions, switchport access vlan", Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	r.Register(drivers.Info{Name: "juniper_junos", Description: "Juniper Junos: firewall filters with prefix-lists, commit confirmed", Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	return r
}
