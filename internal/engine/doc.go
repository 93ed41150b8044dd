// Package engine is where Ward evaluates Rego, and the one source of a
// device's zone: New compiles the built-in modules (placement, effective
// policy, guardrails) with the policy's own, and Evaluate places every
// device, computes the effective policy and runs the guardrails — the
// result the firewall intent, the API and ward inventory list -zone all
// read. Reach answers what-if questions on it; RunTests runs the Rego unit
// tests beside a policy.
//
// Operator Rego runs in a sandbox (sandbox.go): compiled with Capabilities,
// which leave out network, environment, clock and random builtins, and
// evaluated under a deadline. It takes a parsed policy.Config and never
// re-reads files, so what runs is exactly what ward validate checked.
package engine
