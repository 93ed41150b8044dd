package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/store"
)

// Context keys set by auth.
const (
	keyToken = "ward.token"
	keyActor = "ward.actor"
)

// bearer returns the token of an "Authorization: Bearer TOKEN" header, or
// "" when there is none.
func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	if h == "" {
		return "", false
	}
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", true
}

// auth admits a request whose bearer token has at least role min: 401
// without a valid token (unknown, revoked, expired), 403 with a weaker one.
func (s *Server) auth(min string) gin.HandlerFunc {
	return func(c *gin.Context) {
		secret, present := bearer(c)
		if !present {
			unauthorized(c, "this needs a bearer token: Authorization: Bearer TOKEN (ward token create -role "+min+")", "Authorization")
			return
		}
		tok, ok := s.authenticate(c, secret)
		if !ok {
			return
		}
		if !store.RoleAtLeast(tok.Role, min) {
			fail(c, http.StatusForbidden, "forbidden", fmt.Sprintf("%s %s needs the %s role; token %q is a %s", c.Request.Method, c.FullPath(), min, tok.Name, tok.Role), "")
			return
		}
		if store.AuditsReads(tok.Role) && !s.auditRead(c) {
			return
		}
		c.Next()
	}
}

// auditRead writes an auditor's read to the audit log before it is
// answered: a read that cannot be recorded is not made (503).
func (s *Server) auditRead(c *gin.Context) bool {
	detail := map[string]any{"role": store.RoleAuditor, "via": "api"}
	if q := c.Request.URL.RawQuery; q != "" {
		detail["query"] = q
	}
	_, err := s.cfg.Store.AppendAudit(c.Request.Context(), store.AuditEntry{Actor: actorOf(c), Action: "read",
		Object: c.Request.Method + " " + c.Request.URL.Path, Detail: detail})
	if err != nil {
		s.cfg.Logger.Error("recording an auditor's read", "error", err, "actor", actorOf(c), "path", c.Request.URL.Path)
		fail(c, http.StatusServiceUnavailable, "audit_unavailable", "this token's reads are audited, and the audit log could not record this one: "+err.Error(), "")
		return false
	}
	return true
}

// authenticate looks a token up, sets it on the context, or answers 401.
func (s *Server) authenticate(c *gin.Context, secret string) (*store.APIToken, bool) {
	if secret == "" {
		unauthorized(c, "the Authorization header must be: Bearer TOKEN", "Authorization")
		return nil, false
	}
	tok, err := s.cfg.Store.Authenticate(c.Request.Context(), secret)
	switch {
	case errors.Is(err, store.ErrTokenUnknown):
		unauthorized(c, "the bearer token is not valid", "Authorization")
		return nil, false
	case errors.Is(err, store.ErrTokenRevoked), errors.Is(err, store.ErrTokenExpired):
		unauthorized(c, err.Error()+"; ask an admin for a new one", "Authorization")
		return nil, false
	case err != nil:
		s.cfg.Logger.Error("checking a token", "error", err)
		fail(c, http.StatusServiceUnavailable, "store_unavailable", "could not check the token: the store did not answer", "")
		return nil, false
	}
	c.Set(keyToken, tok)
	c.Set(keyActor, "token:"+tok.Name)
	return tok, true
}

// actorOf names who made the request, for the audit log: "token:NAME",
// "hmac:SOURCE" or "alert-token".
func actorOf(c *gin.Context) string { return c.GetString(keyActor) }

// unauthorized answers 401, with the challenge HTTP requires on every 401.
func unauthorized(c *gin.Context, msg, field string) {
	c.Header("WWW-Authenticate", `Bearer realm="ward"`)
	fail(c, http.StatusUnauthorized, "unauthorized", msg, field)
}

// WhoAmI answers GET /api/v1/whoami.
type WhoAmI struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (s *Server) whoami(c *gin.Context) {
	tok := c.MustGet(keyToken).(*store.APIToken)
	c.JSON(http.StatusOK, WhoAmI{Name: tok.Name, Role: tok.Role})
}
