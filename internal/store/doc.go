// Package store is Ward's persistent state: devices, policy revisions, plans,
// apply runs, last-applied target state, alerts, quarantines, approvals,
// API tokens, jobs, and the hash-chained audit log.
//
// Open takes a URL — sqlite://PATH (the default, pure Go, WAL) or
// postgres://... — and runs the dialect's goose migrations under a lock
// before returning, so every Ward process sees the schema it expects. The
// same code and tests run on both databases. Start reading at Open in
// store.go; the audit chain is in audit.go.
//
// The audit log is keyed: each event's hash is an HMAC under a key kept
// outside the database (WithAuditKey; the ward command keeps it in the
// credential store), so whoever can write the database but not read the key
// cannot rewrite the log without verify naming the first event they touched.
// Signed checkpoints exported from the log catch a tail cut off. Events
// from before the log was keyed are reported as unkeyed, never as keyed; a
// store opened without a key writes no audit event outside tests. The
// reasoning is at the top of audit.go; operators read docs/audit.md.
package store
