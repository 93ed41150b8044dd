package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/wardnet/ward/internal/store"
)

// cookieName is the session cookie: HttpOnly, SameSite=Strict, Path=/ui,
// Secure as Config.SecureCookie says (by default when served over TLS). Its value is the session's secret, whose
// hash the store keeps.
const cookieName = "ward_session"

// csrfField is the form field that carries the CSRF token.
const csrfField = "csrf"

// session is a signed-in person: the store's session, and the CSRF token
// their forms carry.
type session struct {
	store.UISession
	csrf string
}

func (s *session) actor() string { return "token:" + s.TokenName }

func (s *session) viewer() *viewer {
	return &viewer{Name: s.TokenName, Role: s.Role,
		CanRelease: store.RoleAtLeast(s.Role, store.RoleOperator), CanApprove: store.RoleAtLeast(s.Role, store.RoleAdmin)}
}

// csrfToken is the CSRF token of the session whose secret is secret: an
// HMAC keyed by the secret, so it is bound to the session, needs no
// storage, and cannot be made by a page that cannot read the HttpOnly
// cookie.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("ward ui csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// current returns the session of the request's cookie, or nil when there
// is none or it has ended; err is a failure of the store.
func (h *Handler) current(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || !strings.HasPrefix(c.Value, store.SessionPrefix) {
		return nil, nil
	}
	us, err := h.cfg.Store.UISessionFor(r.Context(), c.Value, h.cfg.IdleTimeout)
	if errors.Is(err, store.ErrSessionEnded) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &session{UISession: *us, csrf: csrfToken(c.Value)}, nil
}

// Values of Config.SecureCookie.
const (
	SecureCookieAuto   = "auto"   // Secure when the request came over TLS
	SecureCookieAlways = "always" // behind a proxy that terminates TLS
	SecureCookieNever  = "never"  // plain HTTP on purpose (a lab)
)

// secureCookie says whether the session cookie set in answer to r is
// Secure. Behind a TLS-terminating proxy r.TLS is nil although the
// browser spoke HTTPS, hence "always".
func (h *Handler) secureCookie(r *http.Request) bool {
	switch h.cfg.SecureCookie {
	case SecureCookieAlways:
		return true
	case SecureCookieNever:
		return false
	}
	return r.TLS != nil
}

// setCookie sets (or, with value "", clears) the session cookie.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, value string) {
	c := &http.Cookie{Name: cookieName, Value: value, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.secureCookie(r)}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// get wraps a page: without a live session it sends the browser to the
// sign-in page (which brings it back here); an auditor's read is written
// to the audit log before the page is shown.
func (h *Handler) get(fn func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := h.current(r)
		if err != nil {
			h.storeDown(w, r, err)
			return
		}
		if s == nil {
			h.setCookie(w, r, "")
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if store.AuditsReads(s.Role) {
			detail := map[string]any{"role": s.Role, "via": "ui"}
			if r.URL.RawQuery != "" {
				detail["query"] = r.URL.RawQuery
			}
			if _, err := h.cfg.Store.AppendAudit(r.Context(), store.AuditEntry{Actor: s.actor(), Action: "read", Object: "GET " + r.URL.Path, Detail: detail}); err != nil {
				h.cfg.Logger.Error("recording an auditor's read", "error", err, "actor", s.actor(), "path", r.URL.Path)
				h.problem(w, r, s, http.StatusServiceUnavailable, "Not recorded", "Your reads are audited, and the audit log could not record this one; nothing is shown. Try again, or ask an administrator to check the store.")
				return
			}
		}
		fn(w, r, s)
	}
}

