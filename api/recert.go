package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/recert"
	"github.com/wardnet/ward/internal/store"
)

// RecertCampaign is a recertification campaign as read now
// (internal/recert): its status (open, overdue or closed) and its tally.
type RecertCampaign struct {
	ID         uint64        `json:"id"`
	Name       string        `json:"name"`
	CreatedBy  string        `json:"created_by"`
	CreatedAt  time.Time     `json:"created_at"`
	DueAt      time.Time     `json:"due_at"`
	PolicyHash string        `json:"policy_hash"`
	Status     string        `json:"status"`
	ClosedBy   string        `json:"closed_by,omitempty"`
	ClosedAt   *time.Time    `json:"closed_at,omitempty"`
	Counts     recert.Counts `json:"counts"`
}

// RecertItem is one flow of a campaign: its owner, its state as read now
// (pending, recertified, expired, not_recertified) and the decision.
type RecertItem struct {
	Flow      string     `json:"flow"`
	Owner     string     `json:"owner"`
	State     string     `json:"state"`
	Decision  string     `json:"decision"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Comment   string     `json:"comment,omitempty"`
}

// RecertCampaignDetail answers GET /api/v1/recert/{id}.
type RecertCampaignDetail struct {
	RecertCampaign
	Items []RecertItem `json:"items"`
}

// RecertStartRequest is the body of POST /api/v1/recert.
type RecertStartRequest struct {
	// Name names the campaign ("" names it after its start date).
	Name string `json:"name"`
	// Due is when the owners must have decided: a duration from now (30d,
	// 72h), a date (YYYY-MM-DD) or an RFC 3339 time.
	Due string `json:"due"`
}

// RecertDecisionRequest is the body of POST /api/v1/recert/{id}/decisions.
type RecertDecisionRequest struct {
	Flow string `json:"flow"`
	// Decision is recertify or expire.
	Decision string `json:"decision"`
	Comment  string `json:"comment"`
}

func recertCampaignOf(s recert.Summary) RecertCampaign {
	c := s.RecertCampaign
	return RecertCampaign{ID: c.ID, Name: c.Name, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt.UTC(), DueAt: c.DueAt.UTC(),
		PolicyHash: c.PolicyHash, Status: s.Status, ClosedBy: c.ClosedBy, ClosedAt: c.ClosedAt, Counts: s.Counts}
}

func recertItemOf(it recert.Item) RecertItem {
	return RecertItem{Flow: it.Flow, Owner: it.Owner, State: it.State, Decision: it.Decision,
		DecidedBy: it.DecidedBy, DecidedAt: it.DecidedAt, Comment: it.Comment}
}

// Campaigns are read at the store's clock: the clock that stamps their
// decisions and closes, so a decision just made reads as made.
func (s *Server) listRecert(c *gin.Context) {
	list, err := recert.List(c.Request.Context(), s.cfg.Store, s.cfg.Store.Now())
	if err != nil {
		s.internal(c, "listing recertification campaigns", err)
		return
	}
	out := make([]RecertCampaign, 0, len(list))
	for _, sum := range list {
		out = append(out, recertCampaignOf(sum))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getRecert(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	d, err := recert.Show(c.Request.Context(), s.cfg.Store, id, s.cfg.Store.Now())
	if err != nil {
		s.recertError(c, id, err)
		return
	}
	c.JSON(http.StatusOK, recertDetailOf(d))
}

func recertDetailOf(d *recert.Detail) RecertCampaignDetail {
	out := RecertCampaignDetail{RecertCampaign: recertCampaignOf(d.Summary), Items: make([]RecertItem, 0, len(d.Items))}
	for _, it := range d.Items {
		out.Items = append(out.Items, recertItemOf(it))
	}
	return out
}

// decideRecert records the caller's decision on one flow of a campaign
// and answers the campaign as it now stands.
func (s *Server) decideRecert(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req RecertDecisionRequest
	if !s.bindJSON(c, &req, false) {
		return
	}
	if strings.TrimSpace(req.Flow) == "" {
		fail(c, http.StatusBadRequest, "invalid_field", "flow is required: the flow of the campaign decided on", "flow")
		return
	}
	if req.Decision != store.RecertRecertify && req.Decision != store.RecertExpire {
		fail(c, http.StatusBadRequest, "invalid_field", fmt.Sprintf("decision %q: want %s or %s", req.Decision, store.RecertRecertify, store.RecertExpire), "decision")
		return
	}
	ctx := c.Request.Context()
	if _, err := recert.Decide(ctx, s.cfg.Store, id, req.Flow, req.Decision, actorOf(c), req.Comment); err != nil {
		s.recertError(c, id, err)
		return
	}
	d, err := recert.Show(ctx, s.cfg.Store, id, s.cfg.Store.Now())
	if err != nil {
		s.internal(c, "reading the campaign after the decision", err)
		return
	}
	c.JSON(http.StatusOK, recertDetailOf(d))
}

// startRecert starts a campaign over the flows in force, as ward recert
// start and /ui/recert do, and answers it (201).
func (s *Server) startRecert(c *gin.Context) {
	var req RecertStartRequest
	if !s.bindJSON(c, &req, false) {
		return
	}
	ctx := c.Request.Context()
	now := s.cfg.Store.Now()
	due, err := recert.ParseDue(req.Due, now)
	if err != nil {
		fail(c, http.StatusBadRequest, "invalid_field", err.Error(), "due")
		return
	}
	var p *inforce.Policy
	if s.cfg.Policy != nil {
		p = s.cfg.Policy.Load()
	}
	camp, err := recert.Start(ctx, s.cfg.Store, p, recert.StartOptions{Name: req.Name, Due: due, Actor: actorOf(c), Now: now})
	var refused *recert.RefusedError
	if errors.As(err, &refused) {
		fail(c, http.StatusBadRequest, "refused", err.Error(), "")
		return
	}
	if err != nil {
		s.internal(c, "starting a recertification campaign", err)
		return
	}
	d, err := recert.Show(ctx, s.cfg.Store, camp.ID, s.cfg.Store.Now())
	if err != nil {
		s.internal(c, "reading the campaign just started", err)
		return
	}
	c.JSON(http.StatusCreated, recertDetailOf(d))
}

// closeRecert closes an open campaign: flows still undecided are recorded
// as not recertified. It answers the campaign as closed.
func (s *Server) closeRecert(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	d, err := recert.Close(c.Request.Context(), s.cfg.Store, id, actorOf(c), s.cfg.Store.Now())
	if err != nil {
		s.recertError(c, id, err)
		return
	}
	c.JSON(http.StatusOK, recertDetailOf(d))
}

// recertError answers a refused or failed campaign read or decision.
func (s *Server) recertError(c *gin.Context, id uint64, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(c, http.StatusNotFound, "not_found", err.Error()+" (GET /api/v1/recert lists the campaigns)", "")
	case errors.Is(err, store.ErrRecertDecided), errors.Is(err, store.ErrRecertClosed):
		fail(c, http.StatusConflict, "refused", err.Error()+"; nothing was changed", "")
	default:
		s.internal(c, fmt.Sprintf("recertification campaign %d", id), err)
	}
}
