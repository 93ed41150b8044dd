package api

import (
	"bytes"
	"encoding/json"
	"errors"
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
	// Scheme is how Hash was made: "hmac-sha256", keyed with the audit
	// key KeyID names, or "sha256", unkeyed (written before the log was
	// keyed; KeyID is empty).
	Scheme string `json:"scheme"`
	KeyID  string `json:"key_id"`
}

// AuditVerify answers GET and POST /api/v1/audit/verify: what
// `ward audit verify` reports, from the same store.VerifyAuditLog.
type AuditVerify struct {
	Intact bool `json:"intact"`
	// Events counts the events verified from the first, before any break.
	// Events 1 to Unkeyed are unkeyed; the Keyed after them are keyed with
	// KeyID, the audit key the server verified with.
	Events  int    `json:"events"`
	Unkeyed int    `json:"unkeyed"`
	Keyed   int    `json:"keyed"`
	KeyID   string `json:"key_id,omitempty"`
	// Head is the newest event in the log, whether or not it is intact;
	// nil when the log is empty.
	Head *AuditHead `json:"head,omitempty"`
	// Checkpoint is the checkpoint the log was checked against (POST).
	Checkpoint *store.AuditCheckpoint `json:"checkpoint,omitempty"`
	// Break is the first event that cannot be trusted; nil when intact.
	Break *AuditBreak `json:"break,omitempty"`
}

// AuditHead is the newest event of the audit log.
type AuditHead struct {
	Seq  uint64    `json:"seq"`
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
}

// AuditBreak is where the audit chain stops holding.
type AuditBreak struct {
	// Seq is the first event that cannot be trusted; every later one is
	// suspect too.
	Seq uint64 `json:"seq"`
	// Missing: the event is gone from the log (its tail was cut).
	Missing bool   `json:"missing"`
	Reason  string `json:"reason"`
	// Message is the whole sentence, naming the event, as ward audit
	// verify prints it.
	Message string `json:"message"`
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
		out = append(out, AuditEvent{Seq: e.Seq, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Object: e.Object, Detail: detail,
			PrevHash: e.PrevHash, Hash: e.Hash, Scheme: e.Scheme, KeyID: e.KeyID})
	}
	c.JSON(http.StatusOK, out)
}

// verifyAudit answers GET /api/v1/audit/verify: the whole chain checked.
func (s *Server) verifyAudit(c *gin.Context) { s.answerVerify(c, nil) }

// verifyAuditCheckpoint answers POST /api/v1/audit/verify, whose body is a
// checkpoint (from ward audit checkpoint -o FILE or GET
// /api/v1/audit/checkpoint): the chain checked, and that the log still
// reaches the checkpoint's event and matches it there. A log that does not
// is a 200 with intact false; a checkpoint that is not genuine is a 400,
// since nothing about the log can be concluded from it.
func (s *Server) verifyAuditCheckpoint(c *gin.Context) {
	body, ok := readBody(c, s.cfg.MaxBody)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		fail(c, http.StatusBadRequest, "invalid_json", "the body is empty; send a checkpoint, as ward audit checkpoint -o FILE writes it or GET /api/v1/audit/checkpoint answers it", "")
		return
	}
	// decodeStrict names the field at fault; ParseAuditCheckpoint, the
	// CLI's parser, decides what a checkpoint document is.
	var probe store.AuditCheckpoint
	if err := decodeStrict(body, &probe); err != nil {
		var je *jsonError
		if errors.As(err, &je) {
			fail(c, http.StatusBadRequest, je.code, "checkpoint: "+je.msg, je.field)
			return
		}
		fail(c, http.StatusBadRequest, "invalid_json", "checkpoint: "+err.Error(), "")
		return
	}
	cp, err := store.ParseAuditCheckpoint(body)
	if err != nil {
		fail(c, http.StatusBadRequest, "invalid_checkpoint", err.Error(), "format")
		return
	}
	if err := s.cfg.Store.CheckAuditCheckpoint(cp); err != nil {
		if errors.Is(err, store.ErrNoAuditKey) {
			fail(c, http.StatusServiceUnavailable, "no_audit_key", err.Error(), "")
			return
		}
		fail(c, http.StatusBadRequest, "invalid_checkpoint", "checkpoint refused: "+err.Error(), "")
		return
	}
	s.answerVerify(c, cp)
}

// answerVerify runs the store's verification (against cp, if not nil) and
// answers with its report.
func (s *Server) answerVerify(c *gin.Context, cp *store.AuditCheckpoint) {
	rep, err := s.cfg.Store.VerifyAuditLog(c.Request.Context(), cp)
	if err != nil {
		s.internal(c, "verifying the audit log", err)
		return
	}
	out := AuditVerify{Intact: rep.Break == nil, Events: rep.Checked, Unkeyed: rep.Unkeyed, Keyed: rep.Keyed,
		KeyID: rep.KeyID, Checkpoint: rep.Checkpoint}
	if h := rep.Head; h != nil {
		out.Head = &AuditHead{Seq: h.Seq, Hash: h.Hash, At: h.At.UTC()}
	}
	if b := rep.Break; b != nil {
		out.Break = &AuditBreak{Seq: b.Event.Seq, Missing: b.Missing, Reason: b.Reason, Message: b.Error()}
	}
	c.JSON(http.StatusOK, out)
}

// auditCheckpoint answers GET /api/v1/audit/checkpoint: the head of the
// verified log, signed with the audit key (store.AuditCheckpoint, as ward
// audit checkpoint makes it), for the caller to keep where whoever can
// write the database cannot.
func (s *Server) auditCheckpoint(c *gin.Context) {
	cp, err := s.cfg.Store.AuditCheckpoint(c.Request.Context())
	var brk *store.AuditBreak
	switch {
	case errors.Is(err, store.ErrNoAuditKey):
		fail(c, http.StatusServiceUnavailable, "no_audit_key", err.Error(), "")
		return
	case errors.As(err, &brk):
		fail(c, http.StatusConflict, "audit_broken", err.Error()+"; GET /api/v1/audit/verify reports it, and the database should be preserved as it is for investigation", "")
		return
	case err != nil:
		s.internal(c, "making an audit checkpoint", err)
		return
	}
	c.JSON(http.StatusOK, cp)
}