// post wraps a form's action: it needs a live session of at least role
// min and the session's CSRF token in the form; anything else is refused
// with 403 and changes nothing.
func (h *Handler) post(min string, fn func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		s, err := h.current(r)
		if err != nil {
			h.storeDown(w, r, err)
			return
		}
		if s == nil {
			h.problem(w, r, nil, http.StatusForbidden, "Sign in first", "This action needs you to be signed in; nothing was changed.")
			return
		}
		if err := r.ParseForm(); err != nil {
			h.problem(w, r, s, http.StatusBadRequest, "Bad form", "The form could not be read; nothing was changed.")
			return
		}
		if !hmac.Equal([]byte(r.PostForm.Get(csrfField)), []byte(s.csrf)) {
			h.cfg.Logger.Warn("ui form refused: missing or wrong CSRF token", "path", r.URL.Path, "actor", s.actor())
			h.problem(w, r, s, http.StatusForbidden, "Refused", "This form did not come from this session of Ward (its CSRF token is missing or wrong); nothing was changed. Reload the page and try again.")
			return
		}
		if !store.RoleAtLeast(s.Role, min) {
			h.problem(w, r, s, http.StatusForbidden, "Not allowed", "This needs the "+min+" role; you are signed in as "+s.TokenName+", a "+s.Role+". Nothing was changed.")
			return
		}
		fn(w, r, s)
	}
}

func (h *Handler) storeDown(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Logger.Error("checking a UI session", "error", err, "path", r.URL.Path)
	h.problem(w, r, nil, http.StatusServiceUnavailable, "Store unavailable", "Ward could not check your session: the store did not answer. Try again shortly.")
}

// loginData is the sign-in page's view-model.
type loginData struct {
	Next, Error string
}

// safeNext keeps a return path only when it is a page of the UI.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "/ui/login") || strings.ContainsAny(next, "\\\r\n") || strings.Contains(next, "//") {
		return "/ui/"
	}
	return next
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

// login signs in with an API token posted in the form (never in a URL)
// and sets the session cookie. Attempts are rate-limited per client
// address before the token is looked at, so the audit events of refused
// sign-ins are bounded too.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	client := h.clientAddr(r)
	res, wait := h.logins.reserve(client, h.cfg.Now())
	if res == nil {
		h.tooManySignIns(w, r, client, wait)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, "login", page{Title: "Sign in", Data: loginData{Next: "/ui/", Error: "The form could not be read."}})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	secret, us, err := h.cfg.Store.StartUISession(r.Context(), token, h.cfg.AbsoluteTimeout, client)
	if err != nil {
		msg, reason, status := "", "", http.StatusUnauthorized
		switch {
		case token == "":
			msg, reason = "Paste a token to sign in.", "no token"
		case errors.Is(err, store.ErrTokenUnknown):
			msg, reason = "That token is not valid.", "unknown token"
		case errors.Is(err, store.ErrTokenRevoked):
			msg, reason = "That token was revoked or has expired; ask an administrator for a new one.", "revoked token"
		case errors.Is(err, store.ErrTokenExpired):
			msg, reason = "That token was revoked or has expired; ask an administrator for a new one.", "expired token"
		default:
			h.cfg.Logger.Error("ui sign-in failed", "error", err, "remote", client)
			msg, status = "Ward could not sign you in: the store did not answer.", http.StatusServiceUnavailable
		}
		if reason != "" {
			h.auditFailedLogin(r, client, reason)
		}
		// Never the token: only that a sign-in was refused, and from where.
		h.cfg.Logger.Info("ui sign-in refused", "remote", client, "reason", msg)
		h.render(w, r, status, "login", page{Title: "Sign in", Data: loginData{Next: next, Error: msg}})
		return
	}
	// A good sign-in gives its attempt back: the limit is on guessing.
	res.CancelAt(h.cfg.Now())
	h.cfg.Logger.Info("ui sign-in", "actor", "token:"+us.TokenName, "role", us.Role, "session", us.ID, "remote", client)
	h.setCookie(w, r, secret)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// auditFailedLogin records a refused sign-in. The detail holds where it
// came from and why, never the token nor any part of it.
func (h *Handler) auditFailedLogin(r *http.Request, client, reason string) {
	_, err := h.cfg.Store.AppendAudit(r.Context(), store.AuditEntry{Actor: "anonymous", Action: "ui.login.failed", Object: "ui",
		Detail: map[string]any{"remote": client, "reason": reason}})
	if err != nil {
		h.cfg.Logger.Error("recording a refused UI sign-in in the audit log", "error", err, "remote", client, "reason", reason)
	}
}

