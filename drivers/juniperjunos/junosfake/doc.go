// Package junosfake is an SSH fake of a Juniper EX/QFX switch running Junos
// with ELS, for tests of Ward's juniper_junos driver: Start serves one on
// loopback with a fresh ed25519 host key. Import it from tests only.
//
// Start reading at Start and Options (fake.go); the accepted input is data
// in grammar.go (OperationalCommands, ConfigurationCommands, Statements),
// every rule citing the Juniper document it follows; session.go is the CLI,
// config.go the configuration tree and how show prints it.
//
// What it covers:
//   - the operational prompt user@host> and, in configuration mode, the
//     "[edit]" banner over user@host# (with Options.Master, the Virtual
//     Chassis "{master:0}" an EX prints, which scrapligo's prompt pattern
//     expects); configure, configure private (own candidate, refused at
//     commit if another session committed meanwhile), configure exclusive
//     (a lock: a second configure exclusive is refused and other sessions
//     cannot commit; uncommitted changes are discarded on exit after the
//     documented question); exit, quit, exit configuration-mode;
//   - set cli screen-length / screen-width / complete-on-space as
//     scrapligo's juniper_junos platform sends them; until screen-length 0,
//     output longer than a screen stops at the ---(more N%)--- pager
//     (space: next page, enter: next line, q: stop);
//   - set and delete of the statements in Statements, keyword
//     abbreviations, several statements of one container on one line; an
//     empty prefix-list (set policy-options prefix-list NAME, shown as the
//     bare statement while it has no entry; like every container, it goes
//     when a delete empties it); interface descriptions without spaces;
//     show, show | display set, show | compare, show configuration
//     [| display set] (with the "## Last commit" line, and the version
//     statement when Options.Version is set); commit, commit check, commit
//     confirmed [minutes] (rolled back by itself when the deadline passes on
//     Options.Clock unless a commit follows; the prompt banner counts down),
//     rollback [0-49], load set / merge / override terminal;
//   - the CLI's errors with the caret line under the offending word:
//     "unknown command.", "syntax error.", "missing argument.",
//     "'x' is ambiguous.", the range message for numbers,
//     "warning: statement not found", "error: configuration check-out
//     failed";
//   - faults: cut the connection at a configuration line, stall on a
//     command, refuse commits, answer a command with an error text.
//
// What it does not do: edit/up/top and the banners of deeper levels, run,
// load replace/patch/update, commit comment / and-quit / at, annotations,
// inactive statements, IPv6, quoted strings (so no descriptions), semantic
// checks at commit (a filter or prefix-list referenced but not defined
// commits here, the device refuses it: no Juniper document gives those
// messages), the schema order of keywords (statements show in the order they
// were first set, which for terms is the order that matters), and the users
// list beyond the exclusive holder.
//
// Texts taken from published sessions because no Juniper document prints
// them: "Screen length set to N", "Disabling complete-on-space", the range
// message "Value N is not within range (lo..hi) at 'N'", "warning: statement
// not found", "error: configuration database locked by:", the "# commit
// confirmed will be rolled back in N minutes" banner, "## Last commit: ...
// by user", "load complete (N errors)" and the terminal:LINE:(COL) lines of
// a failed load. Texts that are the fake's own, for cases Juniper documents
// but not their wording: a private commit after another session committed,
// commit confirmed in configure private (documented as not allowed on a
// private copy), rollback to a number that does not exist.
//
// Documents followed: the Junos CLI User Guide (configuration mode
// commands, forms of configure, configure exclusive, loading configuration
// from the terminal), the commit command reference, the Junos XML protocol
// guide on confirmed commits, show system rollback (the compare layout),
// the firewall filter match conditions for IPv4, the prefix-list statement,
// the irb, family ethernet-switching (ELS) and l3-interface statements, and
// show cli; their addresses are the doc* constants in grammar.go.
package junosfake
