package quarantine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/store"
)

// enforcers are the targets a quarantine changes: the firewalls and
// switches Ward has applied its configuration to (only they have the
// quarantine sets and the managed ports), whose drivers can change one set
// or one port.
type enforcers struct {
	firewalls map[string]drivers.SetUpdater
	switches  map[string]drivers.VLANSetter
	readers   map[string]drivers.QuarantineReader
}

func (m *Manager) enforcers(ctx context.Context) (*enforcers, error) {
	var applied []string
	if err := m.db.WithContext(ctx).Model(&store.TargetState{}).Pluck("target", &applied).Error; err != nil {
		return nil, fmt.Errorf("reading which targets Ward has applied: %w", err)
	}
	e := &enforcers{firewalls: map[string]drivers.SetUpdater{}, switches: map[string]drivers.VLANSetter{},
		readers: map[string]drivers.QuarantineReader{}}
	for _, name := range applied {
		t := m.cfg.Targets[name]
		if t == nil {
			continue
		}
		info, ok := m.reg.Lookup(t.Driver)
		if !ok || info.New == nil {
			continue
		}
		d := info.New()
		switch drivers.Role(t.Role) {
		case drivers.RoleFirewall:
			if su, ok := d.(drivers.SetUpdater); ok {
				e.firewalls[name] = su
			}
		case drivers.RoleAccessSwitch:
			if vs, ok := d.(drivers.VLANSetter); ok {
				e.switches[name] = vs
			}
		}
		if r, ok := d.(drivers.QuarantineReader); ok {
			e.readers[name] = r
		}
	}
	return e, nil
}

// push moves q's device from level from to level to ("" is none: a
// release), on every target at once. The error names each target that
// failed; the others are done.
func (m *Manager) push(ctx context.Context, q *store.Quarantine, from, to string) error {
	if m.noEnforce || from == to {
		return nil
	}
	e, err := m.enforcers(ctx)
	if err != nil {
		return err
	}
	addrs := splitAddrs(q.Addresses)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	run := func(target string, fn func(drivers.Session) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.pool.Do(ctx, target, fn); err != nil {
				if m.onPushErr != nil {
					m.onPushErr(target, err)
				}
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s: %v", target, err))
				mu.Unlock()
			}
		}()
	}
	if len(addrs) > 0 {
		for name, su := range e.firewalls {
			run(name, func(s drivers.Session) error {
				switch to {
				case LevelIsolate:
					if err := su.AddToSet(ctx, s, intent.IsolateSet, addrs); err != nil {
						return err
					}
					return su.RemoveFromSet(ctx, s, intent.RestrictSet, addrs)
				case LevelRestrict:
					if err := su.AddToSet(ctx, s, intent.RestrictSet, addrs); err != nil {
						return err
					}
					return su.RemoveFromSet(ctx, s, intent.IsolateSet, addrs)
				default:
					return errors.Join(su.RemoveFromSet(ctx, s, intent.IsolateSet, addrs), su.RemoveFromSet(ctx, s, intent.RestrictSet, addrs))
				}
			})
		}
	}
	if vs := e.switches[q.SwitchTarget]; vs != nil && q.SwitchPort != "" && (to == LevelIsolate || from == LevelIsolate) {
		vlan := q.HomeVLAN
		if to == LevelIsolate {
			vlan = m.cfg.Quarantine.VLAN
		}
		// A port with no VLAN of its own is not Ward's to move: it could
		// not be put back.
		if vlan != 0 && q.HomeVLAN != 0 {
			run(q.SwitchTarget, func(s drivers.Session) error { return vs.SetPortVLAN(ctx, s, q.SwitchPort, vlan) })
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
