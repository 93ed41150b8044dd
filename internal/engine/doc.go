// Package engine is where Ward evaluates Rego: today, the Rego unit tests
// beside a policy (RunTests); placement, effective policy and guardrails
// arrive here next. It takes a parsed policy.Config and never re-reads files,
// so what runs is exactly what ward validate checked.
package engine
