// Package api is Ward's HTTP API (gin), served by ward serve under
// /api/v1. Start with New, which builds the router; alerts.go holds the
// alert intake (POST /api/v1/alerts) and its authentication.
//
// Every failure answers with one envelope:
//
//	{"error": {"status": 400, "code": "invalid_alert", "message": "...", "field": "severity"}}
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
)

// Intake handles parsed alerts: the quarantine manager.
type Intake interface {
	Intake(ctx context.Context, alerts []alert.Alert) ([]quarantine.Result, error)
}

// Config is what the API needs.
type Config struct {
	Store  *store.Store
	Intake Intake
	// AlertToken, when not empty, is a bearer token that may post alerts
	// (WARD_ALERT_TOKEN).
	AlertToken string
	// AlertSecret returns the HMAC-SHA256 secret of an alert source, or
	// false when the source has none.
	AlertSecret func(source string) ([]byte, bool)
	// MaxAlertBody bounds an alert request's body; 0 means 1 MiB.
	MaxAlertBody int64
	// MaxSkew is how far an HMAC request's timestamp may be from now; 0
	// means 5 minutes.
	MaxSkew time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Server is the API's handler.
type Server struct {
	cfg    Config
	engine *gin.Engine
}

// New builds the router.
func New(cfg Config) *Server {
	if cfg.MaxAlertBody <= 0 {
		cfg.MaxAlertBody = 1 << 20
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	s := &Server{cfg: cfg, engine: e}
	e.Use(s.recover, s.logRequests)
	e.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, "not_found", "no such route: "+c.Request.Method+" "+c.Request.URL.Path, "")
	})
	e.NoMethod(func(c *gin.Context) {
		fail(c, http.StatusMethodNotAllowed, "method_not_allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path, "")
	})
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	v1 := e.Group("/api/v1")
	v1.POST("/alerts", s.postAlerts)
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// ErrorBody is the error envelope.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes one failure.
type ErrorDetail struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func fail(c *gin.Context, status int, code, msg, field string) {
	c.AbortWithStatusJSON(status, ErrorBody{ErrorDetail{Status: status, Code: code, Message: msg, Field: field}})
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logger.Error("panic in handler", "path", c.Request.URL.Path, "panic", r)
			fail(c, http.StatusInternalServerError, "internal", "internal error; see Ward's log", "")
		}
	}()
	c.Next()
}

func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.cfg.Logger.Debug("request", "method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
		"duration", time.Since(start), "remote", c.ClientIP())
}

func (s *Server) ready(c *gin.Context) {
	if s.cfg.Store == nil {
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		fail(c, http.StatusServiceUnavailable, "not_ready", "the store is not reachable: "+err.Error(), "")
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
