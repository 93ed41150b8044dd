// Package eosfake is an SSH fake of an Arista EOS switch, for tests of
// Ward's arista_eos driver: a real SSH server (gliderlabs/ssh, a fresh
// ed25519 host key per fake, password and/or public-key login) serving an
// interactive CLI that behaves as EOS is documented to. It is for tests
// only; non-test code must not import it.
//
// Start here: Start(t, Options) runs a fake; Addr, HostKey and KnownHosts
// let a client connect with the host key pinned; Running, Startup and Log
// show what the session did. Grammar() is the table of accepted commands,
// each citing its document; grammar.go holds it.
//
// # What it covers
//
//   - Modes and prompts: switch>, enable, switch#, disable, configure
//     [terminal] to switch(config)#, interface Ethernet5 / Et5 / Vlan210 /
//     Vl210 to switch(config-if-Et5)# / switch(config-if-Vl210)#, vlan N to
//     switch(config-vlan-N)#, ip access-list NAME to
//     switch(config-acl-NAME)#, exit, end; a global command typed in a
//     sub-mode runs at the global level, as on EOS.
//   - Keywords abbreviate to any unambiguous prefix (sh run, conf t);
//     errors: "% Invalid input", "% Incomplete command", "% Ambiguous
//     command" (see the constants for their sources).
//   - terminal length N / terminal width N; output longer than a page
//     stops at " --More-- " (space: next page, Enter: one line, q: stop)
//     until terminal length 0.
//   - show running-config, built from the fake's state; copy
//     running-config startup-config and write memory save it.
//   - IP access lists: [SEQ] permit|deny ip|tcp|udp|icmp|0-255, any / host
//     A.B.C.D / A.B.C.D/LEN, eq P... / range LO HI on tcp and udp,
//     established on tcp, an ICMP message type (echo, echo-reply, ...) on
//     icmp, log; sequence numbers given or assigned (last +
//     10); no SEQ; no ip access-list. ip access-group NAME in (and its no
//     form) on Ethernet and Vlan interfaces; ip address on Vlan
//     interfaces; description on Ethernet ports; switchport mode access and switchport access vlan N on
//     Ethernet ports; vlan N with name.
//   - Configure sessions: configure session NAME (a copy of running),
//     changes, show session-config [diffs], commit, commit timer hh:mm:ss
//     (running takes the session at once and goes back by itself when the
//     timer runs out, unless configure session NAME commit, or commit
//     typed in the re-entered session, confirms it; configure session NAME
//     abort, or abort in the session, rolls back at once), abort, rollback
//     clean-config. The timer runs on Options.Clock (ManualClock in tests).
//   - Faults: DropAfterConfigLines cuts the connection, StallOn stops
//     answering, RefuseCommit refuses commits, FailCommands makes a command
//     print a given error.
//
// # What it does not cover
//
// Object-groups and prefix-lists in ACLs (no Arista document describing
// ACL use was found; EOS prefix-lists are for route filtering), standard
// and IPv6 ACLs, named ports, wildcard masks, gt/lt/neq, counters,
// remarks, resequence; checkpoints and configure replace; enable secrets
// (enable never asks for a password); '?' help and tab completion; the
// exact wording of the error EOS prints for an unknown or pending session
// (the fake prints "% Error: ..." texts of its own; "% Duplicate sequence
// number" is EOS's own, see ErrDuplicateSeq);
// a completed session's name being refused for reuse.
//
// Not documented, so chosen: the running configuration shows only what the
// grammar can set, in the section order hostname, vlans, Ethernet ports,
// Vlan interfaces, access lists, and a prefix with host bits set as its
// network; a session prompt carries the whole session name (EOS shortens
// long ones); the pager prompt is " --More-- "; "Copy completed
// successfully." after saving.
//
// # Documents
//
// The Arista EOS User Manual (https://www.arista.com/en/um-eos: Command-Line
// Interface, Configure Session, Session Management Commands, ACLs and Route
// Maps, VLANs, IPv4), Arista Warrior 2nd ed. for the error text, the
// published session examples cited in grammar.go, and scrapligo's
// arista_eos platform definition for what a client expects of prompts and
// failures.
package eosfake
