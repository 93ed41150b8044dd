// Package aristaeos is Ward's Arista EOS driver (arista_eos): inbound IPv4
// ACLs on the zone VLANs' routed interfaces (firewall role, an L3 switch)
// and access-port VLANs (access role); a target may hold both. It speaks
// the EOS CLI over drivers/netsession with an embedded scrapligo platform
// definition (platform.yaml) and is tested against drivers/aristaeos/eosfake.
//
// Start reading at driver.go (Register, Apply); render.go turns the model
// into the switch's state, parse.go reads it back, state.go is the text
// form, commands.go the change between two states.
//
// # What it writes
//
// Every ACL Ward manages is named ward-…; nothing else on the switch is
// read as Ward's except the VLAN named ward-quarantine and the access VLAN
// of Ethernet / Port-Channel ports.
//
//   - Record lists, bound to no interface (they filter nothing): no Arista
//     document was found for address object-groups in ACL entries, so the
//     entries carry addresses, and these lists carry the model's names:
//     ward-set-NAME (permit ip PREFIX any per member), ward-monitor-NAME,
//     ward-remediation-NAME, ward-isolate-NAME / ward-restrict-NAME (the
//     quarantine sets; their entries are quarantine state),
//     ward-default-drop|accept, and ward-rule-FROM-TO /
//     ward-essential-FROM-TO (one block of entries per rule, numbered
//     from 1000 per rule: permit tcp any any eq 443). ICMPv6 rules are
//     recorded in ward-rule6-/ward-essential6- lists and enforce nothing:
//     the ACLs are IPv4, and a set with IPv6 members is refused.
//   - One enforcing ACL per zone with a VLAN, ward-zone-SET (ward-vlanN
//     for a zone no flow names; ward-vlanN-monitor if it is in monitor
//     mode), bound with ip access-group … in on interface VlanN. Its
//     sections, by sequence number: 10… isolated addresses (quarantine
//     state: permit to and from the remediation sets, deny from and to,
//     logged);
//     1,000,000… essential rules and their replies; 2,000,000… restricted
//     addresses (deny from and to, logged); 3,000,000… the other rules and
//     their replies; 8,000,000… monitor zones (permit … log, never
//     silent); 9,000,000 the final deny ip any any log (permit ip any any
//     log when the default action is accept).
//   - Access role: the empty list ward-access (without it the switch's
//     ports are neither read nor changed), vlan Q with name
//     ward-quarantine, and switchport access vlan N per port, port names
//     canonicalised (Et5 = Ethernet5, Et1/1, Po10 = Port-Channel10). With
//     the role, every port with an access VLAN is Ward's: one the
//     configuration leaves out goes back to the default VLAN (no
//     switchport access vlan), so a port someone else set is drift.
//
// The ACLs are stateless, so replies are rules: TCP from the service port
// with established, UDP from the service port (the price: a host in the
// destination zone may send any UDP from that port back to the source
// zone), ICMP echo-reply for echo-request rules. Traffic from a network
// (not a zone) enters elsewhere and is not filtered here; replies to it
// are. Entries are the cross product of the rule's source and destination
// prefixes (aggregated), so a zone ACL grows with flows × prefixes, not
// with devices × flows when zones have subnets.
//
// Parse reads the record lists into the model, then builds the state they
// give and requires the enforcing ACLs and bindings to be exactly that:
// an entry edited by hand is an error naming it (drift is reported, never
// skipped). Port ranges come back merged and sorted (the one form entries
// say them in); labels Enforced drops are not kept.
//
// # How it applies
//
// Apply parses the configuration (ErrInvalidConfig before a byte is sent),
// reads show running-config, builds the desired state with the device's
// quarantine state kept, and writes the change as entry-level commands (no
// SEQ, SEQ ENTRY, bindings, no ip access-list for lists no longer wanted)
// from the parsed values only. In a configure session it sends them, reads
// show session-config diffs, commits with commit timer (option
// commit_timer_minutes, default 5), reads the running configuration back
// and compares models, then confirms with configure session NAME commit.
// A refused line or commit aborts the session (ErrCheckFailed: nothing
// changed); a cut before the commit leaves an uncommitted session (the
// previous configuration in force); a cut after it, or a failed confirm, is
// ErrOutcomeUnknown and the switch restores the previous configuration by
// itself when the timer runs out; a read back that differs is rolled back
// at once with configure session NAME abort.
//
// Quarantine is one small session committed at once: AddToSet and
// RemoveFromSet change a quarantine set's record list and every zone ACL's
// quarantine section; SetPortVLAN moves a port to the quarantine VLAN and
// keeps its own VLAN in its description (ward-quarantine home-vlan-N),
// replacing any description it had. Running leaves all of it out; Apply
// keeps it, and refuses to drop a quarantine set that has members.
//
// Not done: Checkpointer (the fake has no checkpoints), IPv6, verified
// TCAM limits (CapacityChecker's numbers are provisional, see commands.go).
// EOS traffic-policies with field-set ipv4 prefix (named address sets, as
// Arista AVD's eos_cli_config_gen renders them) would make a policy grow
// with flows only and a quarantine one field-set member; they are not used:
// their support varies by platform and the fake does not model them.
package aristaeos
