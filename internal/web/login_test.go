package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/web"
)

// loginServer is a UI with a store, two tokens (one good, one revoked)
// and a fake clock, its Config shaped by mod.
type loginServer struct {
	url           string
	client        *http.Client
	st            *store.Store
	log           *syncBuffer
	clock         *clock
	good, revoked string
}

func newLoginServer(t *testing.T, tls bool, mod func(*web.Config)) *loginServer {
	t.Helper()
	ctx := context.Background()
	clk := &clock{now: time.Now().UTC()}
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ward.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &loginServer{st: st, log: &syncBuffer{}, clock: clk}
	if s.good, _, err = st.CreateToken(ctx, "good", store.RoleViewer, 0, "test"); err != nil {
		t.Fatal(err)
	}
	if s.revoked, _, err = st.CreateToken(ctx, "gone", store.RoleAdmin, 0, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeToken(ctx, "gone", "test"); err != nil {
		t.Fatal(err)
	}
	cfg := web.Config{Store: st, Quarantines: &fakeQuarantines{}, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&cfg)
	}
	h, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var hs *httptest.Server
	if tls {
		hs = httptest.NewTLSServer(h)
	} else {
		hs = httptest.NewServer(h)
	}
	t.Cleanup(hs.Close)
	s.url, s.client = hs.URL, hs.Client()
	s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return s
}

// signIn posts token to the sign-in form, with X-Forwarded-For xff when
// not empty, and returns the answer and the cookies set.
func (s *loginServer) signIn(t *testing.T, token, xff string) (answer, []*http.Cookie) {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+"/ui/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}, resp.Cookies()
}

// failedLogins is the ui.login.failed events, oldest first.
func (s *loginServer) failedLogins(t *testing.T) []store.AuditEvent {
	t.Helper()
	evs, err := s.st.ListAudit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEvent
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == "ui.login.failed" {
			out = append(out, evs[i])
		}
	}
	return out
}

// TestSignInRateLimit: past the burst a sign-in is refused with 429 and
// Retry-After before its token is checked (a good token too, and no audit
// event is written); a good sign-in does not use up an attempt; time
// gives attempts back.
func TestSignInRateLimit(t *testing.T) {
	s := newLoginServer(t, false, func(c *web.Config) { c.LoginBurst, c.LoginEvery = 3, time.Minute })
	for i := range 5 { // good sign-ins give their attempt back
		if a, _ := s.signIn(t, s.good, ""); a.status != http.StatusSeeOther {
			t.Fatalf("good sign-in %d: %d %s", i, a.status, a.body)
		}
	}
	for i := range 3 {
		if a, _ := s.signIn(t, "ward_notatoken", ""); a.status != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i, a.status)
		}
	}
	for _, tok := range []string{"ward_notatoken", s.good} {
		a, cookies := s.signIn(t, tok, "")
		if a.status != http.StatusTooManyRequests || len(cookies) != 0 {
			t.Fatalf("over the limit: %d, cookies %v; want 429 and no cookie", a.status, cookies)
		}
		if ra := a.header.Get("Retry-After"); ra != "60" {
			t.Errorf("Retry-After %q, want 60 (one attempt a minute)", ra)
		}
		if !strings.Contains(a.body, "not checked") {
			t.Errorf("the 429 page does not say the token was not checked:\n%s", a.body)
		}
	}
	if n := len(s.failedLogins(t)); n != 3 {
		t.Errorf("%d ui.login.failed events, want 3 (refusals over the limit are not looked at)", n)
	}
	s.clock.Advance(time.Minute)
	if a, _ := s.signIn(t, s.good, ""); a.status != http.StatusSeeOther {
		t.Errorf("a minute later: %d, want a sign-in", a.status)
	}
}

