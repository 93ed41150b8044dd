package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Quarantines is the quarantine manager, as the UI uses it: the same
// methods the API calls.
type Quarantines interface {
	ListStatus(ctx context.Context, status string) ([]quarantine.Listed, error)
	ReleaseID(ctx context.Context, id uint64, actor string) (*quarantine.Outcome, error)
	Approve(ctx context.Context, id uint64, actor, comment string) (*quarantine.Outcome, error)
}

// Config is what the UI needs.
type Config struct {
	Store       *store.Store
	Quarantines Quarantines
	// Policy holds the policy in force; nil: pages that need it say so.
	Policy *inforce.Holder
	// IdleTimeout ends a session not used for this long (default 30
	// minutes); AbsoluteTimeout ends any session this long after sign-in
	// (default 12 hours).
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
	// SecureCookie is when the session cookie is Secure: "auto" (the
	// default: when the request came over TLS), "always" (behind a proxy
	// that terminates TLS) or "never".
	SecureCookie string
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For names the client; empty (the default): the header
	// is ignored and the peer's address is the client's.
	TrustedProxies []netip.Prefix
	// LoginEvery and LoginBurst limit sign-in attempts per client address:
	// LoginBurst at once, then one per LoginEvery (defaults 10 and 6s).
	// A successful sign-in does not count.
	LoginEvery time.Duration
	LoginBurst int
}

// Prefix is where the UI is mounted.
const Prefix = "/ui"

// Handler serves the UI.
type Handler struct {
	cfg   Config
	mux   *http.ServeMux
	pages map[string]*template.Template
	// commits caches, per policy hash, the git commit that last changed
	// each flow's declaration (flow.go).
	commits *commitCache
	// logins limits sign-in attempts per client address (session.go).
	logins *loginLimiter
	// audit remembers the dashboard's last intact walk of the audit
	// chain (pages.go).
	audit *auditMemo
}

// csp allows only Ward's own stylesheet: no script at all, no inline
// style, no framing, forms posting only back to Ward.
const csp = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// New builds the UI's handler, for the paths under Prefix.
func New(cfg Config) (*Handler, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Store == nil {
		return nil, fmt.Errorf("web: the UI needs the store (sessions, audit log)")
	}
	switch cfg.SecureCookie {
	case "":
		cfg.SecureCookie = SecureCookieAuto
	case SecureCookieAuto, SecureCookieAlways, SecureCookieNever:
	default:
		return nil, fmt.Errorf("web: secure cookie setting %q: want auto, always or never", cfg.SecureCookie)
	}
	if cfg.LoginEvery <= 0 {
		cfg.LoginEvery = 6 * time.Second
	}
	if cfg.LoginBurst <= 0 {
		cfg.LoginBurst = 10
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), pages: pages, commits: &commitCache{},
		// 10,000 addresses of a few hundred bytes each: a bounded map.
		logins: newLoginLimiter(cfg.LoginEvery, cfg.LoginBurst, 10000), audit: &auditMemo{}}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	m := h.mux
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusMovedPermanently) })
	m.HandleFunc("GET /ui/login", h.loginPage)
	m.HandleFunc("POST /ui/login", h.login)
	m.HandleFunc("POST /ui/logout", h.post(store.RoleViewer, h.logout))
	m.HandleFunc("GET /ui/{$}", h.get(h.dashboard))
	h.quarantineRoutes(m)
	m.HandleFunc("GET /ui/zones", h.get(h.zones))
	m.HandleFunc("GET /ui/zones/{name}", h.get(h.zone))
	m.HandleFunc("GET /ui/flows", h.get(h.flows))
	m.HandleFunc("GET /ui/flows.csv", h.get(h.flowsCSV))
	m.HandleFunc("GET /ui/flows/{name}", h.get(h.flow))
	m.HandleFunc("GET /ui/matrix", h.get(h.matrix))
	m.HandleFunc("GET /ui/devices", h.get(h.devices))
	m.HandleFunc("GET /ui/devices/{name}", h.get(h.device))
	m.HandleFunc("GET /ui/changes", h.get(h.changes))
	h.recertRoutes(m)
	m.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		h.problem(w, r, nil, http.StatusNotFound, "No such page", "There is no page at "+r.URL.Path+".")
	})
	return h, nil
}

// parsePages parses each page with the base layout and the partials.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t *time.Time) string {
			if t == nil || t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"join": strings.Join,
		"ptr":  func(t time.Time) *time.Time { return &t },
		// stamp is a time as an as_of parameter.
		"stamp": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"cells": func(c []report.Cell, asOf, peer string) cellTable { return cellTable{Cells: c, AsOf: asOf, Peer: peer} },
		// asof keeps a page's as_of parameter on a link.
		"asof": func(path, asOf string) string { return withAsOf(path, asOf) },
		// rows hands a partial its rows with the page (session, CSRF).
		"rows": func(rows []quarantineRow, p page, actions bool) quarantineTable {
			return quarantineTable{Rows: rows, Page: p, Actions: actions}
		},
	}
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "base" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/_*.html", e)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// ServeHTTP serves a request under Prefix, with the security headers every
// answer carries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	if !strings.HasPrefix(r.URL.Path, "/ui/static/") {
		hdr.Set("Cache-Control", "no-store")
	}
	start := h.cfg.Now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			h.cfg.Logger.Error("panic in a UI handler", "path", r.URL.Path, "panic", p)
			http.Error(rw, "internal error; see Ward's log", http.StatusInternalServerError)
		}
		// The path only: a query string, a form or a cookie never reaches the log.
		h.cfg.Logger.Debug("ui request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "duration", h.cfg.Now().Sub(start))
	}()
	h.mux.ServeHTTP(rw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// page is what every page's template gets: the page's own view-model in
// Data, and who is signed in with the CSRF token their forms carry.
type page struct {
	Title   string
	Nav     string // which navigation entry is current
	Session *viewer
	CSRF    string
	// AsOf is the page's as_of parameter: the navigation keeps it.
	AsOf string
	Data any
}

// viewer is who is signed in, as the templates see it.
type viewer struct {
	Name, Role             string
	CanRelease, CanApprove bool
}

// render writes a page, or a 500 when its template fails (before any byte
// is written: the page is rendered to a buffer first).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := h.pages[name]
	if !ok {
		h.cfg.Logger.Error("no such UI template", "template", name)
		http.Error(w, "internal error: no template "+name, http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "base", p); err != nil {
		h.cfg.Logger.Error("rendering a UI page", "template", name, "path", r.URL.Path, "error", err)
		http.Error(w, "internal error rendering the page; see Ward's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

// quarantineTable is what the quarantine table partial gets.
type quarantineTable struct {
	Rows    []quarantineRow
	Page    page
	Actions bool // offer approval (the rows wait for one)
}

// cellTable is what the cell table partial gets: matrix cells from or to
// one zone, named by their peer ("to" or "from").
type cellTable struct {
	Cells      []report.Cell
	AsOf, Peer string
}

// problemData is the view-model of an error page.
type problemData struct{ Message string }

// problem answers an error as a page.
func (h *Handler) problem(w http.ResponseWriter, r *http.Request, s *session, status int, title, msg string) {
	p := page{Title: title, Data: problemData{Message: msg}}
	if s != nil {
		p.Session, p.CSRF = s.viewer(), s.csrf
	}
	h.render(w, r, status, "problem", p)
}
