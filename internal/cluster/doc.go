// Package cluster lets several ward serve replicas share one database:
// each records itself as a replica, and one of them — the leader — does
// the scheduled work (quarantine expiry, reconcile, scheduled drift
// checks), elected in the database, with no consensus of Ward's own.
//
// Start at Elector.Run (elector.go). Leadership is a row
// (store.Leader) taken by compare-and-set: a replica claims it only by
// naming the (holder, epoch, renewals) it saw, unchanged for a whole
// lease (TTL) on its own monotonic clock — so neither a wall-clock jump
// nor clock skew between replicas can steal a live lease or keep a dead
// one. Each change of holder increments the epoch, the fencing token of
// the leader's work.
//
// The leader renews every TTL/4 and steps down — cancelling the context
// of its work — when it has not renewed for 2/3 of the TTL, before any
// claimant can see the lease stale: a replica paused (SIGSTOP, a VM
// freeze) past its lease finds, when it wakes, that it is no longer
// leader before it takes another step. Work that must not run on a stale
// leader checks Elector.Fence right before it acts; what is already on the
// wire is the target's to refuse (the epoch travels with the push).
package cluster
