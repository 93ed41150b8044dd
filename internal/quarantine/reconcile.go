package quarantine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/store"
)

// ReconcileDeadline bounds the reconcile of one target: Reconcile's work
// on it, the wait for its owner included, and a reconcile job's run. A
// target that does not answer holds up nothing but its own line of the
// report.
const ReconcileDeadline = 20 * time.Second

// ReconcileReport is what a reconcile found and changed.
type ReconcileReport struct {
	Active  int      `json:"active"`
	Added   []string `json:"added,omitempty"`   // "core-fw: quarantine_isolate += 10.61.210.12"
	Removed []string `json:"removed,omitempty"` // what no active quarantine explains
	Errors  []string `json:"errors,omitempty"`
}

// add merges one target's part into r.
func (r *ReconcileReport) add(tr targetReport) {
	r.Active = max(r.Active, len(tr.active))
	r.Added = append(r.Added, tr.added...)
	r.Removed = append(r.Removed, tr.removed...)
	r.Errors = append(r.Errors, tr.errs...)
}

// finish sorts r and, if no target was read, counts the active
// quarantines itself.
func (r *ReconcileReport) finish(ctx context.Context, st *store.Store) {
	if r.Active == 0 {
		if active, err := st.ActiveQuarantines(ctx); err == nil {
			r.Active = len(active)
		}
	}
	sort.Strings(r.Added)
	sort.Strings(r.Removed)
	sort.Strings(r.Errors)
}

// Reconcile makes every target's quarantine state match the active
// quarantines in the store, now, and reports what it found: for a CLI
// command and tests. ward serve's leader enqueues the same work as jobs
// instead (EnqueueReconcile, ReconcileJobs), so that a leader killed
// half-way leaves it to the other replicas. Both reconcile each target
// with reconcileTarget: it adds what is missing and removes what no
// active quarantine explains — a quarantine released or expired, final,
// is never added back.
//
// Reconcile does not go through the queue: a target's jobs run in order,
// so a reconcile job waits behind any earlier job of its target that
// failed and waits for its retry (up to a minute), where a person asking
// wants the answer now. Each target is reconciled at once with the
// others, under its owner (the same one that serialises applies and
// quarantine jobs, in every process) and within ReconcileDeadline.
func (m *Manager) Reconcile(ctx context.Context) (*ReconcileReport, error) {
	rep := &ReconcileReport{}
	if m.noEnforce {
		return rep, nil
	}
	v, targets, err := m.reconcileTargets(ctx)
	if err != nil {
		return nil, err
	}
	_, owner, _ := m.jobQueue()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var auditErrs []error
	for _, name := range targets {
		wg.Go(func() {
			tctx, cancel := context.WithTimeout(ctx, ReconcileDeadline)
			defer cancel()
			var tr targetReport
			err := owner.Do(tctx, name, "quarantine reconcile", func(ctx context.Context) error {
				tr = m.reconcileTarget(ctx, v, name, true)
				return nil
			})
			if err != nil && !tr.ran {
				// The target was never reached (busy, or its owner
				// could not be taken): the audit log says so too.
				tr.errs = append(tr.errs, fmt.Sprintf("%s: %v", name, err))
				tr.audit = m.auditReconcile(ctx, name, tr)
			}
			mu.Lock()
			defer mu.Unlock()
			rep.add(tr)
			if tr.audit != nil {
				auditErrs = append(auditErrs, tr.audit)
			}
		})
	}
	wg.Wait()
	rep.finish(ctx, m.st)
	return rep, errors.Join(auditErrs...)
}

// reconcileTargets returns the view in force and the targets Ward
// enforces quarantine on: applied firewalls and access switches whose
// drivers can change a quarantine, by name.
func (m *Manager) reconcileTargets(ctx context.Context) (*view, []string, error) {
	v, err := m.view(ctx)
	if err != nil {
		return nil, nil, err
	}
	applied, err := m.applied(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(applied)) {
		_, isFirewall := m.firewall(v.cfg, name)
		_, isSwitch := m.accessSwitch(v.cfg, name)
		if isFirewall || isSwitch {
			out = append(out, name)
		}
	}
	return v, out, nil
}

