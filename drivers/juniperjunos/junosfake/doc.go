// Package junosfake is an SSH fake of a Juniper EX/QFX switch running Junos
// with ELS, for tests of Ward's juniper_junos driver: Start serves one on
// loopback with a fresh host key. Import it from tests only.
//
// Start reading at Start and Options (fake.go); the accepted input is data
// in grammar.go (OperationalCommands, ConfigurationCommands, Statements),
// every rule citing the Juniper document it follows; session.go is the CLI.
//
// What it covers:
//   - the operational prompt user@host> and, in configuration mode, the
//     "[edit]" banner over user@host#; configure, configure private,
//     configure exclusive (uncommitted changes discarded on exit after the
//     documented question), exit, quit, exit configuration-mode;
//   - set cli screen-length / screen-width / complete-on-space as
//     scrapligo's juniper_junos platform sends them; until screen-length 0
//     long output stops at the ---(more N%)--- pager;
//   - set and delete of the statements in Statements, abbreviations of
//     keywords, several statements of one container on one line;
//     show, show | display set, show | compare, show configuration
//     [| display set]; commit, commit check, commit confirmed [minutes]
//     (rolled back by itself when the deadline passes on the Options.Clock
//     unless a commit follows), rollback [0-49], load set terminal;
//   - the CLI's errors with the caret line: "unknown command.",
//     "syntax error.", "missing argument.", "'x' is ambiguous.", the range
//     message for numbers, "warning: statement not found",
//     "error: configuration check-out failed";
//   - faults: cut the connection at a configuration line, stall on a
//     command, refuse commits, answer a command with an error.
//
// What it does not do: edit/up/top and the banner of deeper levels, load
// merge/override terminal (curly-brace input), run, the exclusive lock
// against other sessions, semantic checks at commit (a filter or
// prefix-list referenced but not defined commits here, the device refuses
// it), inactive statements, annotations, IPv6, schema ordering of
// keywords (statements show in the order they were set), and the exact
// layout of show | compare (drivers read `show configuration | display
// set` and compare models). Texts without a Juniper document behind them,
// taken from published sessions instead: "Screen length set to N",
// "load complete (N errors)" and the terminal:LINE:(COL) lines of a failed
// load, the range message, "warning: statement not found". Texts that
// are the fake's own, for cases Juniper documents but not their wording:
// a private commit after another session committed, commit confirmed in
// configure private, rollback to a number that does not exist.
//
// Documents followed: the Junos CLI User Guide (configuration mode
// commands, forms of configure, configure exclusive, loading configuration
// from the terminal), the commit command reference, the Junos XML protocol
// guide on confirmed commits, the firewall filter match conditions for
// IPv4, the prefix-list statement, the irb, family ethernet-switching and
// l3-interface statements, and show cli; their addresses are the doc*
// constants in grammar.go.
package junosfake
