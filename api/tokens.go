package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// Token is an API token as listed: never its secret.
type Token struct {
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Expires is how long the token lives: 90d, 12h; empty never expires.
	Expires string `json:"expires"`
}

// NewToken answers POST /api/v1/tokens: the token's text, shown once.
type NewToken struct {
	Token
	Secret string `json:"token"`
}

func toToken(t store.APIToken) Token {
	return Token{Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt}
}

func (s *Server) listTokens(c *gin.Context) {
	ts, err := s.cfg.Store.ListTokens(c.Request.Context())
	if err != nil {
		s.internal(c, "listing tokens", err)
		return
	}
	out := make([]Token, 0, len(ts))
	for _, t := range ts {
		out = append(out, toToken(t))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createToken(c *gin.Context) {
	var req TokenRequest
	if !s.bindJSON(c, &req, false) {
		return
	}
	if req.Name == "" {
		fail(c, http.StatusBadRequest, "invalid_field", `field "name" is required: who or what uses the token (siem, grafana, alice)`, "name")
		return
	}
	if !slices.Contains(store.Roles(), req.Role) {
		fail(c, http.StatusBadRequest, "invalid_field", fmt.Sprintf(`field "role" %q: want one of %s`, req.Role, strings.Join(store.Roles(), ", ")), "role")
		return
	}
	var d time.Duration
	if req.Expires != "" {
		var err error
		if d, err = policy.ParseTTL(req.Expires); err != nil || d <= 0 {
			fail(c, http.StatusBadRequest, "invalid_field", fmt.Sprintf(`field "expires" %q: want a positive duration like 12h, 30d or 365d`, req.Expires), "expires")
			return
		}
	}
	secret, t, err := s.cfg.Store.CreateToken(c.Request.Context(), req.Name, req.Role, d, actorOf(c))
	switch {
	case errors.Is(err, store.ErrTokenExists):
		fail(c, http.StatusConflict, "exists", err.Error(), "name")
		return
	case errors.Is(err, store.ErrTokenInvalid):
		fail(c, http.StatusBadRequest, "invalid_field", err.Error(), "name")
		return
	case err != nil:
		s.internal(c, "creating the token", err)
		return
	}
	c.JSON(http.StatusCreated, NewToken{Token: toToken(*t), Secret: secret})
}

func (s *Server) revokeToken(c *gin.Context) {
	name := c.Param("name")
	t, err := s.cfg.Store.RevokeToken(c.Request.Context(), name, actorOf(c))
	switch {
	case errors.Is(err, store.ErrNotFound):
		notFound(c, "token", name, " (GET /api/v1/tokens lists them)")
	case errors.Is(err, store.ErrTokenRevoked):
		fail(c, http.StatusConflict, "already_revoked", err.Error(), "")
	case err != nil:
		s.internal(c, "revoking the token", err)
	default:
		c.JSON(http.StatusOK, toToken(*t))
	}
}
