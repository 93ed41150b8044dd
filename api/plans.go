package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
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
	// loses a flow marked essential; with Reason (required then) it is
	// recorded in the audit log.
	AllowEssentialChange bool   `json:"allow_essential_change"`
	Reason               string `json:"reason"`
}

// ApplyResult answers an apply.
type ApplyResult struct {
	PlanID  uint64            `json:"plan_id"`
	RunID   uint64            `json:"run_id"`
	Status  string            `json:"status"` // succeeded, failed, or running (targets still pending)
	Results []plan.PushResult `json:"results"`
}

// ApplyCancelResult answers POST /api/v1/applies/{id}/cancel: the run
// after the cancel, the targets cancelled (nothing sent to them) and those
// whose push was already running (left to end).
type ApplyCancelResult struct {
	ApplyResult
	Cancelled    []string `json:"cancelled"`
	StillPushing []string `json:"still_pushing"`
}

// ApplyTargetEvent is a line of a streamed apply (Accept:
// application/x-ndjson): one target's result, sent as it finishes.
type ApplyTargetEvent struct {
	Event string `json:"event"` // "target"
	plan.PushResult
}

// ApplySummaryEvent is the last line of a streamed apply: the run's
// result, as the unstreamed answer gives it.
type ApplySummaryEvent struct {
	Event string `json:"event"` // "summary"
	ApplyResult
}

// ndjson is the media type of a streamed apply.
const ndjson = "application/x-ndjson"

// wantsStream reports whether the request's Accept header asks for
// application/x-ndjson.
func wantsStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			media, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(media), ndjson) {
				return true
			}
		}
	}
	return false
}

// applyStream writes a streamed apply's lines: it answers 200 with the
// first line, flushes every line, and keeps the first write error (the
// caller went away; the apply goes on regardless).
type applyStream struct {
	c       *gin.Context
	started bool
	err     error
}

func (w *applyStream) send(v any) {
	if !w.started {
		w.started = true
		w.c.Header("Content-Type", ndjson)
		// A proxy that buffers would hold every line back to the end.
		w.c.Header("X-Accel-Buffering", "no")
		w.c.Status(http.StatusOK)
	}
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		_, err = w.c.Writer.Write(append(b, '\n'))
	}
	if err != nil {
		w.err = err
		return
	}
	w.c.Writer.Flush()
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
		if pol.Config.Targets[t] == nil {
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
		// Each read holds the target, like every other device I/O.
		opts.Refresh, opts.Owner = s.cfg.Dial, s.cfg.Owner
	}
	p, diags := plan.Build(ctx, pol.Config, devices, opts)
	if diags.HasErrors() {
		fail(c, http.StatusUnprocessableEntity, "plan_failed", diags.Error(), "")
		return
	}
	// The plan and its plan.create event commit together.
	row, err := plan.Record(ctx, s.cfg.Store, s.cfg.PlanSigner, p, actorOf(c), func(id uint64) store.AuditEntry {
		return store.AuditEntry{Actor: actorOf(c), Action: "plan.create", Object: fmt.Sprintf("plan %d", id),
			Detail: map[string]any{"policy_hash": p.Policy.Hash, "inventory_hash": p.Inventory.Hash, "changed_targets": changedNames(p), "blocked": p.Blocked}}
	})
	if err != nil {
		s.internal(c, "recording the plan", err)
		return
	}
	s.metrics.planDuration.Observe(time.Since(start).Seconds())
	c.JSON(http.StatusCreated, savedPlan(row, p))
}