// targetReport is one target's part of a ReconcileReport.
type targetReport struct {
	ran                  bool               // reconcileTarget ran
	active               []store.Quarantine // as read under the owner; nil if never read
	added, removed, errs []string
	err                  error // why the target is not reconciled
	audit                error // why the audit log, or the quarantines' push history, does not say so
}

// reconcileTarget reconciles target name, whose owner the caller holds (ctx
// carries its fencing token): it reads the active quarantines — after the
// owner is taken, so a job that ran before is never undone by a reading
// older than it — makes the target hold them, records the outcome in
// their push history and, when it changed or failed something, appends a
// quarantine.reconcile audit event for the target — for a failure only
// when auditFailure, so that a reconcile job retried on a dead target is
// audited once, at its last attempt. It is the one definition of a
// target's reconcile, for Reconcile and the reconcile job.
func (m *Manager) reconcileTarget(ctx context.Context, v *view, name string, auditFailure bool) targetReport {
	tr := targetReport{ran: true}
	su, isFirewall := m.firewall(v.cfg, name)
	vs, _ := m.accessSwitch(v.cfg, name)
	active, err := m.st.ActiveQuarantines(ctx)
	if err == nil {
		tr.active = active
		if isFirewall {
			err = m.reconcileFirewall(ctx, name, su, active, &tr)
		} else {
			err = m.reconcileSwitch(ctx, v, name, vs, active, &tr)
		}
	}
	if err != nil {
		tr.err = err
		tr.errs = append(tr.errs, fmt.Sprintf("%s: %v", name, err))
	}
	if tr.active != nil {
		// Only what was read under the owner: a target never reached
		// says nothing about the quarantines. A reconcile that found
		// everything in place, every interval, is no push of its own in
		// their history.
		var ids []uint64
		for _, q := range tr.active {
			if isFirewall || q.SwitchTarget == name {
				ids = append(ids, q.ID)
			}
		}
		ids = append(ids, m.undoneBy(ctx, name, su, vs, isFirewall, err)...)
		var rerr error
		if len(tr.added)+len(tr.removed) > 0 {
			rerr = m.record(ctx, ids, name, err)
		} else {
			rerr = m.recordCheck(ctx, ids, name, err)
		}
		tr.audit = rerr
	}
	if len(tr.added)+len(tr.removed) > 0 || auditFailure {
		tr.audit = errors.Join(tr.audit, m.auditReconcile(ctx, name, tr))
	}
	return tr
}

// undoneBy returns the ended quarantines whose undo had failed on target
// name and that a reconcile of it, ended with err, has carried out: once
// a reconcile that reads the target succeeded, the target holds what the
// active quarantines say and nothing more, so their records must stop
// saying the undo failed there. A blind reconcile removes nothing: none.
func (m *Manager) undoneBy(ctx context.Context, name string, su drivers.SetUpdater, vs drivers.VLANSetter, isFirewall bool, err error) []uint64 {
	var reads bool
	if isFirewall {
		_, reads = su.(drivers.QuarantineReader)
	} else {
		_, reads = vs.(drivers.QuarantineReader)
	}
	if err != nil || !reads {
		return nil
	}
	ids, err := m.st.EndedFailingOn(ctx, name)
	if err != nil {
		m.log.Error("reading the ended quarantines whose undo failed on a target; their records keep the failure until the next reconcile", "target", name, "error", err)
	}
	return ids
}

// auditReconcile appends a quarantine.reconcile event for target (Object:
// its name; Detail: its part of a ReconcileReport) when the reconcile
// added, removed or failed something.
func (m *Manager) auditReconcile(ctx context.Context, target string, tr targetReport) error {
	if len(tr.added)+len(tr.removed)+len(tr.errs) == 0 {
		return nil
	}
	detail, err := json.Marshal(ReconcileReport{Active: len(tr.active), Added: tr.added, Removed: tr.removed, Errors: tr.errs})
	if err != nil {
		return fmt.Errorf("recording the reconcile of target %q in the audit log: %w", target, err)
	}
	if _, err := m.st.AppendAudit(context.WithoutCancel(ctx), store.AuditEntry{Actor: "ward (reconcile)", Action: "quarantine.reconcile", Object: target, Detail: json.RawMessage(detail)}); err != nil {
		return fmt.Errorf("recording the reconcile of target %q in the audit log: %w", target, err)
	}
	return nil
}

