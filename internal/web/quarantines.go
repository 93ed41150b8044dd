package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

// The quarantines pages: the list (active, waiting for approval, held by
// the storm guard), each quarantine's timeline (quarantine_timeline.go)
// and the operators' release and approval forms.

func (h *Handler) quarantineRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /ui/quarantines", h.get(h.quarantines))
	m.HandleFunc("GET /ui/quarantines/{id}", h.get(h.quarantineTimeline))
	m.HandleFunc("POST /ui/quarantines/{id}/release", h.post(store.RoleOperator, h.release))
	m.HandleFunc("POST /ui/quarantines/{id}/approve", h.post(store.RoleAdmin, h.approve))
}

// quarantineRow is a quarantine in a table.
type quarantineRow struct {
	ID                                  uint64
	Device, Level, PendingLevel, Status string
	Reason, CreatedBy, EnforceError     string
	CreatedAt, ExpiresAt                *time.Time
}

// quarantinesData is the quarantines page's view-model: active ones,
// active ones with a stronger level waiting for approval, and those held
// for a person with nothing enforced yet.
type quarantinesData struct {
	Active, Waiting, Held []quarantineRow
	Notice                string
}

func (h *Handler) quarantineData(ctx context.Context) (*quarantinesData, error) {
	open, err := h.cfg.Quarantines.ListStatus(ctx, "")
	if err != nil {
		return nil, err
	}
	d := &quarantinesData{}
	for _, q := range open {
		created := q.CreatedAt
		row := quarantineRow{ID: q.ID, Device: q.Device, Level: q.Level, PendingLevel: q.PendingLevel, Status: q.Status, Reason: q.Reason,
			CreatedBy: q.CreatedBy, EnforceError: q.EnforceError, CreatedAt: &created, ExpiresAt: q.ExpiresAt}
		switch {
		case q.Status == quarantine.StatusPending:
			d.Held = append(d.Held, row)
		case q.PendingLevel != "":
			d.Waiting = append(d.Waiting, row)
			d.Active = append(d.Active, row)
		default:
			d.Active = append(d.Active, row)
		}
	}
	return d, nil
}

func (h *Handler) quarantines(w http.ResponseWriter, r *http.Request, s *session) {
	if h.cfg.Quarantines == nil {
		h.problem(w, r, s, http.StatusServiceUnavailable, "No quarantine manager", "This Ward runs without a quarantine manager.")
		return
	}
	d, err := h.quarantineData(r.Context())
	if err != nil {
		h.cfg.Logger.Error("listing quarantines for the UI", "error", err)
		h.problem(w, r, s, http.StatusInternalServerError, "Quarantines", "Ward could not list the quarantines: "+err.Error())
		return
	}
	d.Notice = r.URL.Query().Get("done")
	switch d.Notice {
	case "", "released", "approved":
	default:
		d.Notice = ""
	}
	h.render(w, r, http.StatusOK, "quarantines", page{Title: "Quarantines", Nav: "quarantines", Session: s.viewer(), CSRF: s.csrf, Data: d})
}

// quarantineAction runs a release or an approval of the quarantine of the
// path's id, as the signed-in person, and goes back to the list.
func (h *Handler) quarantineAction(w http.ResponseWriter, r *http.Request, s *session, done string, act func(ctx context.Context, q quarantine.Listed) error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		h.problem(w, r, s, http.StatusNotFound, "No such quarantine", "There is no quarantine "+r.PathValue("id")+".")
		return
	}
	open, err := h.cfg.Quarantines.ListStatus(r.Context(), "")
	if err != nil {
		h.problem(w, r, s, http.StatusInternalServerError, "Quarantines", "Ward could not list the quarantines: "+err.Error())
		return
	}
	i := slices.IndexFunc(open, func(q quarantine.Listed) bool { return q.ID == id })
	if i < 0 {
		h.problem(w, r, s, http.StatusConflict, "Not open", fmt.Sprintf("Quarantine #%d is not open (released, expired, or unknown); nothing was changed.", id))
		return
	}
	// Not cancelled when the browser goes away: a quarantine is never
	// left half enforced (as the API does).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Minute)
	defer cancel()
	if err := act(ctx, open[i]); err != nil {
		var refusal *quarantine.RefusedError
		status := http.StatusInternalServerError
		if errors.As(err, &refusal) {
			status = http.StatusConflict
		} else {
			h.cfg.Logger.Error("ui quarantine action", "error", err, "quarantine", id, "actor", s.actor())
		}
		h.problem(w, r, s, status, "Not done", fmt.Sprintf("Quarantine #%d of %s: %v", id, open[i].Device, err))
		return
	}
	h.cfg.Logger.Info("ui quarantine "+done, "quarantine", id, "device", open[i].Device, "actor", s.actor())
	http.Redirect(w, r, "/ui/quarantines?done="+done, http.StatusSeeOther)
}

func (h *Handler) release(w http.ResponseWriter, r *http.Request, s *session) {
	h.quarantineAction(w, r, s, "released", func(ctx context.Context, q quarantine.Listed) error {
		_, err := h.cfg.Quarantines.ReleaseID(ctx, q.ID, s.actor())
		return err
	})
}

func (h *Handler) approve(w http.ResponseWriter, r *http.Request, s *session) {
	h.quarantineAction(w, r, s, "approved", func(ctx context.Context, q quarantine.Listed) error {
		_, err := h.cfg.Quarantines.Approve(ctx, q.ID, s.actor(), r.PostForm.Get("comment"))
		return err
	})
}