// TestFailedSignInAudited: a refused sign-in writes ui.login.failed by
// "anonymous" with the remote address and the reason, and neither that
// event nor the log holds any part of the token.
func TestFailedSignInAudited(t *testing.T) {
	s := newLoginServer(t, false, nil)
	tests := []struct {
		name, token, reason string
	}{
		{"revoked", s.revoked, "revoked token"},
		{"unknown", store.TokenPrefix + "Zm9vYmFyYmF6cXV4cXV1eHNlY3JldHNlY3JldA", "unknown token"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, _ := s.signIn(t, tt.token, ""); a.status != http.StatusUnauthorized {
				t.Fatalf("%d, want 401", a.status)
			}
			evs := s.failedLogins(t)
			if len(evs) != i+1 {
				t.Fatalf("%d ui.login.failed events, want %d", len(evs), i+1)
			}
			ev := evs[i]
			var detail map[string]string
			if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil {
				t.Fatal(err)
			}
			if ev.Actor != "anonymous" || detail["remote"] != "127.0.0.1" || detail["reason"] != tt.reason {
				t.Errorf("event: actor %q detail %v; want anonymous, remote 127.0.0.1, reason %q", ev.Actor, detail, tt.reason)
			}
			all, _ := json.Marshal(ev)
			// Any 6 bytes of the token's secret part would be a leak.
			secret := strings.TrimPrefix(tt.token, store.TokenPrefix)
			for j := 0; j+6 <= len(secret); j++ {
				if part := secret[j : j+6]; strings.Contains(string(all), part) || strings.Contains(s.log.String(), part) {
					t.Fatalf("token bytes %q found in the audit event or the log:\n%s\n%s", part, all, s.log.String())
				}
			}
		})
	}
}

// TestSecureCookieSetting: the Secure flag by the setting, over plain
// HTTP and over TLS.
func TestSecureCookieSetting(t *testing.T) {
	tests := []struct {
		setting string
		tls     bool
		secure  bool
	}{
		{"", false, false},
		{web.SecureCookieAuto, true, true},
		{web.SecureCookieAlways, false, true}, // behind a TLS-terminating proxy
		{web.SecureCookieNever, true, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q tls=%v", tt.setting, tt.tls), func(t *testing.T) {
			s := newLoginServer(t, tt.tls, func(c *web.Config) { c.SecureCookie = tt.setting })
			a, cookies := s.signIn(t, s.good, "")
			if a.status != http.StatusSeeOther || len(cookies) != 1 {
				t.Fatalf("sign-in: %d, cookies %v", a.status, cookies)
			}
			if cookies[0].Secure != tt.secure {
				t.Errorf("Secure = %v, want %v", cookies[0].Secure, tt.secure)
			}
		})
	}
	if _, err := web.New(web.Config{Store: newLoginServer(t, false, nil).st, SecureCookie: "sometimes"}); err == nil {
		t.Error("SecureCookie \"sometimes\" was accepted")
	}
}

// TestTrustedProxy: X-Forwarded-For names the client only when the peer
// is a trusted proxy; otherwise it is ignored, for the audit and the
// limit alike.
func TestTrustedProxy(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		xff     string
		remote  string
	}{
		{"no proxies: header ignored", nil, "203.0.113.7", "127.0.0.1"},
		{"trusted proxy", loopback, "203.0.113.7", "203.0.113.7"},
		{"the client's own forged hop is skipped", loopback, "198.51.100.1, 203.0.113.7", "203.0.113.7"},
		{"a malformed hop: the proxy", loopback, "not-an-address", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLoginServer(t, false, func(c *web.Config) {
				c.TrustedProxies, c.LoginBurst, c.LoginEvery = tt.proxies, 1, time.Hour
			})
			if a, _ := s.signIn(t, "ward_wrong", tt.xff); a.status != http.StatusUnauthorized {
				t.Fatalf("%d, want 401", a.status)
			}
			evs := s.failedLogins(t)
			if len(evs) != 1 || !strings.Contains(evs[0].Detail, `"remote":"`+tt.remote+`"`) {
				t.Fatalf("events %+v, want remote %s", evs, tt.remote)
			}
			// The limit is the client's: another forwarded client still gets in
			// through a trusted proxy; with none, the header changes nothing.
			a, _ := s.signIn(t, s.good, "192.0.2.9")
			want := http.StatusSeeOther
			if tt.proxies == nil {
				want = http.StatusTooManyRequests
			}
			if a.status != want {
				t.Errorf("another client's sign-in: %d, want %d", a.status, want)
			}
		})
	}
}
