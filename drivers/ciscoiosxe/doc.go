// Package ciscoiosxe is Ward's Cisco IOS-XE driver (cisco_iosxe), for
// Catalyst 9000 switches routing between zone VLANs (role firewall),
// assigning access ports (role access_switch), or both. It is tested
// against the IOS-XE fake (iosxefake) through scrapligo and the real
// session code (drivers/netsession), never yet against a switch.
//
// Start at Register and driver (driver.go); build (render.go) turns the
// intent into the managed configuration (model.go), Parse (parse.go) reads
// it back, Apply (apply.go) changes the switch, quarantine.go holds the
// quarantine, checkpoint and VLAN moves, capacity.go the limits.
//
// What it writes (Render), and nothing else on the switch:
//
//   - one object-group network per address set, named after the set with a
//     hash of its content (zone_pumps-1a2b3c4d), described "ward zone
//     NAME [monitor]" or "ward network NAME"; hosts as host A.B.C.D,
//     prefixes as A.B.C.D MASK;
//   - the quarantine object-groups under the model's names
//     (quarantine_isolate, described with the remediation sets;
//     quarantine_restrict), holding only host 127.0.0.1: IOS refuses to
//     empty an object group an ACL uses (Object Groups for ACLs,
//     Restrictions), and a loopback address is never in a routed packet.
//     Their members are quarantine state: Apply never changes them,
//     Running leaves them out;
//   - for each zone with a VLAN, an extended ACL ward_<set>-<hash>
//     (ward_vlanN-<hash> for a zone with no address set) bound inbound on
//     interface VlanN: isolate (an isolated address reaches the remediation
//     sets only), the essential rules, the restrict denies, the other
//     rules, monitor permits with log, and deny ip any any log (permit ip
//     any any log when the default action is accept: never a silent
//     permit). No remark: the text is as short as the entries make it.
//     Rules with the same source, destination, protocol and essential
//     mark are one rule on the switch (their ports merged, their ICMP
//     types joined), and each section's entries are sorted;
//   - stateless replies: TCP from the service port with established, UDP
//     from the service port back to the source (any UDP back when the rule
//     names no port), ICMP echo-reply for rules allowing echo requests;
//   - access ports: interface <full IOS name> with description "ward vlan
//     N device D zone Z" (the mark of a port Ward manages, and its VLAN
//     while quarantine moves it), switchport mode access, switchport
//     access vlan N; the quarantine VLAN as vlan Q, name ward-quarantine.
//
// Parse reads that text or the switch's running form (sequence numbers,
// IOS port names such as eq www, a host as A.B.C.D 255.255.255.255) into
// the model, refuses anything else in the part Ward manages, and rebuilds
// every bound ACL from the model it read to compare it entry by entry: an
// entry removed, added, changed or moved on the switch is an error naming
// the ACL, never a model that claims more than the switch enforces. It
// reads the rules from the entries' structure (ruleReader in parse.go): a
// rule entry of zone Z's ACL starts from Z's object-group; TCP with
// established, or UDP from a source port, is the reply of a rule toward
// Z, anything else Z's own rule; echo-reply is the reply of an echo rule
// when the other side's ACL holds one (or has no ACL); ICMP keywords go
// back to the policy's names through one table (echo ⇄ echo-request,
// unreachable ⇄ destination-unreachable); entries before the restrict
// denies are essential. Zone and network names come from the object-group
// descriptions.
//
// Flow and service names are not on the switch: ward render and ward plan
// still show them (the plan JSON keeps each rule's flow and service), but
// the device text, Running and Parse do not, and drift is compared by
// what is enforced (intent.Target.Enforced drops these labels anyway).
//
// What the syntax cannot carry: rules naming an empty set (they match
// nothing), icmpv6 rules, a rule none of whose entries lands in a zone ACL
// (its source has no VLAN and it has no reply in one), port ranges as
// written (they come back merged), which of several rules with one
// source, destination, protocol and essential mark an entry came from
// (they come back as one), the essential mark when there is no restrict
// set (nothing on the switch depends on it), the ICMP types of a rule
// whose source has no ACL (it comes back as echo-request, seen by its
// echo-replies), a UDP rule for all ports whose entry is also the reply
// of one the other way (it comes back as the rule of the zone whose ACL
// holds it), and the default action when no zone has a VLAN (read back
// as drop).
//
// The quarantine entries are four per ACL (isolate: deny from and to the
// isolate group; restrict: deny from and to the restrict group), after
// the permits to the remediation sets. They cannot be fewer with two
// groups: an ACE names one source and one destination, and the isolate
// and restrict denies sit on either side of the essential rules. In an
// ACL with no essential rule the two pairs could become one pair naming
// a group that nests both (group-object), two lines fewer per such ACL;
// that needs iosxefake to accept group-object and Apply to order the
// nested group's changes, and is not done.
// Apply, IOS's own safe way (Configuration Rollback Confirmed Change;
// Configuration Replace and Configuration Rollback): the configuration is
// parsed and rebuilt before anything is sent (names, addresses and entries
// are Ward's own, never the text as handed in); the running configuration
// is read; with no archive, one is configured (archive_path); configure
// terminal revert timer N; new object-groups and ACLs under new names, the
// ip access-group of each VLAN interface swapped (one command), old ACLs
// and groups removed, ports last; end; read back and compared by model;
// configure confirm; write memory. A refused line or a differing read
// back is followed by configure revert now; a lost session leaves the
// switch's timer to restore the previous configuration. Checkpoint and
// Rollback use archive config and configure replace URL force.
//
// Open questions a real switch must answer (the fake accepts both): an
// inbound ACL on an SVI also sees traffic to the switch itself (DHCP
// relayed with ip helper-address, pings to the gateway), which the final
// deny drops; whether IOS keeps an entry equal to an earlier one when it
// is given its own sequence number (Apply numbers entries so that it
// would). IPv6 is out of scope: a set with IPv6 members is refused.
package ciscoiosxe
