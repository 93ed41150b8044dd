package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// QuarantineRequest is the body of POST /api/v1/quarantines.
type QuarantineRequest struct {
	Device string `json:"device"`
	// Level is restrict (keep only essential flows) or isolate (quarantine
	// VLAN, remediation only); default isolate.
	Level string `json:"level"`
	// TTL is how long it lasts: 30m, 4h, 7d; default the policy's for the
	// level.
	TTL    string `json:"ttl"`
	Reason string `json:"reason"`
}

// ApproveRequest is the body of POST /api/v1/quarantines/{id}/approve.
type ApproveRequest struct {
	Comment string `json:"comment"`
}

// ApprovePendingRequest is the body of POST /api/v1/quarantines/approve:
// the quarantines to approve by ID, or all that wait for a person.
type ApprovePendingRequest struct {
	IDs     []uint64 `json:"ids"`
	All     bool     `json:"all"`
	Comment string   `json:"comment"`
}

// ApprovePendingResponse is the outcome of each approval, in order.
type ApprovePendingResponse struct {
	Approved int                   `json:"approved"`
	Failed   int                   `json:"failed"`
	Results  []quarantine.Approved `json:"results"`
}

func (s *Server) listQuarantines(c *gin.Context) {
	all, ok := queryBool(c, "all")
	if !ok {
		return
	}
	status := c.Query("status")
	switch {
	case all && status != "" && status != "all":
		fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("all=true and status=%s contradict each other: give one", status), "status")
		return
	case all:
		status = "all"
	case status == "open":
		status = ""
	}
	if status != "" && !slices.Contains([]string{"all", quarantine.StatusActive, quarantine.StatusPending, quarantine.StatusReleased, quarantine.StatusExpired}, status) {
		fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("status %q: want open, pending, active, released, expired or all", status), "status")
		return
	}
	list, err := s.cfg.Quarantines.ListStatus(c.Request.Context(), status)
	if err != nil {
		s.internal(c, "listing quarantines", err)
		return
	}
	if list == nil {
		list = []quarantine.Listed{}
	}
	c.JSON(http.StatusOK, list)
}

// quarantineByID reads the quarantine of the :id path parameter with its
// device's name, or answers 404.
func (s *Server) quarantineByID(c *gin.Context) (*quarantine.Listed, bool) {
	id, ok := idParam(c, "id")
	if !ok {
		return nil, false
	}
	q, err := s.cfg.Store.FindQuarantine(c.Request.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		notFound(c, "quarantine", fmt.Sprint(id), " (GET /api/v1/quarantines?all=true lists them)")
		return nil, false
	}
	if err != nil {
		s.internal(c, "reading the quarantine", err)
		return nil, false
	}
	d, err := s.cfg.Store.DeviceByID(c.Request.Context(), q.DeviceID)
	if err != nil {
		s.internal(c, "reading the quarantined device", err)
		return nil, false
	}
	return &quarantine.Listed{Quarantine: *q, Device: d.Name}, true
}

func (s *Server) getQuarantine(c *gin.Context) {
	if q, ok := s.quarantineByID(c); ok {
		c.JSON(http.StatusOK, q)
	}
}

// getQuarantineTimeline answers a quarantine's timeline: its alerts,
// decisions (with the essential flows each kept open), pushes, approval
// and release, in time order.
func (s *Server) getQuarantineTimeline(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	h, err := s.cfg.Store.QuarantineHistory(c.Request.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		notFound(c, "quarantine", fmt.Sprint(id), " (GET /api/v1/quarantines?all=true lists them)")
		return
	}
	if err != nil {
		s.internal(c, "reading the quarantine's history", err)
		return
	}
	c.JSON(http.StatusOK, quarantine.TimelineOf(h))
}

// pushContext is the context of a change that pushes to targets: it is
// not cancelled when the caller goes away, so a quarantine is never left
// half enforced, and ward serve's shutdown waits for it.
func pushContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
}