// reconcileFirewall makes the quarantine sets of firewall name hold the
// active quarantines' addresses, each in the set of its strongest level.
func (m *Manager) reconcileFirewall(ctx context.Context, name string, su drivers.SetUpdater, active []store.Quarantine, tr *targetReport) error {
	want := map[string][]string{intent.IsolateSet: {}, intent.RestrictSet: {}}
	for a, l := range wantLevels(active) {
		if l == LevelIsolate {
			want[intent.IsolateSet] = append(want[intent.IsolateSet], a)
		} else if l == LevelRestrict {
			want[intent.RestrictSet] = append(want[intent.RestrictSet], a)
		}
	}
	rd, _ := su.(drivers.QuarantineReader)
	return m.pool.Do(ctx, name, func(s drivers.Session) error {
		have := map[string][]string{}
		if rd != nil {
			st, err := rd.ReadQuarantine(ctx, s)
			if err != nil {
				return err
			}
			have = st.Sets
		}
		c := setChanges{add: map[string][]string{}, remove: map[string][]string{}}
		for _, set := range []string{intent.IsolateSet, intent.RestrictSet} {
			c.add[set], c.remove[set] = diffAddrs(want[set], have[set], rd == nil)
		}
		// Adds first: an address moving between sets is never in neither.
		// Each command is noted once the firewall took it: cut off after
		// it, this runs again on a new session (Pool.Do), finds it in
		// place, and the report and audit must still say it was made.
		return c.runNoting(ctx, su, s, func(set string, add bool, addrs []string) {
			if add {
				tr.added = append(tr.added, fmt.Sprintf("%s: %s += %s", name, set, strings.Join(addrs, ", ")))
			} else {
				tr.removed = append(tr.removed, fmt.Sprintf("%s: %s -= %s", name, set, strings.Join(addrs, ", ")))
			}
		})
	})
}

// reconcileSwitch puts the ports of the active isolates on switch name in
// the quarantine VLAN, and every other port found there back in its own.
func (m *Manager) reconcileSwitch(ctx context.Context, v *view, name string, vs drivers.VLANSetter, active []store.Quarantine, tr *targetReport) error {
	wantPorts := isolatedPorts(active, name)
	return m.pool.Do(ctx, name, func(s drivers.Session) error {
		have, blind, err := readPorts(ctx, vs, s, slices.Collect(maps.Keys(wantPorts)))
		if err != nil {
			return err
		}
		var errs []error
		for _, port := range slices.Sorted(maps.Keys(wantPorts)) {
			q := wantPorts[port]
			if _, ok := have[port]; ok && !blind {
				continue
			}
			if v.cfg.Quarantine == nil || v.cfg.Quarantine.VLAN == 0 {
				errs = append(errs, fmt.Errorf("port %s (quarantine #%d): the policy in force has no quarantine VLAN to move it to", port, q.ID))
				continue
			}
			if err := vs.SetPortVLAN(ctx, s, port, v.cfg.Quarantine.VLAN); err != nil {
				errs = append(errs, err)
				continue
			}
			tr.added = append(tr.added, fmt.Sprintf("%s: port %s -> quarantine VLAN %d (#%d)", name, port, v.cfg.Quarantine.VLAN, q.ID))
		}
		for _, port := range slices.Sorted(maps.Keys(have)) {
			if wantPorts[port] != nil {
				continue
			}
			home := have[port]
			if home == 0 {
				home = m.homeVLAN(v, port, name, vs)
			}
			if home == 0 {
				errs = append(errs, fmt.Errorf("port %s is in the quarantine VLAN with no active quarantine, and its own VLAN is unknown: move it by hand", port))
				continue
			}
			if err := vs.SetPortVLAN(ctx, s, port, home); err != nil {
				errs = append(errs, err)
				continue
			}
			tr.removed = append(tr.removed, fmt.Sprintf("%s: port %s -> VLAN %d", name, port, home))
		}
		return errors.Join(errs...)
	})
}
