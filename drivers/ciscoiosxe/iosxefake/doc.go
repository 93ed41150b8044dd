// Package iosxefake is an SSH fake of a Cisco IOS-XE switch (Catalyst 9000
// series) for tests: Ward's IOS-XE driver and the lab talk to it through
// scrapligo's network driver with scrapligo's own cisco_iosxe platform
// definition, exactly as they would talk to a switch. It is for tests
// only; no non-test code may import it.
//
// Start there: Start runs the server (gliderlabs/ssh on 127.0.0.1, a fresh
// ed25519 host key to pin with KnownHostsLine or WriteKnownHosts, password
// and/or public-key login), Running and Log show what it holds and what it
// received, and Options and the fault methods break it on purpose. The
// grammar is data: Grammar lists every accepted command form per mode,
// each citing the vendor document it comes from (rules.go); match.go
// explains the pattern notation and how lines are matched.
//
// What it covers, as documented:
//   - the command modes and their prompts: Switch>, Switch#, Switch(config)#,
//     (config-if), (config-ext-nacl), (config-network-group),
//     (config-archive), (config-vlan); enable with a secret (Password:, three tries, then
//     "% Bad secrets"; "% No password set" without one), disable, end,
//     exit, Ctrl-Z, do; a global configuration command typed in a sub-mode
//     runs and leaves the sub-mode;
//   - abbreviations to any unique prefix among the keywords possible at
//     that point; interface names as IOS abbreviates them (Gi1/0/5,
//     gig 1/0/5, vlan210);
//   - the three CLI errors with IOS's texts: "% Invalid input detected at
//     '^' marker." under a caret line aligned with the start of the
//     offending word as typed, "% Incomplete command.", and "% Ambiguous
//     command:  "LINE"" (two spaces after the colon, the whole line quoted),
//     as the CLI guide's error table and recorded sessions show them;
//   - paging at terminal length (24 by default) with --More-- (space: next
//     page, return: next line, anything else: stop) until terminal length 0;
//     terminal width;
//   - named extended ACLs with sequence numbers (default 10, step 10;
//     inserting by number; "no N"; "no <entry>"), permit/deny of ip, a
//     protocol number, tcp, udp and icmp; addresses any, host A.B.C.D,
//     A.B.C.D WILDCARD and object-group NAME; port operators eq, gt, lt, neq,
//     range, ports by number or by IOS's name and read back by name where
//     IOS has one (eq 80 shows as eq www, eq 443 stays); established; a few
//     ICMP types by name; log; remark;
//   - object-group network with host A.B.C.D and A.B.C.D MASK entries and a
//     description; an object group used by an ACL cannot be removed or
//     emptied (the Object Groups for ACLs guide's restriction);
//   - VLANs as a switch in VTP transparent mode keeps them: in the running
//     configuration (vlan N, name), created by switchport access vlan when
//     missing ("% Access VLAN does not exist. Creating vlan N"), VLAN 1 and
//     1002-1005 always there;
//   - interface VlanN (created on first use, removable) with ip address and
//     ip access-group NAME in|out; physical ports with switchport mode
//     access and switchport access vlan N (switchport is invalid input on an
//     SVI);
//   - show running-config (Building configuration..., Current configuration
//     : N bytes, sections closed by "!", "end"), show startup-config, show
//     access-lists, write memory, copy running-config startup-config (with
//     its "Destination filename [startup-config]? " question);
//   - the safe change the Configuration Replace and Configuration Rollback
//     guides describe: archive (path, maximum), archive config, show
//     archive, configure replace URL force [time N | revert trigger [error]
//     timer N] (only files archive config wrote; with a timer it backs the
//     running configuration up to the archive first), configure terminal
//     revert timer N, configure confirm, configure revert now, show archive
//     config rollback timer; an unconfirmed change rolls back by itself when
//     the timer runs out (Options.Minute shortens the minute for tests);
//     "%Please turn config archive on" without the archive feature and
//     "%No Rollback Confirmed Change pending" with nothing to confirm.
//     scrapligo's failure patterns match neither, so a driver must look for
//     them itself.
//
// Faults: DropAfterConfigLines closes the connection right after running
// the Nth configuration-mode line (the line is applied, its answer never
// comes); StallAfter runs a command and then never answers again;
// FailCommand prints a given text instead of running a command (use the
// OS's own texts: InvalidInput, IncompleteCommand, or a refusal).
//
// What it does not cover: protocol names other than ip, tcp, udp and icmp
// (a protocol number is accepted and shown as typed), standard and numbered
// ACLs, service object groups, IPv6, the VLAN
// database of VTP server mode (VLANs outside the running configuration, so
// outside configure replace) and show vlan, trunks,
// configure replace without force (IOS asks for confirmation; the fake
// answers "% Incomplete command.", so drivers must send force), copy, the
// "?" help, exec commands over SSH without a terminal, and syslog
// messages. Texts the documents do not give are marked where they are
// used: "% Duplicate sequence number", the object-group refusals, the
// default-VLAN refusals,
// "%Error opening URL (No such file or directory)", the layout of show
// archive config rollback timer beyond its "Timer value: N min" line, and
// the IOS display forms the fake does not apply (IOS may show
// "A.B.C.D 0.0.0.0" as "host A.B.C.D"; the fake shows what was typed). Keyword abbreviations
// are resolved among the keywords the fake knows, which are fewer than a
// real switch's: an abbreviation accepted here may be ambiguous on the
// device, so drivers should send keywords in full.
//
// Documents followed (each rule cites its own): Cisco's "Using the
// Command-Line Interface" (IOS XE), "Configuring Network Security with
// ACLs", the ip access-list command reference, "Object Groups for ACLs"
// (IOS XE 17), "Validate Security ACLs on Catalyst 9000", the Layer 2
// access-port guide and switchport access vlan reference, "Configuration
// Replace and Configuration Rollback" and "Configuration Rollback Confirmed
// Change" (IOS XE 17); the texts for archive and replace results also follow
// published sessions (NAPALM's IOS driver and its device tests, a recorded
// configure replace), as do "% Bad secrets" and "% No password set" at the
// enable prompt.
package iosxefake
