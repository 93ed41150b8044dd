// Package store is Ward's persistent state: devices, policy revisions, plans,
// apply runs, last-applied target state, alerts, quarantines, approvals,
// API tokens, jobs, and the hash-chained audit log.
//
// Open takes a URL — sqlite://PATH (the default, pure Go, WAL) or
// postgres://... — and runs the dialect's goose migrations under a lock
// before returning, so every Ward process sees the schema it expects. The
// same code and tests run on both databases. Start reading at Open in
// store.go; the audit chain is in audit.go.
package store
