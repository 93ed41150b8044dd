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

// ReconcileDeadline bounds Reconcile's work on one target, the wait for
// its owner included: a target that does not answer holds up nothing but
// its own line of the report.
const ReconcileDeadline = 20 * time.Second

// ReconcileReport is what Reconcile found and changed.
type ReconcileReport struct {
	Active  int      `json:"active"`
	Added   []string `json:"added,omitempty"`   // "core-fw: quarantine_isolate += 10.61.210.12"
	Removed []string `json:"removed,omitempty"` // what no active quarantine explains
	Errors  []string `json:"errors,omitempty"`
}

// Reconcile makes every target's quarantine state match the active
// quarantines in the store: on start-up (so a restart neither drops nor
// forgets one) and periodically (a target that lost its state, a push
// that failed). It adds what is missing and removes what no active
// quarantine explains: a quarantine released or expired — final — is never
// added back.
//
// Each target is reconciled at once with the others, under its owner
// (the same one that serialises applies and quarantine jobs, in every
// process) and within ReconcileDeadline. The active quarantines are read
// after the owner is taken, so a job that ran before is never undone by a
// reading older than it.
func (m *Manager) Reconcile(ctx context.Context) (*ReconcileReport, error) {
	rep := &ReconcileReport{}
	if m.noEnforce {
		return rep, nil
	}
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	applied, err := m.applied(ctx)
	if err != nil {
		return nil, err
	}
	_, owner, _ := m.jobQueue()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range slices.Sorted(maps.Keys(applied)) {
		su, isFirewall := m.firewall(v.cfg, name)
		vs, isSwitch := m.accessSwitch(v.cfg, name)
		if !isFirewall && !isSwitch {
			continue
		}
		wg.Go(func() {
			tctx, cancel := context.WithTimeout(ctx, ReconcileDeadline)
			defer cancel()
			var tr targetReport
			err := owner.Do(tctx, name, "quarantine reconcile", func(ctx context.Context) error {
				active, err := m.st.ActiveQuarantines(ctx)
				if err != nil {
					return err
				}
				tr.active = active
				if isFirewall {
					return m.reconcileFirewall(ctx, name, su, active, &tr)
				}
				return m.reconcileSwitch(ctx, v, name, vs, active, &tr)
			})
			if err != nil {
				tr.errs = append(tr.errs, fmt.Sprintf("%s: %v", name, err))
			}
			var ids []uint64
			for _, q := range tr.active {
				if isFirewall || q.SwitchTarget == name {
					ids = append(ids, q.ID)
				}
			}
			if tr.active != nil {
				// Only what was read under the owner: a target never
				// reached says nothing about the quarantines. A
				// reconcile that found everything in place, every
				// interval, is no push of its own in their history.
				if len(tr.added)+len(tr.removed) > 0 {
					m.record(ctx, ids, name, err)
				} else {
					m.recordCheck(ctx, ids, name, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Active = max(rep.Active, len(tr.active))
			rep.Added = append(rep.Added, tr.added...)
			rep.Removed = append(rep.Removed, tr.removed...)
			rep.Errors = append(rep.Errors, tr.errs...)
		})
	}
	wg.Wait()
	if rep.Active == 0 {
		active, err := m.st.ActiveQuarantines(ctx)
		if err == nil {
			rep.Active = len(active)
		}
	}
	sort.Strings(rep.Added)
	sort.Strings(rep.Removed)
	sort.Strings(rep.Errors)
	if len(rep.Added)+len(rep.Removed) > 0 || len(rep.Errors) > 0 {
		detail, _ := json.Marshal(rep)
		if _, err := m.st.AppendAudit(context.WithoutCancel(ctx), store.AuditEntry{Actor: "ward (reconcile)", Action: "quarantine.reconcile", Object: "targets", Detail: json.RawMessage(detail)}); err != nil {
			return rep, fmt.Errorf("recording the reconcile in the audit log: %w", err)
		}
	}
	return rep, nil
}

// targetReport is one target's part of a ReconcileReport.
type targetReport struct {
	active               []store.Quarantine // as read under the owner; nil if never read
	added, removed, errs []string
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
		if err := c.run(ctx, su, s); err != nil {
			return err
		}
		for _, set := range []string{intent.IsolateSet, intent.RestrictSet} {
			if len(c.add[set]) > 0 {
				tr.added = append(tr.added, fmt.Sprintf("%s: %s += %s", name, set, strings.Join(c.add[set], ", ")))
			}
			if len(c.remove[set]) > 0 {
				tr.removed = append(tr.removed, fmt.Sprintf("%s: %s -= %s", name, set, strings.Join(c.remove[set], ", ")))
			}
		}
		return nil
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
