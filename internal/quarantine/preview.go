package quarantine

import (
	"context"
	"fmt"
	"slices"
)

// Preview is what quarantining a device would do, decided as an alert's
// decision is but recorded nowhere: the device page's "what a quarantine
// would keep open".
type Preview struct {
	Device      string
	Criticality string
	Zone        string
	// Level is what an alert about the device (of critical severity, so
	// min_severity does not hold it back) would enforce at once: isolate,
	// restrict, or notify (nothing is enforced; a person decides).
	Level string
	// Pending is "isolate" when the isolate the policy asks for waits for
	// a person, the device being restricted meanwhile.
	Pending string
	// Reason is the decision's own.
	Reason string
	// PolicyAction is the quarantine block's action for the device's
	// criticality ("notify" when the block lists none, or has no block).
	PolicyAction string
	// IsolateApproval says why any isolate of the device — an alert's or a
	// person's (ward quarantine -level isolate) — waits for a person; empty
	// when it would not.
	IsolateApproval []string
	// EssentialFlows are the essential flows the device takes part in: what
	// a restrict keeps open. The decision uses the same list.
	EssentialFlows []string
	// KeptOpen is what Level keeps open of the device's flows: the
	// essential flows for restrict, none for isolate (remediation only);
	// nil for notify, which changes nothing.
	KeptOpen []string
	// Remediation are the networks an isolated device can still reach.
	Remediation []string
}

// Preview returns what an alert would do to the device named deviceName
// now, under the policy in force: the same decision and guards as Intake,
// the storm guard apart, with nothing recorded. An unknown device is
// ErrNotFound.
func (m *Manager) Preview(ctx context.Context, deviceName string) (Preview, error) {
	v, err := m.view(ctx)
	if err != nil {
		return Preview{}, err
	}
	d := v.devices[deviceName]
	if d == nil {
		return Preview{}, fmt.Errorf("device %q is not in the inventory: %w", deviceName, ErrNotFound)
	}
	p := Preview{Device: d.inv.Name, Criticality: d.inv.Criticality, Zone: d.zone,
		EssentialFlows: slices.Clone(d.essential), PolicyAction: LevelNotify}
	q := v.cfg.Quarantine
	if q != nil {
		if a := q.Action[d.inv.Criticality]; a != "" {
			p.PolicyAction = a
		}
		for _, r := range q.Remediation {
			p.Remediation = append(p.Remediation, r.Name)
		}
		p.IsolateApproval = isolateApprovalReasons(q, d)
	}
	if t, ok := v.targetIPs[d.inv.IP.Unmap()]; ok {
		p.Level, p.Reason = LevelNotify, fmt.Sprintf("the device has the address of target %s: Ward never quarantines its own targets", t)
		return p, nil
	}
	dec, err := m.decide(ctx, v, d, nil, DecisionRequest{},
		&DecisionAlert{Source: "preview", Severity: "critical", Format: "generic"})
	if err != nil {
		return Preview{}, fmt.Errorf("previewing the quarantine of %s: %w", deviceName, err)
	}
	p.Level, p.Pending, p.Reason = dec.Action, dec.Pending, dec.Reason
	switch p.Level {
	case LevelRestrict:
		p.KeptOpen = p.EssentialFlows
		if p.KeptOpen == nil {
			p.KeptOpen = []string{}
		}
	case LevelIsolate:
		p.KeptOpen = []string{}
	}
	return p, nil
}
