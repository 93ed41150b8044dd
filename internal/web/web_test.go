package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/web"
	"github.com/wardnet/ward/policy"
)

const (
	examplePolicy    = "../../examples/hospital/policy"
	exampleInventory = "../../examples/hospital/inventory.csv"
)

// fakeQuarantines stands in for the quarantine manager: it lists what it
// holds and records the releases and approvals made through the UI.
type fakeQuarantines struct {
	mu    sync.Mutex
	open  []quarantine.Listed
	calls []string
}

func (f *fakeQuarantines) ListStatus(_ context.Context, status string) ([]quarantine.Listed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status != "" {
		return nil, fmt.Errorf("fake: status %q not supported", status)
	}
	return append([]quarantine.Listed(nil), f.open...), nil
}

func (f *fakeQuarantines) ReleaseID(_ context.Context, id uint64, actor string) (*quarantine.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("release %d by %s", id, actor))
	return &quarantine.Outcome{Changed: true}, nil
}

func (f *fakeQuarantines) Approve(_ context.Context, id uint64, actor, comment string) (*quarantine.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("approve %d by %s: %s", id, actor, comment))
	return &quarantine.Outcome{Changed: true}, nil
}

func (f *fakeQuarantines) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// syncBuffer is a log sink several goroutines write.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type uiServer struct {
	url    string
	st     *store.Store
	q      *fakeQuarantines
	log    *syncBuffer
	tokens map[string]string
	clock  *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// uiFixture is what every UI test server stands on: a store on the test
// clock with the example's inventory and a token per role, and the
// example's policy in force.
type uiFixture struct {
	st     *store.Store
	clk    *clock
	holder *inforce.Holder
	cfg    *policy.Config
	tokens map[string]string
}

