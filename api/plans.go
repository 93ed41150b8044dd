package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
	"gorm.io/gorm"
)

// PlanRequest is the body of POST /api/v1/plans.
type PlanRequest struct {
	// Targets limits the plan to these targets; empty plans them all.
	Targets []string `json:"targets"`
	// Refresh reads each target's running configuration, so a target
	// changed by hand is planned again (drift repair).
	Refresh bool `json:"refresh"`
}

// SavedPlan is a plan Ward recorded, by ID.
type SavedPlan struct {
	ID        uint64    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// Changed names the targets an apply would push to.
	Changed []string   `json:"changed_targets"`
	Blocked bool       `json:"blocked"`
	Plan    *plan.Plan `json:"plan"`
}

// PlanSummary is a plan in a list.
type PlanSummary struct {
	ID            uint64    `json:"id"`
	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by"`
	PolicyHash    string    `json:"policy_hash"`
	InventoryHash string    `json:"inventory_hash"`
	Changed       []string  `json:"changed_targets"`
	Blocked       bool      `json:"blocked"`
}

// ApplyRequest is the body of POST /api/v1/plans/{id}/apply.
type ApplyRequest struct {
	// AllowEssentialChange is a person's explicit approval of a plan that
	// removes or narrows a flow marked essential; it is recorded in the
	// audit log.
	AllowEssentialChange bool `json:"allow_essential_change"`
}

// ApplyResult answers an apply.
type ApplyResult struct {
	PlanID  uint64            `json:"plan_id"`
	RunID   uint64            `json:"run_id"`
	Status  string            `json:"status"` // succeeded or failed
	Results []plan.PushResult `json:"results"`
}

func changedNames(p *plan.Plan) []string {
	out := []string{}
	for _, t := range p.Changed() {
		out = append(out, t.Name)
	}
	return out
}

func savedPlan(row *store.Plan, p *plan.Plan) SavedPlan {
	return SavedPlan{ID: row.ID, CreatedAt: row.CreatedAt, CreatedBy: row.CreatedBy, Changed: changedNames(p), Blocked: p.Blocked, Plan: p}
}

func (s *Server) createPlan(c *gin.Context) {
	var req PlanRequest
	if !s.bindJSON(c, &req, true) {
		return
	}
	pol, ok := s.policyOrFail(c)
	if !ok {
		return
	}
	for i, t := range req.Targets {
		if pol.cfg.Targets[t] == nil {
			fail(c, http.StatusBadRequest, "invalid_field", fmt.Sprintf("targets[%d] %q is not a target of the policy (GET /api/v1/targets lists them)", i, t), "targets")
			return
		}
	}
	if req.Refresh && s.cfg.Dial == nil {
		fail(c, http.StatusConflict, "no_target_access", "this server has no access to targets (started with -no-enforce); plan without refresh", "refresh")
		return
	}
	ctx := c.Request.Context()
	start := time.Now()
	devices, err := inventory.Active(ctx, s.cfg.Store)
	if err != nil {
		s.internal(c, "reading the inventory", err)
		return
	}
	opts := plan.Options{PolicyDir: s.cfg.PolicyDir, GitCommit: policy.GitCommit(s.cfg.PolicyDir), Store: s.cfg.Store, Drivers: s.cfg.Drivers, Only: req.Targets}
	if req.Refresh {
		opts.Refresh = s.cfg.Dial
	}
	p, diags := plan.Build(ctx, pol.cfg, devices, opts)
	if diags.HasErrors() {
		fail(c, http.StatusUnprocessableEntity, "plan_failed", diags.Error(), "")
		return
	}
	row, err := plan.Record(ctx, s.cfg.Store, p, actorOf(c))
	if err != nil {
		s.internal(c, "recording the plan", err)
		return
	}
	s.metrics.planDuration.Observe(time.Since(start).Seconds())
	if _, err := s.cfg.Store.AppendAudit(ctx, store.AuditEntry{Actor: actorOf(c), Action: "plan.create", Object: fmt.Sprintf("plan %d", row.ID),
		Detail: map[string]any{"policy_hash": p.Policy.Hash, "inventory_hash": p.Inventory.Hash, "changed_targets": changedNames(p), "blocked": p.Blocked}}); err != nil {
		s.internal(c, "writing the audit log", err)
		return
	}
	c.JSON(http.StatusCreated, savedPlan(row, p))
}

// loadPlan reads the plan of the :id path parameter, or answers 404.
func (s *Server) loadPlan(c *gin.Context) (*store.Plan, *plan.Plan, bool) {
	id, ok := idParam(c, "id")
	if !ok {
		return nil, nil, false
	}
	var row store.Plan
	err := s.cfg.Store.DB.WithContext(c.Request.Context()).Take(&row, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		notFound(c, "plan", fmt.Sprint(id), " (GET /api/v1/plans lists them)")
		return nil, nil, false
	}
	if err != nil {
		s.internal(c, "reading the plan", err)
		return nil, nil, false
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(row.Content), &p); err != nil {
		s.internal(c, "reading the plan", err)
		return nil, nil, false
	}
	return &row, &p, true
}