// loadPlan reads the plan of the :id path parameter, or answers 404. The
// plan is decoded for showing; an apply checks it with plan.PrepareApply.
func (s *Server) loadPlan(c *gin.Context) (*store.Plan, *plan.Plan, bool) {
	id, ok := idParam(c, "id")
	if !ok {
		return nil, nil, false
	}
	row, err := s.cfg.Store.GetPlan(c.Request.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		notFound(c, "plan", fmt.Sprint(id), " (GET /api/v1/plans lists them)")
		return nil, nil, false
	}
	if err != nil {
		s.internal(c, "reading the plan", err)
		return nil, nil, false
	}
	p, err := plan.DecodeUnverified([]byte(row.Content))
	if err != nil {
		s.internal(c, fmt.Sprintf("reading plan %d", id), err)
		return nil, nil, false
	}
	return row, p, true
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
	rows, total, err := s.cfg.Store.ListPlans(c.Request.Context(), limit, offset)
	if err != nil {
		s.internal(c, "listing plans", err)
		return
	}
	out := Page[PlanSummary]{Items: []PlanSummary{}, Total: total, Limit: limit, Offset: offset}
	for _, r := range rows {
		p, err := plan.DecodeUnverified([]byte(r.Content))
		if err != nil {
			s.internal(c, fmt.Sprintf("reading plan %d", r.ID), err)
			return
		}
		out.Items = append(out.Items, PlanSummary{ID: r.ID, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, PolicyHash: p.Policy.Hash,
			InventoryHash: p.Inventory.Hash, Changed: changedNames(p), Blocked: p.Blocked})
	}
	c.JSON(http.StatusOK, out)
}

// applyPlan answers POST /api/v1/plans/{id}/apply. The stored plan is
// trusted for nothing but naming the targets: plan.PrepareApply checks its
// signature, makes it again from the policy in force, the inventory and
// the last-applied state, and judges the guardrails and the essential gate
// itself, before any device is contacted. The push finishes even if the
// caller goes away or Ward is asked to stop. With Accept:
// application/x-ndjson the answer is streamed: a line per target as it
// finishes, then the summary (answerApply).
func (s *Server) applyPlan(c *gin.Context) {
	var req ApplyRequest
	if !s.bindJSON(c, &req, true) {
		return
	}
	row, _, ok := s.loadPlan(c)
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
	ctx := c.Request.Context()
	devices, err := inventory.Active(ctx, s.cfg.Store)
	if err != nil {
		s.internal(c, "reading the inventory", err)
		return
	}
	p, err := plan.PrepareApply(ctx, []byte(row.Content), plan.ApplyInputs{Signer: s.cfg.PlanSigner, Config: pol.Config, Devices: devices,
		Store: s.cfg.Store, Drivers: s.cfg.Drivers, PolicyDir: s.cfg.PolicyDir, GitCommit: policy.GitCommit(s.cfg.PolicyDir),
		AllowEssentialChange: req.AllowEssentialChange, Reason: req.Reason, Actor: actorOf(c)})
	var refused *plan.RefusedError
	switch {
	case errors.As(err, &refused):
		s.refuseApply(c, row.ID, refused)
		return
	case err != nil:
		s.internal(c, "checking the plan", err)
		return
	}
	var stream *applyStream
	if wantsStream(c.Request) {
		stream = &applyStream{c: c}
	}
	if len(p.Changed()) == 0 {
		s.answerApply(c, stream, ApplyResult{PlanID: row.ID, Status: "succeeded", Results: []plan.PushResult{}})
		return
	}
	opts := plan.ApplyOptions{Drivers: s.cfg.Drivers, Store: s.cfg.Store, Dial: s.cfg.Dial, Queue: s.cfg.Jobs, QueueWorked: s.cfg.Jobs != nil,
		Actor: actorOf(c), Parallel: s.cfg.ApplyParallel, Logger: s.cfg.Logger}
	if stream != nil {
		opts.OnResult = func(r plan.PushResult) { stream.send(ApplyTargetEvent{Event: "target", PushResult: r}) }
	}
	// The run and a job per target are committed before any push: from
	// then on the apply goes on whatever happens to this request or this
	// replica (any replica's queue pushes the targets). The request waits
	// for it, up to applyWait; the caller may follow it at
	// GET /api/v1/applies/{run}.
	start := time.Now()
	runID, err := plan.StartApply(ctx, row.ID, p, opts)
	switch {
	case errors.Is(err, store.ErrApplyInProgress):
		fail(c, http.StatusConflict, "apply_in_progress", err.Error(), "")
		return
	case errors.Is(err, store.ErrPlanStale):
		fail(c, http.StatusConflict, "plan_stale", err.Error(), "")
		return
	case err != nil:
		s.internal(c, "starting the apply", err)
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), applyWait)
	defer cancel()
	results, err := plan.Await(wctx, runID, opts)
	s.metrics.applyDuration.Observe(time.Since(start).Seconds())
	if err != nil && results == nil {
		s.internal(c, "following the apply", err)
		return
	}
	if err != nil {
		s.cfg.Logger.Warn("answering before the apply finished; it goes on", "plan", row.ID, "run", runID, "err", err)
	}
	for _, r := range results {
		if r.Status == "failed" {
			s.metrics.pushErrors.WithLabelValues(r.Target, "apply").Inc()
		}
	}
	s.answerApply(c, stream, ApplyResult{PlanID: row.ID, RunID: runID, Status: plan.RunStatus(results), Results: results})
}

