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
//     permit). Each rule's entries follow a remark "ward #N rule|reply
//     essential|normal [icmp=TYPES] flow F service S", which is how Parse
//     reads the rule back;
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
// the ACL, never a model that claims more than the switch enforces.
// What the syntax cannot carry: rules naming an empty set (they match
// nothing), icmpv6 rules, a rule none of whose entries lands in a zone ACL
// (its source has no VLAN and it has no reply in one), port ranges as
// written (they come back merged), and the default action when no zone
// has a VLAN (read back as drop).
//
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
