package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

// The quarantine timeline (/ui/quarantines/{id}): what the store recorded
// about one quarantine — alerts, decisions, pushes, approvals, release —
// in time order, with the essential flows each decision kept open as
// recorded when it was made.

// timelineRow is one event of a quarantine's timeline.
type timelineRow struct {
	At time.Time
	// When is At to the second: a quarantine's events are seconds apart.
	When   string
	Event  string
	Who    string
	Detail string
	// Failed marks a push a target refused.
	Failed bool
	// Kept are the essential flows the decision kept open (links);
	// KeptNote says what the decision kept when no list applies.
	Kept     []string
	KeptNote string
	order    int // ties at one time: alert, decision, approval, push, end
}

// quarantineTimelineData is the timeline page's view-model.
type quarantineTimelineData struct {
	ID                                  uint64
	Device                              string
	DeviceRemoved                       bool
	Status, Level, PendingLevel, Reason string
	CreatedAt                           time.Time
	ExpiresAt, ReleasedAt, EnforcedAt   *time.Time
	ReleasedBy, EnforceError            string
	// ApprovedBy names who approved a stronger level, if anyone did.
	ApprovedBy string
	// KeptOpen is what the quarantine keeps open now, from its latest
	// recorded decision; KeptNote says it in words.
	KeptOpen []string
	KeptNote string
	Rows     []timelineRow
}

// decisionDetail is the part of a quarantine audit event's detail the
// timeline shows (quarantine.Manager's save, Approve and end).
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

func (h *Handler) quarantineTimeline(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	var hist *store.QuarantineHistory
	if err == nil {
		hist, err = h.cfg.Store.QuarantineHistory(r.Context(), id)
	}
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) || errors.Is(err, store.ErrNotFound) {
			h.problem(w, r, s, http.StatusNotFound, "No such quarantine", fmt.Sprintf("There is no quarantine %q; the quarantines page lists the open ones.", r.PathValue("id")))
			return
		}
		h.cfg.Logger.Error("reading a quarantine's history for the UI", "error", err, "quarantine", id)
		h.problem(w, r, s, http.StatusInternalServerError, "Quarantine", "Ward could not read the quarantine's history: "+err.Error())
		return
	}
	d := timelineOf(hist)
	h.render(w, r, http.StatusOK, "quarantine", page{Title: fmt.Sprintf("Quarantine #%d of %s", d.ID, d.Device), Nav: "quarantines",
		Session: s.viewer(), CSRF: s.csrf, Data: d})
}

// timelineOf builds the timeline's view-model from a quarantine's history.
func timelineOf(hist *store.QuarantineHistory) quarantineTimelineData {
	q := hist.Quarantine
	d := quarantineTimelineData{ID: q.ID, Device: hist.Device.Name, DeviceRemoved: hist.Device.RemovedAt != nil,
		Status: q.Status, Level: q.Level, PendingLevel: q.PendingLevel, Reason: q.Reason, CreatedAt: q.CreatedAt,
		ExpiresAt: q.ExpiresAt, ReleasedAt: q.ReleasedAt, ReleasedBy: q.ReleasedBy, EnforcedAt: q.EnforcedAt, EnforceError: q.EnforceError}
	for _, a := range hist.Alerts {
		d.Rows = append(d.Rows, timelineRow{At: a.ReceivedAt, Event: "Alert", Who: a.Source, order: 0,
			Detail: fmt.Sprintf("%s (severity %s, id %s, %s format)", cmp.Or(a.Signature, "no signature"), cmp.Or(a.Severity, "none"), a.ExternalID, cmp.Or(a.Format, "unknown"))})
	}
	var kept *[]string
	for _, e := range hist.Events {
		row, k := eventRow(e, kept)
		d.Rows = append(d.Rows, row)
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
		row := timelineRow{At: p.At, Event: "Push to " + p.Target, Who: "ward", order: 3, Detail: "pushed: the target holds what the quarantine asked for then"}
		if !p.OK {
			row.Failed, row.Detail = true, "failed: "+p.Error+" (retried until it succeeds)"
		}
		d.Rows = append(d.Rows, row)
	}
	for i := range d.Rows {
		d.Rows[i].When = d.Rows[i].At.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	sort.SliceStable(d.Rows, func(i, j int) bool {
		if !d.Rows[i].At.Equal(d.Rows[j].At) {
			return d.Rows[i].At.Before(d.Rows[j].At)
		}
		return d.Rows[i].order < d.Rows[j].order
	})
	d.KeptOpen, d.KeptNote = keptNow(q, kept, d.ApprovedBy)
	return d
}

// eventRow is the row of a quarantine audit event, and the essential flows
// its decision recorded (nil: it recorded none). kept is what the latest
// decision before it recorded.
func eventRow(e store.AuditEvent, kept *[]string) (timelineRow, *[]string) {
	var det decisionDetail
	// A detail that is not JSON still shows its event; ward audit verify
	// is what judges the log.
	_ = json.Unmarshal([]byte(e.Detail), &det)
	row := timelineRow{At: e.At, Who: e.Actor, order: 1}
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
		case det.Approved == quarantine.LevelIsolate:
			row.KeptNote = "nothing but remediation (isolate)"
		case kept != nil:
			row.Kept, row.KeptNote = keptBy(det.Approved, quarantine.StatusActive, *kept)
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
	case status == quarantine.StatusPending || level == quarantine.LevelNotify:
		return nil, "everything: nothing is enforced while it waits for a person"
	case level == quarantine.LevelIsolate:
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
	case q.Status == quarantine.StatusReleased || q.Status == quarantine.StatusExpired:
		return nil, "everything: the quarantine has ended"
	case q.Level == quarantine.LevelIsolate && approvedBy != "":
		return nil, "nothing but remediation (isolate, approved by " + approvedBy + ")"
	case recorded == nil && q.Level == quarantine.LevelRestrict:
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
