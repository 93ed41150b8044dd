package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wardnet/ward/internal/store"
)

// cookieName is the session cookie: HttpOnly, SameSite=Strict, Path=/ui,
// Secure when served over TLS. Its value is the session's secret, whose
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

// setCookie sets (or, with value "", clears) the session cookie.
func setCookie(w http.ResponseWriter, r *http.Request, value string) {
	c := &http.Cookie{Name: cookieName, Value: value, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
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
			setCookie(w, r, "")
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
// and sets the session cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, "login", page{Title: "Sign in", Data: loginData{Next: "/ui/", Error: "The form could not be read."}})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	secret, us, err := h.cfg.Store.StartUISession(r.Context(), token, h.cfg.AbsoluteTimeout, remoteHost(r))
	if err != nil {
		msg, status := "", http.StatusUnauthorized
		switch {
		case errors.Is(err, store.ErrTokenUnknown):
			msg = "That token is not valid."
		case errors.Is(err, store.ErrTokenRevoked), errors.Is(err, store.ErrTokenExpired):
			msg = "That token was revoked or has expired; ask an administrator for a new one."
		default:
			h.cfg.Logger.Error("ui sign-in failed", "error", err)
			msg, status = "Ward could not sign you in: the store did not answer.", http.StatusServiceUnavailable
		}
		// Never the token: only that a sign-in was refused, and from where.
		h.cfg.Logger.Info("ui sign-in refused", "remote", remoteHost(r), "reason", msg)
		h.render(w, r, status, "login", page{Title: "Sign in", Data: loginData{Next: next, Error: msg}})
		return
	}
	h.cfg.Logger.Info("ui sign-in", "actor", "token:"+us.TokenName, "role", us.Role, "session", us.ID, "remote", remoteHost(r))
	setCookie(w, r, secret)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := h.cfg.Store.EndUISession(r.Context(), s.ID, s.actor(), store.SessionLogout); err != nil {
		h.cfg.Logger.Error("ui logout", "error", err, "session", s.ID)
		h.problem(w, r, s, http.StatusServiceUnavailable, "Not signed out", "Ward could not end your session: the store did not answer. Try again.")
		return
	}
	h.cfg.Logger.Info("ui logout", "actor", s.actor(), "session", s.ID)
	setCookie(w, r, "")
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// remoteHost is the peer's address, without its port.
func remoteHost(r *http.Request) string {
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i > 0 {
		return strings.Trim(r.RemoteAddr[:i], "[]")
	}
	return r.RemoteAddr
}
