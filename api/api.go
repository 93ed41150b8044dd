// Package api is Ward's HTTP API (gin), served by ward serve under
// /api/v1 and described by openapi.yaml, which is served at
// /api/v1/openapi.yaml. Start with New, which builds the router; auth.go
// holds the bearer tokens and roles, and each resource has its own file:
// devices.go, policy.go (zones, flows, the effective policy), plans.go,
// quarantines.go, alerts.go, audit.go, targets.go, tokens.go; metrics.go
// is /metrics.
//
// Every failure answers with one envelope:
//
//	{"error": {"status": 400, "code": "invalid_alert", "message": "...", "field": "severity"}}
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
)

// OpenAPI is the API's description, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Quarantines is the quarantine manager, as the API uses it.
type Quarantines interface {
	Intake(ctx context.Context, alerts []alert.Alert) ([]quarantine.Result, error)
	Quarantine(ctx context.Context, req quarantine.Request) (*quarantine.Outcome, error)
	ReleaseID(ctx context.Context, id uint64, actor string) (*quarantine.Outcome, error)
	Approve(ctx context.Context, id uint64, actor, comment string) (*quarantine.Outcome, error)
	List(ctx context.Context, all bool) ([]quarantine.Listed, error)
	ListStatus(ctx context.Context, status string) ([]quarantine.Listed, error)
	ApprovePending(ctx context.Context, ids []uint64, all bool, actor, comment string) ([]quarantine.Approved, error)
	Reload(ctx context.Context) error
}

// Config is what the API needs.
type Config struct {
	Store       *store.Store
	Quarantines Quarantines
	// Policy holds the policy in force, shared with the quarantine manager
	// and the scheduler; POST /api/v1/policy/reload (and SIGHUP) reload it
	// from PolicyDir. Nil: a Ward without a policy (views answer 503).
	Policy    *inforce.Holder
	PolicyDir string
	// Drivers render and apply targets' configurations; Dial opens a
	// session to a target of the policy in force. Without Dial, plans
	// cannot refresh and applies and drift checks are refused.
	Drivers *drivers.Registry
	Dial    plan.DialFunc
	// ApplyParallel is how many targets an apply pushes at once when it
	// runs its own jobs (no Jobs; default plan.DefaultParallel).
	ApplyParallel int
	// Jobs is the job queue ward serve works (its Run loop), with
	// plan.HandleApplyJobs: an apply records its run and one job per
	// target, and any replica's queue pushes them. Nil: an apply runs its
	// jobs in the request (tests).
	Jobs *jobs.Queue
	// PlanSigner signs the plans the API records and checks them before
	// an apply; without it applies are refused (plan.PrepareApply).
	PlanSigner *plan.Signer
	// Owner serialises each push and read of a target with every other
	// device I/O to it, across processes (internal/jobs.Owner); nil runs
	// them at once (tests).
	Owner plan.Owner

	// AlertToken, when not empty, is a bearer token that may post alerts
	// and nothing else (WARD_ALERT_TOKEN).
	AlertToken string
	// AlertSecret returns the HMAC-SHA256 secret of an alert source, or
	// false when the source has none.
	AlertSecret func(source string) ([]byte, bool)
	// AlertRate and AlertBurst limit alert requests per sender (a token, an
	// HMAC source): AlertRate requests a second on average, AlertBurst at
	// once. AlertRate 0 means 50; a negative AlertRate turns the limit off.
	AlertRate  float64
	AlertBurst int

	// MaxBody bounds a request's body (default 1 MiB); MaxImportBody an
	// inventory import's (default 64 MiB).
	MaxBody       int64
	MaxImportBody int64
	// MaxSkew is how far an HMAC request's timestamp may be from now; 0
	// means 5 minutes.
	MaxSkew time.Duration

	// UI, when set, serves the compliance UI (internal/web) at /ui and
	// every path under it; it has its own sign-in and is not part of the
	// API's routes or openapi.yaml.
	UI http.Handler

	// Cluster says which replica this is and whether it leads
	// (internal/cluster.Elector), for /readyz and /api/v1/cluster; nil is
	// a Ward that takes part in no election (tests, a CLI).
	Cluster Cluster

	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client in the request log; from any other peer the header is
	// ignored, so a client cannot write the address logged for it.
	TrustedProxies []netip.Prefix

	// Metrics collects /metrics; nil makes a new set.
	Metrics *Metrics
	Now     func() time.Time
	Logger  *slog.Logger
}

