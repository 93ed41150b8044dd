package quarantine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/store"
)

// ReconcileReport is what Reconcile found and changed.
type ReconcileReport struct {
	Active  int      `json:"active"`
	Added   []string `json:"added,omitempty"`   // "core-fw: quarantine_isolate += 10.61.210.12"
	Removed []string `json:"removed,omitempty"` // what no active quarantine explains
	Errors  []string `json:"errors,omitempty"`
}

// Reconcile makes every target's quarantine state match the active
// quarantines in the store: on start-up (so a restart neither drops nor
// forgets one) and whenever an enforcement failed. It adds what is missing
// and removes what no active quarantine explains (one released while Ward
// was down).
func (m *Manager) Reconcile(ctx context.Context) (*ReconcileReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rep := &ReconcileReport{}
	if m.noEnforce {
		return rep, nil
	}
	var active []store.Quarantine
	if err := m.db.WithContext(ctx).Where("status = ?", StatusActive).Find(&active).Error; err != nil {
		return nil, err
	}
	rep.Active = len(active)
	e, err := m.enforcers(ctx)
	if err != nil {
		return nil, err
	}
	want := map[string][]string{intent.IsolateSet: {}, intent.RestrictSet: {}}
	wantPorts := map[string]map[string]*store.Quarantine{} // switch -> port -> quarantine
	for i := range active {
		q := &active[i]
		set := intent.RestrictSet
		if q.Level == LevelIsolate {
			set = intent.IsolateSet
			if q.SwitchPort != "" && q.HomeVLAN != 0 {
				if wantPorts[q.SwitchTarget] == nil {
					wantPorts[q.SwitchTarget] = map[string]*store.Quarantine{}
				}
				wantPorts[q.SwitchTarget][q.SwitchPort] = q
			}
		}
		want[set] = append(want[set], splitAddrs(q.Addresses)...)
	}
	failed := map[string]string{}
	note := func(target string, err error) {
		rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", target, err))
		failed[target] = err.Error()
	}
	for name, su := range e.firewalls {
		rd := e.readers[name]
		err := m.pool.Do(ctx, name, func(s drivers.Session) error {
			have := map[string][]string{}
			if rd != nil {
				st, err := rd.ReadQuarantine(ctx, s)
				if err != nil {
					return err
				}
				have = st.Sets
			}
			for _, set := range []string{intent.IsolateSet, intent.RestrictSet} {
				add, remove := diffAddrs(want[set], have[set], rd == nil)
				if len(add) > 0 {
					if err := su.AddToSet(ctx, s, set, add); err != nil {
						return err
					}
					rep.Added = append(rep.Added, fmt.Sprintf("%s: %s += %s", name, set, strings.Join(add, ", ")))
				}
				if len(remove) > 0 {
					if err := su.RemoveFromSet(ctx, s, set, remove); err != nil {
						return err
					}
					rep.Removed = append(rep.Removed, fmt.Sprintf("%s: %s -= %s", name, set, strings.Join(remove, ", ")))
				}
			}
			return nil
		})
		if err != nil {
			note(name, err)
		}
	}
	for name, vs := range e.switches {
		rd := e.readers[name]
		err := m.pool.Do(ctx, name, func(s drivers.Session) error {
			have := map[string]int{}
			if rd != nil {
				st, err := rd.ReadQuarantine(ctx, s)
				if err != nil {
					return err
				}
				have = st.Ports
			}
			var errs []error
			for port, q := range wantPorts[name] {
				if _, ok := have[port]; ok && rd != nil {
					continue
				}
				if err := vs.SetPortVLAN(ctx, s, port, m.cfg.Quarantine.VLAN); err != nil {
					errs = append(errs, err)
					continue
				}
				rep.Added = append(rep.Added, fmt.Sprintf("%s: port %s -> quarantine VLAN %d (#%d)", name, port, m.cfg.Quarantine.VLAN, q.ID))
			}
			for port, home := range have {
				if wantPorts[name][port] != nil {
					continue
				}
				if home == 0 {
					home = m.homeVLAN(port, name)
				}
				if home == 0 {
					errs = append(errs, fmt.Errorf("port %s is in the quarantine VLAN with no active quarantine, and its own VLAN is unknown: move it by hand", port))
					continue
				}
				if err := vs.SetPortVLAN(ctx, s, port, home); err != nil {
					errs = append(errs, err)
					continue
				}
				rep.Removed = append(rep.Removed, fmt.Sprintf("%s: port %s -> VLAN %d", name, port, home))
			}
			return errors.Join(errs...)
		})
		if err != nil {
			note(name, err)
		}
	}
	sort.Strings(rep.Added)
	sort.Strings(rep.Removed)
	// Record the outcome on each active quarantine (and clear old errors).
	var msgs []string
	for t, msg := range failed {
		msgs = append(msgs, t+": "+msg)
	}
	sort.Strings(msgs)
	msg := strings.Join(msgs, "; ")
	for _, q := range active {
		if msg != q.EnforceError {
			m.db.WithContext(ctx).Model(&store.Quarantine{}).Where("id = ?", q.ID).Update("enforce_error", msg)
		}
	}
	if len(rep.Added)+len(rep.Removed) > 0 || len(rep.Errors) > 0 {
		detail, _ := json.Marshal(rep)
		_, _ = m.st.AppendAudit(ctx, store.AuditEntry{Actor: "ward (reconcile)", Action: "quarantine.reconcile", Object: "targets", Detail: json.RawMessage(detail)})
	}
	return rep, nil
}

// homeVLAN finds the VLAN of the device on a switch port, from the
// inventory and placement.
func (m *Manager) homeVLAN(port, target string) int {
	for _, d := range m.devices {
		if d.inv.Switch == target && d.inv.Port == port {
			if z := m.cfg.Zones[d.zone]; z != nil {
				return z.VLAN
			}
		}
	}
	return 0
}

// diffAddrs compares wanted set members with those on the target. Without
// a reader (blind), everything wanted is added and nothing removed.
func diffAddrs(want, have []string, blind bool) (add, remove []string) {
	norm := func(a string) string {
		if p, err := netip.ParsePrefix(a); err == nil && p.IsSingleIP() {
			return p.Addr().Unmap().String()
		}
		if ip, err := netip.ParseAddr(a); err == nil {
			return ip.Unmap().String()
		}
		return a
	}
	w, h := map[string]bool{}, map[string]bool{}
	for _, a := range want {
		w[norm(a)] = true
	}
	for _, a := range have {
		h[norm(a)] = true
	}
	for a := range w {
		if blind || !h[a] {
			add = append(add, a)
		}
	}
	for a := range h {
		if !w[a] {
			remove = append(remove, a)
		}
	}
	slices.Sort(add)
	slices.Sort(remove)
	return add, remove
}
