package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/store"
)

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	Seq      uint64          `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Object   string          `json:"object"`
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// AuditVerify answers GET /api/v1/audit/verify.
type AuditVerify struct {
	Intact bool   `json:"intact"`
	Events int    `json:"events"` // intact events before a break, or all
	Break  string `json:"break,omitempty"`
	// BreakSeq is the first event that cannot be trusted.
	BreakSeq uint64 `json:"break_seq,omitempty"`
}

// listAudit answers GET /api/v1/audit: events newest first, filtered by
// actor, action and object, paged with limit and before (a seq).
func (s *Server) listAudit(c *gin.Context) {
	limit, ok := queryInt(c, "limit", 100, 1, 1000)
	if !ok {
		return
	}
	before, ok := queryInt(c, "before", 0, 0, 1<<62)
	if !ok {
		return
	}
	rows, err := s.cfg.Store.ListAuditEvents(c.Request.Context(), store.AuditQuery{Limit: limit, Before: uint64(before),
		Actor: c.Query("actor"), Action: c.Query("action"), Object: c.Query("object")})
	if err != nil {
		s.internal(c, "reading the audit log", err)
		return
	}
	out := make([]AuditEvent, 0, len(rows))
	for _, e := range rows {
		detail := json.RawMessage(e.Detail)
		if !json.Valid(detail) {
			detail, _ = json.Marshal(e.Detail)
		}
		out = append(out, AuditEvent{Seq: e.Seq, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Object: e.Object, Detail: detail, PrevHash: e.PrevHash, Hash: e.Hash})
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) verifyAudit(c *gin.Context) {
	n, brk, err := s.cfg.Store.VerifyAudit(c.Request.Context())
	if err != nil {
		s.internal(c, "verifying the audit log", err)
		return
	}
	out := AuditVerify{Intact: brk == nil, Events: n}
	if brk != nil {
		out.Break, out.BreakSeq = brk.Error(), brk.Event.Seq
	}
	c.JSON(http.StatusOK, out)
}