// Server is the API's handler.
type Server struct {
	cfg     Config
	engine  *gin.Engine
	metrics *Metrics
	limiter *rateLimiter
	// pdfSlots bounds the PDF reports printed at once.
	pdfSlots chan struct{}

	// viewMu guards view, the evaluation of the policy in force against
	// the stored inventory, made when first needed after either changed.
	viewMu sync.Mutex
	view   *view
	// driftMu lets one drift check run at a time. Applies need no lock of
	// their own: each push is a job run under the target's owner, which
	// re-checks the target's base state there, so of two applies made
	// against the same state the second is skipped on every target the
	// first changed.
	driftMu sync.Mutex
}

// inForce returns the policy in force, or nil when Ward has none.
func (s *Server) inForce() *inforce.Policy {
	if s.cfg.Policy == nil {
		return nil
	}
	return s.cfg.Policy.Load()
}

// New builds the router.
func New(cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxImportBody <= 0 {
		cfg.MaxImportBody = 64 << 20
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.ApplyParallel <= 0 {
		cfg.ApplyParallel = plan.DefaultParallel
	}
	if cfg.AlertRate == 0 {
		cfg.AlertRate = 50
	}
	if cfg.AlertBurst <= 0 {
		cfg.AlertBurst = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	// gin trusts X-Forwarded-For from every peer unless told which.
	proxies := make([]string, 0, len(cfg.TrustedProxies))
	for _, p := range cfg.TrustedProxies {
		proxies = append(proxies, p.String())
	}
	if err := e.SetTrustedProxies(proxies); err != nil {
		cfg.Logger.Error("the trusted proxies were refused; X-Forwarded-For is ignored", "error", err)
		_ = e.SetTrustedProxies(nil)
	}
	s := &Server{cfg: cfg, engine: e, metrics: cfg.Metrics, limiter: newRateLimiter(cfg.AlertRate, cfg.AlertBurst, cfg.Now),
		pdfSlots: make(chan struct{}, 2)}
	s.metrics.watchStore(cfg.Store)
	e.Use(s.recover, s.observe)
	e.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, "not_found", "no such route: "+c.Request.Method+" "+c.Request.URL.Path+"; the routes are in /api/v1/openapi.yaml", "")
	})
	e.NoMethod(func(c *gin.Context) {
		fail(c, http.StatusMethodNotAllowed, "method_not_allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path, "")
	})
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", s.auth(store.RoleViewer), s.serveMetrics)

	v1 := e.Group("/api/v1")
	v1.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", OpenAPI) })
	v1.POST("/alerts", s.postAlerts)

	viewer, operator, admin := s.auth(store.RoleViewer), s.auth(store.RoleOperator), s.auth(store.RoleAdmin)
	v1.GET("/whoami", viewer, s.whoami)

	v1.GET("/devices", viewer, s.listDevices)
	v1.POST("/devices/import", operator, s.importDevices)
	v1.GET("/devices/:name", viewer, s.getDevice)
	v1.DELETE("/devices/:name", operator, s.deleteDevice)
	v1.GET("/devices/:name/effective", viewer, s.deviceEffective)

	v1.GET("/policy", viewer, s.getPolicy)
	v1.POST("/policy/reload", admin, s.reloadPolicy)
	v1.GET("/zones", viewer, s.listZones)
	v1.GET("/zones/:name", viewer, s.getZone)
	v1.GET("/flows", viewer, s.listFlows)
	v1.GET("/report", viewer, s.getReport)
	v1.GET("/flows/:name", viewer, s.getFlow)
	v1.GET("/effective", viewer, s.effective)
	v1.GET("/reach", viewer, s.reach)

	v1.GET("/plans", viewer, s.listPlans)
	v1.POST("/plans", operator, s.createPlan)
	v1.GET("/plans/:id", viewer, s.getPlan)
	v1.POST("/plans/:id/apply", admin, s.applyPlan)
	v1.GET("/applies/:id", viewer, s.getApply)
	v1.POST("/applies/:id/cancel", admin, s.cancelApply)

	v1.GET("/quarantines", viewer, s.listQuarantines)
	v1.POST("/quarantines", operator, s.createQuarantine)
	v1.GET("/quarantines/:id", viewer, s.getQuarantine)
	v1.GET("/quarantines/:id/timeline", viewer, s.getQuarantineTimeline)
	v1.POST("/quarantines/:id/release", operator, s.releaseQuarantine)
	v1.POST("/quarantines/:id/approve", admin, s.approveQuarantine)
	v1.POST("/quarantines/approve", admin, s.approvePending)

	v1.GET("/alerts", viewer, s.listAlerts)
	v1.GET("/alerts/:id", viewer, s.getAlert)

	v1.GET("/audit", viewer, s.listAudit)
	v1.GET("/audit/verify", viewer, s.verifyAudit)
	v1.POST("/audit/verify", viewer, s.verifyAuditCheckpoint)
	v1.GET("/audit/checkpoint", admin, s.auditCheckpoint)

	v1.GET("/recert", viewer, s.listRecert)
	v1.GET("/recert/:id", viewer, s.getRecert)
	v1.POST("/recert/:id/decisions", operator, s.decideRecert)
	v1.POST("/recert", admin, s.startRecert)
	v1.POST("/recert/:id/close", admin, s.closeRecert)

	v1.GET("/targets", viewer, s.listTargets)
	v1.GET("/targets/:name", viewer, s.getTarget)
	v1.GET("/targets/:name/drift", viewer, s.targetDrift)

	v1.GET("/cluster", viewer, s.getCluster)

	v1.GET("/tokens", admin, s.listTokens)
	v1.POST("/tokens", admin, s.createToken)
	v1.DELETE("/tokens/:name", admin, s.revokeToken)
	return s
}

