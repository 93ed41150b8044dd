package quarantine

import (
	"cmp"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// Timeline is one quarantine as a reviewer reads it: its state now and
// what the store recorded about it — alerts, decisions, pushes, approval,
// release or expiry — in time order, with the essential flows each
// decision kept open as recorded when it was made (the audit detail's
// essential_flows), not as recomputed under a later policy.
type Timeline struct {
	ID            uint64     `json:"id"`
	Device        string     `json:"device"`
	DeviceRemoved bool       `json:"device_removed"`
	Status        string     `json:"status"`
	Level         string     `json:"level"`
	PendingLevel  string     `json:"pending_level"`
	Reason        string     `json:"reason"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
	ReleasedAt    *time.Time `json:"released_at"`
	ReleasedBy    string     `json:"released_by"`
	EnforcedAt    *time.Time `json:"enforced_at"`
	EnforceError  string     `json:"enforce_error"`
	// ApprovedBy names who approved a stronger level, if anyone did.
	ApprovedBy string `json:"approved_by"`
	// KeptOpen is what the quarantine keeps open now, from its latest
	// recorded decision; KeptNote says it in words when no list applies.
	KeptOpen []string        `json:"kept_open"`
	KeptNote string          `json:"kept_note"`
	Events   []TimelineEvent `json:"events"`
}

// TimelineEvent is one event of a quarantine's timeline.
type TimelineEvent struct {
	At time.Time `json:"at"`
	// Event is what happened: Alert, Decision, Decision (change), Push to
	// TARGET, Approval, Released, Expired.
	Event  string `json:"event"`
	Who    string `json:"who"`
	Detail string `json:"detail"`
	// Failed marks a push a target refused.
	Failed bool `json:"failed"`
	// Fence is the fencing token a push carried (0: none recorded): which
	// hold of the target, by whichever replica, made it.
	Fence int64 `json:"fence,omitempty"`
	// Kept are the essential flows a decision kept open; KeptNote says
	// what it kept when no list applies.
	Kept     []string `json:"kept,omitempty"`
	KeptNote string   `json:"kept_note,omitempty"`
	order    int      // ties at one time: alert, decision, approval, push, end
}

// decisionDetail is the part of a quarantine audit event's detail the
// timeline shows, as Manager.save, Approve and end write it.
type decisionDetail struct {
	Level          string    `json:"level"`
	Pending        string    `json:"pending"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason"`
	Decision       string    `json:"decision"`
	Requested      string    `json:"requested"`
	AlertSource    string    `json:"alert_source"`
	AlertID        string    `json:"alert_id"`
	EssentialFlows *[]string `json:"essential_flows"`
	Approved       string    `json:"approved"`
	Comment        string    `json:"comment"`
}

// TimelineOf reads a quarantine's history as its timeline.
func TimelineOf(hist *store.QuarantineHistory) Timeline {
	q := hist.Quarantine
	d := Timeline{ID: q.ID, Device: hist.Device.Name, DeviceRemoved: hist.Device.RemovedAt != nil,
		Status: q.Status, Level: q.Level, PendingLevel: q.PendingLevel, Reason: q.Reason, CreatedAt: q.CreatedAt,
		ExpiresAt: q.ExpiresAt, ReleasedAt: q.ReleasedAt, ReleasedBy: q.ReleasedBy, EnforcedAt: q.EnforcedAt, EnforceError: q.EnforceError}
	for _, a := range hist.Alerts {
		d.Events = append(d.Events, TimelineEvent{At: a.ReceivedAt, Event: "Alert", Who: a.Source, order: 0,
			Detail: fmt.Sprintf("%s (severity %s, id %s, %s format)", cmp.Or(a.Signature, "no signature"), cmp.Or(a.Severity, "none"), a.ExternalID, cmp.Or(a.Format, "unknown"))})
	}
	var kept *[]string
	for _, e := range hist.Events {
		row, k := eventRow(e, kept)
		d.Events = append(d.Events, row)
		if k != nil {
			kept = k
		}
	}
	// The approval's own row is its audit event (quarantine.approve,
	// which names the level approved); the approvals table says who.
	for _, a := range hist.Approvals {
		d.ApprovedBy = a.Actor
	}
	for _, p := range hist.Pushes {
		row := TimelineEvent{At: p.At, Event: "Push to " + p.Target, Who: "ward", order: 3, Fence: p.Fence, Detail: "pushed: the target holds what the quarantine asked for then"}
		if !p.OK {
			row.Failed, row.Detail = true, "failed: "+p.Error+" (retried until it succeeds)"
		}
		d.Events = append(d.Events, row)
	}
	sort.SliceStable(d.Events, func(i, j int) bool {
		if !d.Events[i].At.Equal(d.Events[j].At) {
			return d.Events[i].At.Before(d.Events[j].At)
		}
		return d.Events[i].order < d.Events[j].order
	})
	d.KeptOpen, d.KeptNote = keptNow(q, kept, d.ApprovedBy)
	// Lists, never null, in JSON.
	if d.KeptOpen == nil {
		d.KeptOpen = []string{}
	}
	if d.Events == nil {
		d.Events = []TimelineEvent{}
	}
	return d
}

// eventRow is the row of a quarantine audit event, and the essential flows
// its decision recorded (nil: it recorded none). kept is what the latest
// decision before it recorded.
func eventRow(e store.AuditEvent, kept *[]string) (TimelineEvent, *[]string) {
	var det decisionDetail
	// A detail that is not JSON still shows its event; ward audit verify
	// is what judges the log.
	_ = json.Unmarshal([]byte(e.Detail), &det)
	row := TimelineEvent{At: e.At, Who: e.Actor, order: 1}
	switch e.Action {
	case "quarantine.create", "quarantine.update":
		row.Event = "Decision"
		if e.Action == "quarantine.update" {
			row.Event = "Decision (change)"
		}
		row.Detail = describeDecision(det)
		if det.EssentialFlows != nil {
			row.Kept, row.KeptNote = keptBy(det.Level, det.Status, *det.EssentialFlows)
		}
		return row, det.EssentialFlows
	case "quarantine.approve":
		row.Event, row.order = "Approval", 2
		row.Detail = strings.TrimSpace(fmt.Sprintf("%s approved %s", cmp.Or(det.Approved, "a stronger level"), quoteComment(det.Comment)))
		switch {
		case det.Approved == LevelIsolate:
			row.KeptNote = "nothing but remediation (isolate)"
		case kept != nil:
			row.Kept, row.KeptNote = keptBy(det.Approved, StatusActive, *kept)
		}
	case "quarantine.release":
		row.Event, row.order, row.Detail = "Released", 4, fmt.Sprintf("was %s", describeLevelPending(det.Level, det.Pending, det.Status))
	case "quarantine.expire":
		row.Event, row.order, row.Detail = "Expired", 4, fmt.Sprintf("was %s", describeLevelPending(det.Level, det.Pending, det.Status))
	default:
		row.Event, row.Detail = e.Action, e.Detail
	}
	return row, nil
}

func describeDecision(det decisionDetail) string {
	var parts []string
	parts = append(parts, describeLevelPending(det.Level, det.Pending, det.Status))
	if det.Requested != "" {
		parts = append(parts, "requested "+det.Requested)
	}
	if det.AlertSource != "" {
		parts = append(parts, fmt.Sprintf("on alert %s/%s", det.AlertSource, det.AlertID))
	}
	if det.Reason != "" {
		parts = append(parts, det.Reason)
	}
	if det.Decision != "" && det.Decision != det.Reason {
		parts = append(parts, "decision: "+det.Decision)
	}
	return strings.Join(parts, "; ")
}

func describeLevelPending(level, pending, status string) string {
	s := cmp.Or(level, "no level")
	if status != "" {
		s = status + ", " + s
	}
	if pending != "" {
		s += ", " + pending + " waiting for approval"
	}
	return s
}

// keptBy is what a decision at level kept open, given the device's
// essential flows then: a restrict keeps them, an isolate none, a held
// quarantine (notify) enforces nothing yet.
func keptBy(level, status string, essential []string) ([]string, string) {
	switch {
	case status == StatusPending || level == LevelNotify:
		return nil, "everything: nothing is enforced while it waits for a person"
	case level == LevelIsolate:
		return nil, "nothing but remediation (isolate)"
	case len(essential) == 0:
		return nil, "no flow: the device took part in no essential flow"
	}
	return essential, ""
}

// keptNow is what quarantine q keeps open now: per its latest recorded
// decision's essential flows.
func keptNow(q store.Quarantine, recorded *[]string, approvedBy string) ([]string, string) {
	switch {
	case q.Status == StatusReleased || q.Status == StatusExpired:
		return nil, "everything: the quarantine has ended"
	case q.Level == LevelIsolate && approvedBy != "":
		return nil, "nothing but remediation (isolate, approved by " + approvedBy + ")"
	case recorded == nil && q.Level == LevelRestrict:
		return nil, "its essential flows; this quarantine was decided before Ward recorded which they were"
	}
	var ess []string
	if recorded != nil {
		ess = *recorded
	}
	return keptBy(q.Level, q.Status, ess)
}

func quoteComment(c string) string {
	if c == "" {
		return ""
	}
	return fmt.Sprintf("%q", c)
}