func (s *Server) getPlan(c *gin.Context) {
	row, p, ok := s.loadPlan(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, savedPlan(row, p))
}

func (s *Server) listPlans(c *gin.Context) {
	limit, offset, ok := page(c)
	if !ok {
		return
	}
	db := s.cfg.Store.DB.WithContext(c.Request.Context())
	var total int64
	if err := db.Model(&store.Plan{}).Count(&total).Error; err != nil {
		s.internal(c, "counting plans", err)
		return
	}
	var rows []store.Plan
	if err := db.Order("id DESC").Limit(limit).Offset(offset).Find(&rows).Error; err != nil {
		s.internal(c, "listing plans", err)
		return
	}
	out := Page[PlanSummary]{Items: []PlanSummary{}, Total: int(total), Limit: limit, Offset: offset}
	for _, r := range rows {
		var p plan.Plan
		if err := json.Unmarshal([]byte(r.Content), &p); err != nil {
			s.internal(c, fmt.Sprintf("reading plan %d", r.ID), err)
			return
		}
		out.Items = append(out.Items, PlanSummary{ID: r.ID, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, PolicyHash: p.Policy.Hash,
			InventoryHash: p.Inventory.Hash, Changed: changedNames(&p), Blocked: p.Blocked})
	}
	c.JSON(http.StatusOK, out)
}

// applyPlan answers POST /api/v1/plans/{id}/apply: it pushes the plan
// exactly as reviewed, refusing it if the policy or inventory changed
// since, if it is blocked, or if it breaks an essential flow without
// allow_essential_change. The push finishes even if the caller goes away
// or Ward is asked to stop.
func (s *Server) applyPlan(c *gin.Context) {
	var req ApplyRequest
	if !s.bindJSON(c, &req, true) {
		return
	}
	row, p, ok := s.loadPlan(c)
	if !ok {
		return
	}
	pol, ok := s.policyOrFail(c)
	if !ok {
		return
	}
	if s.cfg.Dial == nil {
		fail(c, http.StatusConflict, "no_target_access", "this server has no access to targets (started with -no-enforce); nothing was applied", "")
		return
	}
	if !s.applyMu.TryLock() {
		fail(c, http.StatusConflict, "apply_running", "another apply is running; try again when it has finished", "")
		return
	}
	defer s.applyMu.Unlock()
	ctx := c.Request.Context()
	switch {
	case p.Blocked:
		fail(c, http.StatusConflict, "plan_blocked", fmt.Sprintf("plan %d is blocked and cannot be applied: %v", row.ID, p.Reasons), "")
		return
	case p.Policy.Hash != pol.hash:
		fail(c, http.StatusConflict, "plan_stale", fmt.Sprintf("the policy in force changed since plan %d was made; make a new plan (POST /api/v1/plans) and review it", row.ID), "")
		return
	}
	devices, err := inventory.Active(ctx, s.cfg.Store)
	if err != nil {
		s.internal(c, "reading the inventory", err)
		return
	}
	if plan.InventoryHash(devices) != p.Inventory.Hash {
		fail(c, http.StatusConflict, "plan_stale", fmt.Sprintf("the inventory changed since plan %d was made; make a new plan (POST /api/v1/plans) and review it", row.ID), "")
		return
	}
	changed := p.Changed()
	if len(changed) == 0 {
		c.JSON(http.StatusOK, ApplyResult{PlanID: row.ID, Status: "succeeded", Results: []plan.PushResult{}})
		return
	}
	if p.Changes != nil && len(p.Changes.Essential) > 0 {
		if !req.AllowEssentialChange {
			fail(c, http.StatusConflict, "essential_change", fmt.Sprintf("plan %d removes or narrows %d essential flow(s) (plan.changes.essential); if a person has checked that patients are safe, apply again with {\"allow_essential_change\": true}", row.ID, len(p.Changes.Essential)), "allow_essential_change")
			return
		}
		if _, err := s.cfg.Store.AppendAudit(ctx, store.AuditEntry{Actor: actorOf(c), Action: "apply.allow_essential_change", Object: p.Policy.Hash, Detail: p.Changes.Essential}); err != nil {
			s.internal(c, "writing the audit log", err)
			return
		}
	}
	// A push once started runs to its end: stopping it half-way helps no
	// one, and ward serve's shutdown waits for it.
	pushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	start := time.Now()
	runID, results, err := plan.ApplyRecorded(pushCtx, row.ID, p, s.cfg.Drivers, s.cfg.Store, s.cfg.Dial, actorOf(c), s.cfg.ApplyParallel)
	s.metrics.applyDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		s.internal(c, "applying the plan", err)
		return
	}
	status := "succeeded"
	for _, r := range results {
		if r.Status == "failed" {
			s.metrics.pushErrors.WithLabelValues(r.Target, "apply").Inc()
		}
		if r.Status != "applied" {
			status = "failed"
		}
	}
	c.JSON(http.StatusOK, ApplyResult{PlanID: row.ID, RunID: runID, Status: status, Results: results})
}