func newUIFixture(t *testing.T) *uiFixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{now: time.Now().UTC()}
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ward.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := inventory.ImportFile(ctx, st, exampleInventory, inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	roles := map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"}}
	for _, n := range []string{"cisco_iosxe", "arista_eos", "juniper_junos"} {
		roles[n] = []string{"firewall", "access_switch"}
	}
	load := func() (*policy.Config, hcl.Diagnostics) {
		return policy.NewParser(policy.WithDrivers(roles)).LoadDir(examplePolicy)
	}
	cfg, diags := load()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tokens := map[string]string{}
	for _, role := range store.Roles() {
		if tokens[role], _, err = st.CreateToken(ctx, role+"-token", role, 0, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return &uiFixture{st: st, clk: clk, holder: inforce.New(cfg, load, nil), cfg: cfg, tokens: tokens}
}

// serve runs the UI over f with quarantines q, logging at level into the
// server's log.
func (f *uiFixture) serve(t *testing.T, q web.Quarantines, level slog.Level) *uiServer {
	t.Helper()
	logs := &syncBuffer{}
	h, err := web.New(web.Config{Store: f.st, Quarantines: q, Policy: f.holder, Now: f.clk.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &uiServer{url: hs.URL, st: f.st, log: logs, tokens: f.tokens, clock: f.clk}
}

func newUIServer(t *testing.T) *uiServer {
	t.Helper()
	q := &fakeQuarantines{open: []quarantine.Listed{
		{Device: "pump-7", Quarantine: store.Quarantine{ID: 7, Status: quarantine.StatusActive, Level: "restrict", PendingLevel: "isolate", Reason: "ET TROJAN"}},
		{Device: "tv-9", Quarantine: store.Quarantine{ID: 9, Status: quarantine.StatusPending, PendingLevel: "isolate", Reason: "held by the storm guard"}},
	}}
	s := newUIFixture(t).serve(t, q, slog.LevelDebug)
	s.q = q
	return s
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so each test sees them.
func (s *uiServer) browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// signIn signs in with role's token and returns the browser.
func (s *uiServer) signIn(t *testing.T, role string) *http.Client {
	t.Helper()
	c := s.browser(t)
	a := do(t, c, "POST", s.url+"/ui/login", url.Values{"token": {s.tokens[role]}, "next": {"/ui/zones"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/zones" {
		t.Fatalf("sign-in as %s: %d %s %s", role, a.status, a.header.Get("Location"), a.body)
	}
	return c
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	return m[1]
}

func TestSignInCookieAndHeaders(t *testing.T) {
	s := newUIServer(t)
	anon := s.browser(t)
	a := do(t, anon, "GET", s.url+"/ui/flows", nil)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/login?next=%2Fui%2Fflows" {
		t.Fatalf("no cookie: %d %q", a.status, a.header.Get("Location"))
	}
	a = do(t, anon, "GET", s.url+"/ui/login", nil)
	csp := a.header.Get("Content-Security-Policy")
	if a.status != 200 || !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("login page: %d CSP %q", a.status, csp)
	}
	if strings.Contains(a.body, "<script") || strings.Contains(a.body, "style=") || !strings.Contains(a.body, `type="password"`) {
		t.Errorf("login page has inline script or style, or no password field")
	}
	if a := do(t, anon, "POST", s.url+"/ui/login", url.Values{"token": {"ward_not-a-token"}}); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "not valid") {
		t.Errorf("bad token: %d", a.status)
	}

	req, _ := http.NewRequest("POST", s.url+"/ui/login", strings.NewReader(url.Values{"token": {s.tokens[store.RoleViewer]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.browser(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ward_session" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/ui" || ck.Secure {
		t.Fatalf("session cookie: %+v", ck)
	}
	if strings.Contains(ck.Value, s.tokens[store.RoleViewer]) || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("cookie holds the token, or redirect %q", resp.Header.Get("Location"))
	}
	// An open redirect is not followed.
	c := s.browser(t)
	if a := do(t, c, "POST", s.url+"/ui/login", url.Values{"token": {s.tokens[store.RoleViewer]}, "next": {"//evil.example/ui/"}}); a.header.Get("Location") != "/ui/" {
		t.Errorf("next //evil.example: redirected to %q", a.header.Get("Location"))
	}
}

func TestPagesRender(t *testing.T) {
	s := newUIServer(t)
	c := s.signIn(t, store.RoleViewer)
	for path, want := range map[string][]string{
		"/ui/":                     {"Zones by criticality", "life_critical", "infusion_pumps", "The audit chain is intact", "Targets", "waiting for approval"},
		"/ui/zones":                {"<th scope=\"col\">Criticality</th>", `href="/ui/zones/infusion_pumps"`},
		"/ui/zones/infusion_pumps": {"Flows out of this zone", "life_critical"},
		"/ui/flows":                {"<table>", "Essential"},
		"/ui/quarantines":          {"pump-7", "tv-9", "Waiting for approval", "Held"},
		"/ui/static/ward.css":      {"focus-visible"},
		"/ui/static/print.css":     {"display: none"},
		"/ui/zones/no_such_zone":   {"no zone"},
		"/ui/nowhere":              {"No such page"},
	} {
		a := do(t, c, "GET", s.url+path, nil)
		wantStatus := 200
		if strings.Contains(path, "no") && !strings.HasPrefix(path, "/ui/static") && path != "/ui/" {
			wantStatus = 404
		}
		if a.status != wantStatus {
			t.Errorf("GET %s: %d, want %d", path, a.status, wantStatus)
		}
		for _, w := range want {
			if !strings.Contains(a.body, w) {
				t.Errorf("GET %s: no %q in the page", path, w)
			}
		}
		if a.header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no CSP", path)
		}
	}
	// Every flow linked from /ui/flows has a page.
	flows := do(t, c, "GET", s.url+"/ui/flows", nil)
	links := regexp.MustCompile(`href="(/ui/flows/[^"]+)"`).FindAllStringSubmatch(flows.body, -1)
	if len(links) == 0 {
		t.Fatal("no flow links")
	}
	for _, l := range links {
		if a := do(t, c, "GET", s.url+l[1], nil); a.status != 200 || !strings.Contains(a.body, "Services") {
			t.Errorf("GET %s: %d", l[1], a.status)
		}
	}
}

func TestQuarantineActionsByRole(t *testing.T) {
	s := newUIServer(t)
	viewer := s.signIn(t, store.RoleViewer)
	page := do(t, viewer, "GET", s.url+"/ui/quarantines", nil)
	if strings.Contains(page.body, "Release #") || strings.Contains(page.body, "Approve #") {
		t.Error("a viewer is offered buttons")
	}
	// A viewer's forged POST, with its own valid CSRF token: refused.
	if a := do(t, viewer, "POST", s.url+"/ui/quarantines/7/release", url.Values{"csrf": {csrfOf(t, page.body)}}); a.status != http.StatusForbidden {
		t.Errorf("viewer release: %d", a.status)
	}

	op := s.signIn(t, store.RoleOperator)
	page = do(t, op, "GET", s.url+"/ui/quarantines", nil)
	if !strings.Contains(page.body, "Release #7") || strings.Contains(page.body, "Approve #") {
		t.Error("an operator should be offered release, not approval")
	}
	csrf := csrfOf(t, page.body)
	// Without the CSRF token, or with another session's: refused.
	if a := do(t, op, "POST", s.url+"/ui/quarantines/7/release", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("release without CSRF: %d", a.status)
	}
	other := do(t, s.signIn(t, store.RoleOperator), "GET", s.url+"/ui/quarantines", nil)
	if a := do(t, op, "POST", s.url+"/ui/quarantines/7/release", url.Values{"csrf": {csrfOf(t, other.body)}}); a.status != http.StatusForbidden {
		t.Errorf("release with another session's CSRF: %d", a.status)
	}
	if a := do(t, op, "POST", s.url+"/ui/quarantines/7/approve", url.Values{"csrf": {csrf}}); a.status != http.StatusForbidden {
		t.Errorf("operator approve: %d", a.status)
	}
	if a := do(t, op, "POST", s.url+"/ui/quarantines/7/release", url.Values{"csrf": {csrf}}); a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/quarantines?done=released" {
		t.Errorf("operator release: %d %s", a.status, a.body)
	}
	if a := do(t, op, "POST", s.url+"/ui/quarantines/99/release", url.Values{"csrf": {csrf}}); a.status != http.StatusConflict {
		t.Errorf("release of a closed quarantine: %d", a.status)
	}

	admin := s.signIn(t, store.RoleAdmin)
	page = do(t, admin, "GET", s.url+"/ui/quarantines", nil)
	if !strings.Contains(page.body, "Approve #7") || !strings.Contains(page.body, "Approve #9") {
		t.Error("an admin is not offered approvals")
	}
	if a := do(t, admin, "POST", s.url+"/ui/quarantines/9/approve", url.Values{"csrf": {csrfOf(t, page.body)}, "comment": {"checked with ward 3"}}); a.status != http.StatusSeeOther {
		t.Errorf("admin approve: %d %s", a.status, a.body)
	}
	// No session at all: refused.
	if a := do(t, s.browser(t), "POST", s.url+"/ui/quarantines/7/release", url.Values{"csrf": {csrf}}); a.status != http.StatusForbidden {
		t.Errorf("release without a session: %d", a.status)
	}
	want := []string{"release 7 by token:operator-token", "approve 9 by token:admin-token: checked with ward 3"}
	if got := s.q.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("manager calls %q, want %q", got, want)
	}
}

func TestLogoutTimeoutsAndAudit(t *testing.T) {
	s := newUIServer(t)
	ctx := context.Background()
	c := s.signIn(t, store.RoleAuditor)
	page := do(t, c, "GET", s.url+"/ui/zones", nil)
	if page.status != 200 {
		t.Fatalf("zones: %d", page.status)
	}
	do(t, c, "GET", s.url+"/ui/flows?x=1", nil)
	reads, err := s.st.ListAuditEvents(ctx, store.AuditQuery{Limit: 10, Actor: "token:auditor-token", Action: "read"})
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) != 2 || reads[0].Object != "GET /ui/flows" || reads[1].Object != "GET /ui/zones" {
		t.Errorf("auditor's UI reads: %+v", reads)
	}
	// Logout needs the CSRF token, then ends the session.
	if a := do(t, c, "POST", s.url+"/ui/logout", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("logout without CSRF: %d", a.status)
	}
	if a := do(t, c, "POST", s.url+"/ui/logout", url.Values{"csrf": {csrfOf(t, page.body)}}); a.status != http.StatusSeeOther {
		t.Errorf("logout: %d", a.status)
	}
	if a := do(t, c, "GET", s.url+"/ui/zones", nil); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/ui/login") {
		t.Errorf("after logout: %d", a.status)
	}
	// Idle: 31 minutes without a request ends a session.
	v := s.signIn(t, store.RoleViewer)
	s.clock.Advance(31 * time.Minute)
	if a := do(t, v, "GET", s.url+"/ui/zones", nil); a.status != http.StatusSeeOther {
		t.Errorf("idle session: %d", a.status)
	}
	for _, action := range []string{"ui.login", "ui.logout", "ui.session_end"} {
		ev, err := s.st.ListAuditEvents(ctx, store.AuditQuery{Limit: 10, Action: action})
		if err != nil || len(ev) == 0 {
			t.Errorf("%s not audited (%v)", action, err)
		}
	}
	// The tokens never reach the log.
	logs := s.log.String()
	if !strings.Contains(logs, "ui sign-in") {
		t.Fatalf("the UI logged nothing at debug:\n%s", logs)
	}
	for role, tok := range s.tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("the %s token is in the log", role)
		}
	}
}

// TestSecureCookieOverTLS: served over TLS, the session cookie is Secure.
func TestSecureCookieOverTLS(t *testing.T) {
	s := newUIServer(t)
	h, err := web.New(web.Config{Store: s.st, Quarantines: s.q})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(h)
	defer hs.Close()
	c := hs.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(hs.URL+"/ui/login", url.Values{"token": {s.tokens[store.RoleViewer]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly {
		t.Errorf("cookies over TLS: %+v", cs)
	}
}

// tamperAudit runs SQL on the audit log with its append-only triggers
// dropped, as someone with write access to the database could.
func tamperAudit(t *testing.T, st *store.Store, sql string, args ...any) {
	t.Helper()
	for _, trig := range []string{"audit_events_no_update", "audit_events_no_delete"} {
		if err := st.DB.Exec("DROP TRIGGER IF EXISTS " + trig).Error; err != nil {
			t.Fatal(err)
		}
	}
	if res := st.DB.Exec(sql, args...); res.Error != nil || res.RowsAffected == 0 {
		t.Fatalf("%s: %v (%d rows)", sql, res.Error, res.RowsAffected)
	}
}

var auditLine = regexp.MustCompile(`The audit chain is (intact: (\d+) events checked|broken: audit event (\d+))`)

// TestDashboardAuditVerification: the dashboard remembers its last walk of
// the audit chain while the log does not move, walks again when a newer
// event is written or the head is rewritten, and reports an older event
// rewritten behind the head once its memory runs out (auditRewalk).
func TestDashboardAuditVerification(t *testing.T) {
	s := newUIServer(t)
	c := s.signIn(t, store.RoleAdmin) // an admin's reads are not audited: loads write nothing
	load := func(t *testing.T) (intact bool, n string) {
		t.Helper()
		a := do(t, c, "GET", s.url+"/ui/", nil)
		m := auditLine.FindStringSubmatch(a.body)
		if a.status != http.StatusOK || m == nil {
			t.Fatalf("dashboard: %d, no audit line:\n%s", a.status, a.body)
		}
		if m[2] != "" {
			return true, m[2]
		}
		return false, m[3]
	}
	head := func() store.AuditEvent {
		evs, err := s.st.ListAudit(context.Background(), 1)
		if err != nil || len(evs) != 1 {
			t.Fatalf("audit head: %v %v", evs, err)
		}
		return evs[0]
	}
	intact, n := load(t)
	if !intact || n != fmt.Sprint(head().Seq) {
		t.Fatalf("first load: intact %v, %s events; want intact, %d", intact, n, head().Seq)
	}
	s.signIn(t, store.RoleViewer) // a newer event: it is checked
	if intact, n = load(t); !intact || n != fmt.Sprint(head().Seq) {
		t.Fatalf("after a new event: intact %v, %s events; want intact, %d", intact, n, head().Seq)
	}

	// An old event rewritten behind the head: the remembered walk stands
	// until auditRewalk runs out, then the break is found.
	tamperAudit(t, s.st, "UPDATE audit_events SET object = 'forged' WHERE seq = 2")
	if intact, _ = load(t); !intact {
		t.Fatal("a load right after the tampering walked the chain again; want the remembered walk")
	}
	s.clock.Advance(5*time.Minute + time.Second)
	if intact, n = load(t); intact || n != "2" {
		t.Fatalf("after the memory ran out: intact %v, event %s; want broken at event 2", intact, n)
	}
	// A broken chain is never remembered: still reported on the next load.
	if intact, n = load(t); intact || n != "2" {
		t.Fatalf("next load: intact %v, event %s; want broken at event 2", intact, n)
	}
}

// TestDashboardAuditHeadRewritten: a rewritten head event, or a new one
// written after an old one was tampered with, is found at the next load.
func TestDashboardAuditHeadRewritten(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *uiServer, head uint64)
		broken string // the event named
	}{
		{"head rewritten", func(t *testing.T, s *uiServer, head uint64) {
			tamperAudit(t, s.st, "UPDATE audit_events SET actor = 'someone else' WHERE seq = ?", head)
		}, "head"},
		// The newer events alone are walked while the old head holds, so
		// an event rewritten behind it is found by the next whole walk.
		{"old event rewritten, then a new event", func(t *testing.T, s *uiServer, _ uint64) {
			tamperAudit(t, s.st, "UPDATE audit_events SET object = 'forged' WHERE seq = 2")
			s.signIn(t, store.RoleViewer)
			s.clock.Advance(5*time.Minute + time.Second)
		}, "2"},
		{"new event rewritten", func(t *testing.T, s *uiServer, head uint64) {
			s.signIn(t, store.RoleViewer)
			tamperAudit(t, s.st, "UPDATE audit_events SET object = 'forged' WHERE seq = ?", head+1)
		}, "next"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newUIServer(t)
			c := s.signIn(t, store.RoleAdmin)
			if a := do(t, c, "GET", s.url+"/ui/", nil); !strings.Contains(a.body, "audit chain is intact") {
				t.Fatalf("first load: %d\n%s", a.status, a.body)
			}
			evs, err := s.st.ListAudit(context.Background(), 1)
			if err != nil || len(evs) != 1 {
				t.Fatal(evs, err)
			}
			tt.tamper(t, s, evs[0].Seq)
			want := tt.broken
			switch want {
			case "head":
				want = fmt.Sprint(evs[0].Seq)
			case "next":
				want = fmt.Sprint(evs[0].Seq + 1)
			}
			a := do(t, c, "GET", s.url+"/ui/", nil)
			if m := auditLine.FindStringSubmatch(a.body); m == nil || m[3] != want {
				t.Errorf("after tampering: %v; want the chain broken at event %s", m, want)
			}
		})
	}
}
