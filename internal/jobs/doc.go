// Package jobs serialises device I/O per target across every Ward process
// sharing a store, and runs durable per-target work off the path that
// decided it.
//
// Start at Owner.Do (owner.go): all device I/O to a target — apply,
// refresh and drift reads, quarantine add and remove, expiry, reconcile —
// runs inside Do for that target, whichever process asks (ward serve, the
// CLI, a second replica). One holder at a time: on PostgreSQL a session
// advisory lock on a pinned connection (lock_pg.go), released by the server
// if the process dies; on SQLite a lease row renewed while held
// (lease_sqlite.go), judged stale by a waiter only when its renewal counter
// stops moving for a TTL on the waiter's own monotonic clock, or when its
// holder's process is gone, so a wall-clock jump can neither steal a live
// lease nor keep a dead one. Goroutines of one process queue in front of
// the database lock. A caller that waits longer than OwnerOptions.Wait gets
// a *BusyError naming the holder.
//
// What ownership cannot do: it is a lock the holder checks, not a fence the
// device checks. A holder whose process stalls longer than 2/3 of the TTL
// (SQLite) or whose session ends (PostgreSQL) has fn's context cancelled,
// but a command already on the wire is not recalled; device I/O must
// therefore honour its context and be idempotent, as drivers are.
//
// Queue (queue.go) runs store.Job rows — committed in the same transaction
// as the decision that causes them (store.EnqueueJobs and its in-store
// twin) — one worker per target, each job under Owner.Do with a deadline,
// retried with backoff and failed for the operator after MaxAttempts (a
// kind may have its own deadline and attempts: HandleWith). A dead target
// delays only its own jobs. A running job's claim is renewed every
// heartbeat; a claim five heartbeats old makes the other workers try the
// job's target, and the one that gets its owner — so the first worker is
// gone — runs the job again. ward serve calls Run; a CLI command calls
// Drain to run what it enqueued before it exits.
package jobs
