package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/recert"
	"github.com/wardnet/ward/internal/store"
)

// The recertification pages: the campaigns (an administrator starts one
// here, as with ward recert start), a campaign's flows with who decided
// what and when (operators decide; an administrator closes it). Every
// action goes through internal/recert, which stores and audits it.

func (h *Handler) recertRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /ui/recert", h.get(h.recertList))
	m.HandleFunc("POST /ui/recert", h.post(store.RoleAdmin, h.recertStart))
	m.HandleFunc("GET /ui/recert/{id}", h.get(h.recertCampaign))
	m.HandleFunc("POST /ui/recert/{id}/decide", h.post(store.RoleOperator, h.recertDecide))
	m.HandleFunc("POST /ui/recert/{id}/close", h.post(store.RoleAdmin, h.recertClose))
}

// recertListData is the campaigns page's view-model: the campaigns and,
// for an administrator, the start form (with what was typed and why it
// was refused, after a refusal).
type recertListData struct {
	Campaigns []recert.Summary
	CanStart  bool
	Name, Due string
	Error     string
}

// recertCampaignData is a campaign's page view-model: its items (those of
// Owner when the page is filtered by owner), the owners to filter by, and
// what the signed-in person may do (decide: an operator; close: an
// administrator; both only on an open campaign).
type recertCampaignData struct {
	Campaign  recert.Summary
	Items     []recert.Item
	Owners    []string
	Owner     string
	CanDecide bool
	CanClose  bool
	Notice    string
}

func (h *Handler) recertList(w http.ResponseWriter, r *http.Request, s *session) {
	h.renderRecertList(w, r, s, http.StatusOK, recertListData{Due: "30d"})
}

// renderRecertList renders the campaigns page with the form state in d.
func (h *Handler) renderRecertList(w http.ResponseWriter, r *http.Request, s *session, status int, d recertListData) {
	list, err := recert.List(r.Context(), h.cfg.Store, h.cfg.Now())
	if err != nil {
		h.cfg.Logger.Error("listing recertification campaigns for the UI", "error", err)
		h.problem(w, r, s, http.StatusInternalServerError, "Recertification", "Ward could not list the campaigns: "+err.Error())
		return
	}
	d.Campaigns, d.CanStart = list, store.RoleAtLeast(s.Role, store.RoleAdmin)
	h.render(w, r, status, "recert", page{Title: "Recertification", Nav: "recert", Session: s.viewer(), CSRF: s.csrf, Data: d})
}

// recertStart starts a campaign over the flows of the policy in force, as
// the signed-in administrator, and opens it; a refused start (a bad due
// date, no policy) shows the form again with the reason.
func (h *Handler) recertStart(w http.ResponseWriter, r *http.Request, s *session) {
	name, due := strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("due"))
	form := recertListData{Name: name, Due: due}
	// The store's clock: the one that stamps the campaign (as ward recert).
	now := h.cfg.Store.Now()
	dueAt, err := recert.ParseDue(due, now)
	if err == nil {
		var pol *inforce.Policy
		if h.cfg.Policy != nil {
			pol = h.cfg.Policy.Load()
		}
		var c *store.RecertCampaign
		if c, err = recert.Start(r.Context(), h.cfg.Store, pol, recert.StartOptions{Name: name, Due: dueAt, Actor: s.actor(), Now: now}); err == nil {
			h.cfg.Logger.Info("ui recertification campaign started", "campaign", c.ID, "actor", s.actor())
			http.Redirect(w, r, fmt.Sprintf("/ui/recert/%d?done=started", c.ID), http.StatusSeeOther)
			return
		}
	}
	var refusal *recert.RefusedError
	if !errors.As(err, &refusal) {
		h.cfg.Logger.Error("ui recertification start", "error", err, "actor", s.actor())
		h.problem(w, r, s, http.StatusInternalServerError, "Recertification", "Ward could not start the campaign: "+err.Error()+"; nothing was started.")
		return
	}
	form.Error = "Not started: " + refusal.Reason + "."
	h.renderRecertList(w, r, s, http.StatusBadRequest, form)
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
	open := d.RecertCampaign.Status == store.RecertOpen
	data := recertCampaignData{Campaign: d.Summary, Items: d.Items, Owners: d.Owners(),
		CanDecide: store.RoleAtLeast(s.Role, store.RoleOperator) && open,
		CanClose:  store.RoleAtLeast(s.Role, store.RoleAdmin) && open}
	if o := r.URL.Query().Get("owner"); o != "" {
		data.Owner, data.Items = o, d.Owned(o)
	}
	switch n := r.URL.Query().Get("done"); n {
	case store.RecertRecertify, store.RecertExpire, "started", "closed":
		data.Notice = n
	}
	h.render(w, r, http.StatusOK, "recert_campaign", page{Title: fmt.Sprintf("Recertification campaign %d", id), Nav: "recert", Session: s.viewer(), CSRF: s.csrf, Data: data})
}

// recertDecide records the signed-in operator's decision on one flow of the
// campaign and goes back to the campaign (filtered by the owner it was
// filtered by).
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
	q := url.Values{"done": {decision}}
	if o := r.PostForm.Get("owner"); o != "" {
		q.Set("owner", o)
	}
	http.Redirect(w, r, fmt.Sprintf("/ui/recert/%d?%s#%s", id, q.Encode(), url.PathEscape("flow-"+flow)), http.StatusSeeOther)
}

// recertClose closes the campaign as the signed-in administrator: flows
// still pending are recorded (and audited) as not recertified.
func (h *Handler) recertClose(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := h.recertID(w, r, s)
	if !ok {
		return
	}
	d, err := recert.Close(r.Context(), h.cfg.Store, id, s.actor(), h.cfg.Store.Now())
	if err != nil {
		h.recertProblem(w, r, s, id, err)
		return
	}
	h.cfg.Logger.Info("ui recertification campaign closed", "campaign", id, "not_recertified", d.Counts.NotRecertified, "actor", s.actor())
	http.Redirect(w, r, fmt.Sprintf("/ui/recert/%d?done=closed", id), http.StatusSeeOther)
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
