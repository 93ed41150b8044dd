package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/wardnet/ward/internal/recert"
	"github.com/wardnet/ward/internal/store"
)

func (h *Handler) recertRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /ui/recert", h.get(h.recertList))
	m.HandleFunc("GET /ui/recert/{id}", h.get(h.recertCampaign))
	m.HandleFunc("POST /ui/recert/{id}/decide", h.post(store.RoleOperator, h.recertDecide))
}

// recertListData is the campaigns page's view-model.
type recertListData struct {
	Campaigns []recert.Summary
}

// recertCampaignData is a campaign's page view-model: its items, and
// whether the signed-in person may decide (an operator, on an open
// campaign).
type recertCampaignData struct {
	Campaign  recert.Summary
	Items     []recert.Item
	CanDecide bool
	Notice    string
}

func (h *Handler) recertList(w http.ResponseWriter, r *http.Request, s *session) {
	list, err := recert.List(r.Context(), h.cfg.Store, h.cfg.Now())
	if err != nil {
		h.cfg.Logger.Error("listing recertification campaigns for the UI", "error", err)
		h.problem(w, r, s, http.StatusInternalServerError, "Recertification", "Ward could not list the campaigns: "+err.Error())
		return
	}
	h.render(w, r, http.StatusOK, "recert", page{Title: "Recertification", Nav: "recert", Session: s.viewer(), CSRF: s.csrf, Data: recertListData{Campaigns: list}})
}

func (h *Handler) recertCampaign(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := h.recertID(w, r, s)
	if !ok {
		return
	}
	d, err := recert.Show(r.Context(), h.cfg.Store, id, h.cfg.Now())
	if err != nil {
		h.recertProblem(w, r, s, id, err)
		return
	}
	data := recertCampaignData{Campaign: d.Summary, Items: d.Items,
		CanDecide: store.RoleAtLeast(s.Role, store.RoleOperator) && d.RecertCampaign.Status == store.RecertOpen}
	switch n := r.URL.Query().Get("done"); n {
	case store.RecertRecertify, store.RecertExpire:
		data.Notice = n
	}
	h.render(w, r, http.StatusOK, "recert_campaign", page{Title: fmt.Sprintf("Recertification campaign %d", id), Nav: "recert", Session: s.viewer(), CSRF: s.csrf, Data: data})
}

// recertDecide records the signed-in operator's decision on one flow of the
// campaign and goes back to the campaign.
func (h *Handler) recertDecide(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := h.recertID(w, r, s)
	if !ok {
		return
	}
	flow, decision := r.PostForm.Get("flow"), r.PostForm.Get("decision")
	if decision != store.RecertRecertify && decision != store.RecertExpire {
		h.problem(w, r, s, http.StatusBadRequest, "Bad decision", "Decide recertify or expire; nothing was changed.")
		return
	}
	if _, err := recert.Decide(r.Context(), h.cfg.Store, id, flow, decision, s.actor(), r.PostForm.Get("comment")); err != nil {
		h.recertProblem(w, r, s, id, err)
		return
	}
	h.cfg.Logger.Info("ui recertification decision", "campaign", id, "flow", flow, "decision", decision, "actor", s.actor())
	http.Redirect(w, r, fmt.Sprintf("/ui/recert/%d?done=%s#%s", id, decision, url.PathEscape("flow-"+flow)), http.StatusSeeOther)
}

func (h *Handler) recertID(w http.ResponseWriter, r *http.Request, s *session) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		h.problem(w, r, s, http.StatusNotFound, "No such campaign", "There is no recertification campaign "+r.PathValue("id")+".")
		return 0, false
	}
	return id, true
}

// recertProblem answers a refused or failed campaign action.
func (h *Handler) recertProblem(w http.ResponseWriter, r *http.Request, s *session, id uint64, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.problem(w, r, s, http.StatusNotFound, "Not found", err.Error()+"; nothing was changed.")
	case errors.Is(err, store.ErrRecertDecided), errors.Is(err, store.ErrRecertClosed):
		h.problem(w, r, s, http.StatusConflict, "Not done", err.Error()+"; nothing was changed.")
	default:
		h.cfg.Logger.Error("ui recertification", "campaign", id, "error", err)
		h.problem(w, r, s, http.StatusInternalServerError, "Recertification", fmt.Sprintf("Campaign %d: %v", id, err))
	}
}
