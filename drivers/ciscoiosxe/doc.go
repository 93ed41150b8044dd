// Package ciscoiosxe is the beginning of Ward's Cisco IOS-XE driver: today
// it holds only Render, which turns one target's intent into IOS-XE
// configuration text. It is not a driver yet: it registers nothing, pushes
// nothing, reads nothing back, and `ward render`, `ward plan` and `ward
// apply` do not use it (the driver contract it will plug into is being
// reshaped, issue 13). Its output has been sent through the IOS-XE fake
// (iosxefake), never to a switch.
//
// What Render writes, in this order:
//
//   - firewall role: one `object-group network` per address set of the
//     intent that has members (named as the set: zone_infusion_pumps,
//     net_ehr_datacenter), hosts as `host A.B.C.D`, prefixes as `A.B.C.D
//     MASK`; an empty object-group for the quarantine restrict set (its
//     members are quarantine state, never configuration); then one named
//     extended ACL per zone, `ward_<set>`, meant to be bound inbound on the
//     zone VLAN's routed interface. Each ACL, numbered 10, 20, …, holds: the
//     essential rules whose source is the zone and the replies to those
//     whose destination is the zone; then `deny ip object-group RESTRICT any
//     log` and `deny ip any object-group RESTRICT log`, so a restricted
//     device keeps only its essential flows; then the other rules and
//     replies; then, for zones in monitor mode, `permit ip … log` (never a
//     silent permit); last `deny ip any any log` (`permit ip any any log`
//     when the default action is accept).
//   - access role: `interface <full name>`, `switchport mode access`,
//     `switchport access vlan N` per port, names canonicalised
//     (Gi1/0/5 → GigabitEthernet1/0/5), sorted by interface number.
//
// These ACLs are stateless, so replies are written as rules: TCP replies
// from the rule's destination ports with `established`; UDP replies from the
// rule's destination ports (any UDP from the destination back to the source
// when the rule names no port); ICMP echo-reply for a rule that allows echo
// requests (or any ICMP). Traffic from a network (not a zone) enters the
// switch elsewhere and is not filtered by these ACLs; replies to it are.
//
// What it does not do yet, and why:
//
//   - It binds no ACL to an interface: the firewall intent
//     (intent.Firewall) does not carry the VLAN of each zone, so Render
//     cannot know `interface VlanN`. The binding is written, and tested
//     through the fake, once the intent carries it (render's zoneVLANs).
//   - IPv6: out of scope. A set with IPv6 members is refused, since an SVI
//     without an IPv6 ACL would pass IPv6 traffic unfiltered; icmpv6 rules
//     then match nothing and are left out.
//   - Isolate quarantine is the access role's VLAN move (to the intent's
//     QuarantineVLAN) done at quarantine time: the firewall renders nothing
//     for the isolate set or the remediation networks.
//   - No capacity limits, no safe apply (new ACL names, binding swap,
//     archive and configure replace), no parsing of a running
//     configuration.
//
// Open questions for the driver, unverified on a switch: an inbound ACL on
// an SVI also sees traffic to the switch itself (DHCP relayed with ip
// helper-address, pings to the gateway), which the final deny would drop;
// and whether IOS-XE accepts an ACL entry naming an empty object-group (the
// restrict group, until a device is restricted). The fake accepts both.
package ciscoiosxe