func (s *Server) createQuarantine(c *gin.Context) {
	var req QuarantineRequest
	if !s.bindJSON(c, &req, false) {
		return
	}
	if strings.TrimSpace(req.Device) == "" {
		fail(c, http.StatusBadRequest, "invalid_field", `field "device" is required: the name of a device in the inventory`, "device")
		return
	}
	if req.Level == "" {
		req.Level = quarantine.LevelIsolate
	}
	if req.Level != quarantine.LevelIsolate && req.Level != quarantine.LevelRestrict {
		fail(c, http.StatusBadRequest, "invalid_field", fmt.Sprintf(`field "level" %q: want restrict or isolate`, req.Level), "level")
		return
	}
	var ttl time.Duration
	if req.TTL != "" {
		var err error
		if ttl, err = policy.ParseTTL(req.TTL); err != nil || ttl <= 0 {
			fail(c, http.StatusBadRequest, "invalid_field", fmt.Sprintf(`field "ttl" %q: want a positive duration like 30m, 4h or 7d`, req.TTL), "ttl")
			return
		}
	}
	ctx, cancel := pushContext(c.Request.Context())
	defer cancel()
	out, err := s.cfg.Quarantines.Quarantine(ctx, quarantine.Request{Device: req.Device, Level: req.Level, TTL: ttl, Reason: req.Reason, Actor: actorOf(c)})
	if err != nil {
		s.quarantineError(c, err, "device")
		return
	}
	status := http.StatusOK
	if out.Changed {
		status = http.StatusCreated
	}
	c.JSON(status, out)
}

// quarantineError answers an error of the quarantine manager: 404 for an
// unknown device or quarantine, 409 for a refusal (understood, but not to
// be done as things are), 500 for a failure.
func (s *Server) quarantineError(c *gin.Context, err error, field string) {
	var refusal *quarantine.RefusedError
	switch {
	case errors.Is(err, quarantine.ErrNotFound):
		fail(c, http.StatusNotFound, "not_found", err.Error(), field)
	case errors.As(err, &refusal):
		fail(c, http.StatusConflict, "refused", err.Error(), "")
	default:
		s.internal(c, "the quarantine failed", err)
	}
}

func (s *Server) releaseQuarantine(c *gin.Context) {
	q, ok := s.quarantineByID(c)
	if !ok {
		return
	}
	if !s.bindJSON(c, &struct{}{}, true) {
		return
	}
	if q.Status != quarantine.StatusActive && q.Status != quarantine.StatusPending {
		fail(c, http.StatusConflict, "not_active", fmt.Sprintf("quarantine #%d of %s is %s already", q.ID, q.Device, q.Status), "")
		return
	}
	ctx, cancel := pushContext(c.Request.Context())
	defer cancel()
	out, err := s.cfg.Quarantines.ReleaseID(ctx, q.ID, actorOf(c))
	if err != nil {
		s.quarantineError(c, err, "")
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) approveQuarantine(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req ApproveRequest
	if !s.bindJSON(c, &req, true) {
		return
	}
	ctx, cancel := pushContext(c.Request.Context())
	defer cancel()
	out, err := s.cfg.Quarantines.Approve(ctx, id, actorOf(c), req.Comment)
	if err != nil {
		s.quarantineError(c, err, "")
		return
	}
	c.JSON(http.StatusOK, out)
}

// approvePending approves several quarantines waiting for a person — the
// IDs given, or all of them — each on its own: one changed meanwhile is
// reported in its result and the others go on.
func (s *Server) approvePending(c *gin.Context) {
	var req ApprovePendingRequest
	if !s.bindJSON(c, &req, false) {
		return
	}
	if (len(req.IDs) == 0) == !req.All {
		fail(c, http.StatusBadRequest, "invalid_field", `give "ids" (quarantines to approve) or "all": true (every one waiting for a person), not both`, "ids")
		return
	}
	ctx, cancel := pushContext(c.Request.Context())
	defer cancel()
	results, err := s.cfg.Quarantines.ApprovePending(ctx, req.IDs, req.All, actorOf(c), req.Comment)
	if err != nil {
		s.quarantineError(c, err, "")
		return
	}
	out := ApprovePendingResponse{Results: results}
	if out.Results == nil {
		out.Results = []quarantine.Approved{}
	}
	for _, r := range results {
		if r.Error != "" {
			out.Failed++
		} else {
			out.Approved++
		}
	}
	c.JSON(http.StatusOK, out)
}
