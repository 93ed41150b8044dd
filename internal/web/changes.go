package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
)

// changeRow is one apply with the semantic difference its plan recorded.
type changeRow struct {
	report.Change
	// FlowsAdded and FlowsRemoved are flows that gained or lost their
	// rules on some firewall; Essential the essential flows the change
	// removed, narrowed or unmarked (intent.Change).
	FlowsAdded, FlowsRemoved, FlowsChanged []string
	Essential                              []intent.EssentialChange
	Approval                               *plan.Approval
	// Problem says why the plan's difference cannot be shown.
	Problem string
}

type changesData struct {
	Banner banner
	// InProgress are the applies not finished yet (the live page only:
	// the report's applies are the finished ones).
	InProgress []store.ApplyProgress
	Changes    []changeRow
	// Targets are the enforcement points with their last push and latest
	// recorded drift check (report.Target), by name.
	Targets []report.Target
}

// changes lists the report's applies, newest first, each with its stored
// plan's semantic difference (the plan Ward applied, as ward plan wrote it).
func (h *Handler) changes(w http.ResponseWriter, r *http.Request, s *session) {
	h.withEvidence(w, r, s, func(ev *evidence) {
		d := changesData{Banner: ev.banner()}
		for _, c := range slices.Backward(ev.rep.Changes) {
			d.Changes = append(d.Changes, h.changeRow(r, c))
		}
		d.Targets = ev.rep.Targets
		if ev.asOf == "" {
			var err error
			if d.InProgress, err = h.cfg.Store.RunningApplies(r.Context()); err != nil {
				h.problem(w, r, s, http.StatusInternalServerError, "Changes", "Ward could not read the applies in progress: "+err.Error())
				return
			}
		}
		h.render(w, r, http.StatusOK, "changes", page{Title: "Changes", Nav: "changes", Session: s.viewer(), CSRF: s.csrf, AsOf: ev.asOf, Data: d})
	})
}

func (h *Handler) changeRow(r *http.Request, c report.Change) changeRow {
	row := changeRow{Change: c}
	stored, err := h.cfg.Store.GetPlan(r.Context(), c.PlanID)
	if errors.Is(err, store.ErrNotFound) {
		row.Problem = "the plan is no longer stored"
		return row
	}
	if err != nil {
		row.Problem = "the plan could not be read: " + err.Error()
		return row
	}
	p, err := plan.DecodeUnverified([]byte(stored.Content))
	if err != nil {
		row.Problem = "the stored plan is unreadable: " + err.Error()
		return row
	}
	row.Approval = p.Approval
	if p.Changes == nil {
		row.Problem = "the plan was made without the store: it records no difference"
		return row
	}
	seen := map[string]bool{}
	for _, t := range p.Changes.Targets {
		if t.Firewall == nil {
			continue
		}
		for _, f := range t.Firewall.Flows {
			key := f.Action + "\x00" + f.Flow
			if seen[key] {
				continue
			}
			seen[key] = true
			switch f.Action {
			case intent.ActionAdd:
				row.FlowsAdded = append(row.FlowsAdded, f.Flow)
			case intent.ActionRemove:
				row.FlowsRemoved = append(row.FlowsRemoved, f.Flow)
			default:
				row.FlowsChanged = append(row.FlowsChanged, f.Flow)
			}
		}
	}
	slices.Sort(row.FlowsAdded)
	slices.Sort(row.FlowsRemoved)
	slices.Sort(row.FlowsChanged)
	row.Essential = p.Changes.Essential
	return row
}