// tooManySignIns answers a sign-in over the limit, without reading the
// form: 429 with Retry-After in whole seconds.
func (h *Handler) tooManySignIns(w http.ResponseWriter, r *http.Request, client string, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	h.cfg.Logger.Warn("ui sign-in refused: too many attempts", "remote", client, "retry_after_s", secs)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	h.problem(w, r, nil, http.StatusTooManyRequests, "Too many sign-in attempts",
		fmt.Sprintf("Too many sign-in attempts came from your address (%s); your token was not checked. Wait %d seconds and try again.", client, secs))
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := h.cfg.Store.EndUISession(r.Context(), s.ID, s.actor(), store.SessionLogout); err != nil {
		h.cfg.Logger.Error("ui logout", "error", err, "session", s.ID)
		h.problem(w, r, s, http.StatusServiceUnavailable, "Not signed out", "Ward could not end your session: the store did not answer. Try again.")
		return
	}
	h.cfg.Logger.Info("ui logout", "actor", s.actor(), "session", s.ID)
	h.setCookie(w, r, "")
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// remoteHost is the peer's address, without its port.
func remoteHost(r *http.Request) string {
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i > 0 {
		return strings.Trim(r.RemoteAddr[:i], "[]")
	}
	return r.RemoteAddr
}

// clientAddr is the address a request came from: the peer's, or, when the
// peer is one of Config.TrustedProxies, the nearest address in its
// X-Forwarded-For that is not itself a trusted proxy. With no trusted
// proxies (the default) the header is ignored: anyone can write it.
func (h *Handler) clientAddr(r *http.Request) string {
	peer := remoteHost(r)
	if len(h.cfg.TrustedProxies) == 0 || !h.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(hop)
		if err != nil {
			// A malformed hop is not an address to key on; the proxy
			// that handed it over is what we know.
			return peer
		}
		if !h.trusted(hop) {
			return a.Unmap().String()
		}
	}
	return peer
}

func (h *Handler) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// loginLimiter is a token bucket per client address for sign-in attempts.
// A limiter idle long enough to have refilled is the same as a new one,
// so it is forgotten; the map is swept at most once per refill time and
// never holds more than max addresses: past that, new addresses share one
// limiter (an attacker with many addresses is limited as one).
type loginLimiter struct {
	every time.Duration // one attempt back per every
	burst int
	max   int

	mu        sync.Mutex
	clients   map[string]*loginBucket
	overflow  *rate.Limiter
	lastSweep time.Time
}

type loginBucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newLoginLimiter(every time.Duration, burst, max int) *loginLimiter {
	return &loginLimiter{every: every, burst: burst, max: max, clients: map[string]*loginBucket{},
		overflow: rate.NewLimiter(rate.Every(every), burst)}
}

// refill is how long an unused limiter takes to be full again.
func (l *loginLimiter) refill() time.Duration { return l.every * time.Duration(l.burst) }

// reserve takes one attempt from client's bucket at now. With none left it
// returns nil and how long until there is one.
func (l *loginLimiter) reserve(client string, now time.Time) (*rate.Reservation, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= l.refill() || len(l.clients) >= l.max {
		l.sweep(now)
	}
	lim := l.overflow
	if b := l.clients[client]; b != nil {
		b.last, lim = now, b.lim
	} else if len(l.clients) < l.max {
		b = &loginBucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst), last: now}
		l.clients[client], lim = b, b.lim
	}
	res := lim.ReserveN(now, 1)
	if wait := res.DelayFrom(now); wait > 0 {
		res.CancelAt(now)
		return nil, wait
	}
	return res, 0
}

func (l *loginLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.clients {
		if now.Sub(b.last) >= l.refill() {
			delete(l.clients, k)
		}
	}
}

// size is how many addresses the limiter remembers (for tests).
func (l *loginLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
