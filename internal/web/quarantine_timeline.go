package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

// The quarantine timeline (/ui/quarantines/{id}): quarantine.TimelineOf
// over what the store recorded about one quarantine.

// timelineRow is one event of a quarantine's timeline.
type timelineRow struct {
	quarantine.TimelineEvent
	// When is At to the second: a quarantine's events are seconds apart.
	When string
}

// quarantineTimelineData is the timeline page's view-model.
type quarantineTimelineData struct {
	quarantine.Timeline
	Rows []timelineRow
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

// timelineOf builds the timeline page's view-model from a quarantine's
// history.
func timelineOf(hist *store.QuarantineHistory) quarantineTimelineData {
	d := quarantineTimelineData{Timeline: quarantine.TimelineOf(hist)}
	for _, e := range d.Events {
		d.Rows = append(d.Rows, timelineRow{TimelineEvent: e, When: e.At.UTC().Format("2006-01-02 15:04:05 UTC")})
	}
	return d
}