// ServeHTTP makes Server an http.Handler: /ui and the paths under it go
// to the UI, when there is one; everything else to the API's router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.UI != nil && (r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/")) {
		s.cfg.UI.ServeHTTP(w, r)
		return
	}
	s.engine.ServeHTTP(w, r)
}

// Route is one route of the API.
type Route struct{ Method, Path string }

// Routes lists every route, with gin's :param written {param} as in
// openapi.yaml.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.engine.Routes() {
		out = append(out, Route{r.Method, ginToOpenAPI(r.Path)})
	}
	return out
}

func ginToOpenAPI(p string) string {
	b := []byte{}
	for i := 0; i < len(p); i++ {
		if p[i] != ':' {
			b = append(b, p[i])
			continue
		}
		j := i + 1
		for j < len(p) && p[j] != '/' {
			j++
		}
		b = append(b, '{')
		b = append(b, p[i+1:j]...)
		b = append(b, '}')
		i = j - 1
	}
	return string(b)
}

// ErrorBody is the error envelope.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes one failure. Field names the request field, query
// parameter or header at fault; Problems lists every problem of a file or
// batch (an inventory import, a policy reload).
type ErrorDetail struct {
	Status   int       `json:"status"`
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Field    string    `json:"field,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
}

// Problem is one problem of a file or batch.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func fail(c *gin.Context, status int, code, msg, field string) {
	c.AbortWithStatusJSON(status, ErrorBody{ErrorDetail{Status: status, Code: code, Message: msg, Field: field}})
}

func failProblems(c *gin.Context, status int, code, msg, field string, problems []Problem) {
	c.AbortWithStatusJSON(status, ErrorBody{ErrorDetail{Status: status, Code: code, Message: msg, Field: field, Problems: problems}})
}

// internal answers 500 for an error Ward did not expect, and logs it.
func (s *Server) internal(c *gin.Context, what string, err error) {
	s.cfg.Logger.Error(what, "error", err, "path", c.Request.URL.Path)
	fail(c, http.StatusInternalServerError, "internal", what+": "+err.Error(), "")
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

// observe logs each request and counts it for /metrics.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	d := time.Since(start)
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	s.metrics.request(c.Request.Method, route, status, d)
	// Reads and accepted alerts (recorded in the store, and many) are
	// logged at debug; other writes and refusals at info.
	level := slog.LevelDebug
	if (c.Request.Method != http.MethodGet && route != "/api/v1/alerts") || status >= 400 {
		level = slog.LevelInfo
	}
	if status >= 500 {
		level = slog.LevelError
	}
	if !s.cfg.Logger.Enabled(c.Request.Context(), level) {
		return
	}
	attrs := []any{"method", c.Request.Method, "path", c.Request.URL.Path, "status", status,
		"duration", d, "remote", c.ClientIP()}
	if a := actorOf(c); a != "" {
		attrs = append(attrs, "actor", a)
	}
	s.cfg.Logger.Log(c.Request.Context(), level, "request", attrs...)
}

// ready answers whether Ward can serve: the store answers and its schema
// is at the version this Ward expects.
func (s *Server) ready(c *gin.Context) {
	r := s.readiness()
	if s.cfg.Store == nil {
		c.JSON(http.StatusOK, r)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		fail(c, http.StatusServiceUnavailable, "not_ready", "the store is not reachable: "+err.Error(), "")
		return
	}
	if err := s.cfg.Store.CheckMigrations(ctx); err != nil {
		fail(c, http.StatusServiceUnavailable, "not_ready", err.Error(), "")
		return
	}
	c.JSON(http.StatusOK, r)
}
