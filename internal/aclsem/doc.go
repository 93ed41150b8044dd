// Package aclsem evaluates packets against the filters a network OS runs,
// read from the configuration text itself: Cisco IOS-XE extended named ACLs
// with object-groups (ParseIOS), Arista EOS IP access lists (ParseEOS) and
// Junos firewall filters with prefix-lists (ParseJunos), each bound inbound
// (or outbound) on the VLAN interfaces that route between zones.
//
// It is a second, independent reading of what the drivers in drivers/
// render: its parsers share no code with the drivers' own Parse, and each
// rule of evaluation (first match, implicit deny, what "established" or
// "tcp-established" matches, port and ICMP names, what an empty prefix-list
// matches) follows the vendor's document cited beside it. The test of the
// package renders the example hospital with each vendor driver and checks,
// packet by packet, that the result agrees with ward query reach
// (engine.Reach) on every zone pair and service, replies included.
//
// Start with Packet and Filters (packet.go), then one OS's parser.
package aclsem