// applyWait is how long an apply request waits for its run: long enough
// for a whole fleet, short of the server's write timeout.
const applyWait = 10 * time.Minute

// cancelApply answers POST /api/v1/applies/{id}/cancel: every target of
// the run whose push has not started is skipped, nothing sent to it; a
// push already running ends as it would.
func (s *Server) cancelApply(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	cancelled, running, err := plan.CancelApply(ctx, s.cfg.Store, id, actorOf(c))
	switch {
	case errors.Is(err, store.ErrNotFound):
		notFound(c, "apply run", fmt.Sprint(id), " (POST /api/v1/plans/{id}/apply answers with its run_id)")
		return
	case errors.Is(err, store.ErrApplyFinished):
		fail(c, http.StatusConflict, "apply_finished", fmt.Sprintf("%v: nothing left to cancel (GET /api/v1/applies/%d shows it)", err, id), "")
		return
	case err != nil:
		s.internal(c, "cancelling the apply", err)
		return
	}
	res, ok := s.applyResult(c, id)
	if !ok {
		return
	}
	if cancelled == nil {
		cancelled = []string{}
	}
	if running == nil {
		running = []string{}
	}
	c.JSON(http.StatusOK, ApplyCancelResult{ApplyResult: *res, Cancelled: cancelled, StillPushing: running})
}

// applyResult reads apply run id and its targets, or answers 404 or 500.
func (s *Server) applyResult(c *gin.Context, id uint64) (*ApplyResult, bool) {
	ctx := c.Request.Context()
	run, err := s.cfg.Store.GetApplyRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		notFound(c, "apply run", fmt.Sprint(id), " (POST /api/v1/plans/{id}/apply answers with its run_id)")
		return nil, false
	}
	if err != nil {
		s.internal(c, "reading the apply run", err)
		return nil, false
	}
	results, err := plan.RunResults(ctx, s.cfg.Store, id)
	if err != nil {
		s.internal(c, "reading the apply run's targets", err)
		return nil, false
	}
	return &ApplyResult{PlanID: run.PlanID, RunID: run.ID, Status: plan.RunStatus(results), Results: results}, true
}

// getApply answers GET /api/v1/applies/{id}: an apply run and each of its
// targets as far as it went — to follow an apply whose request ended
// first, or whose replica stopped.
func (s *Server) getApply(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	if res, ok := s.applyResult(c, id); ok {
		c.JSON(http.StatusOK, res)
	}
}

// answerApply answers an apply with its result: as one JSON document, or
// as the streamed apply's last line.
func (s *Server) answerApply(c *gin.Context, stream *applyStream, res ApplyResult) {
	if stream == nil {
		c.JSON(http.StatusOK, res)
		return
	}
	stream.send(ApplySummaryEvent{Event: "summary", ApplyResult: res})
	if stream.err != nil {
		// The apply is recorded (apply run, audit log); only its report
		// did not reach the caller.
		s.cfg.Logger.Warn("the caller of a streamed apply went away; the apply ran to its end and is recorded",
			"plan", res.PlanID, "run", res.RunID, "err", stream.err)
	}
}

// refuseApply answers a plan PrepareApply refused: 409, with the refusal's
// code, or 400 when the request itself lacks the approval's reason.
func (s *Server) refuseApply(c *gin.Context, id uint64, r *plan.RefusedError) {
	msg := fmt.Sprintf("plan %d: %v", id, r)
	switch r.Code {
	case plan.RefusedEssential:
		fail(c, http.StatusConflict, r.Code, msg+` (through the API: {"allow_essential_change": true, "reason": "..."})`, "allow_essential_change")
	case plan.RefusedStale, plan.RefusedTampered, plan.RefusedSignature:
		fail(c, http.StatusConflict, r.Code, msg+"; make a new plan (POST /api/v1/plans) and review it", "")
	default:
		fail(c, http.StatusConflict, r.Code, msg, "")
	}
}
