package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/wardnet/ward/internal/testenv"
)

// chromiumPath finds Chromium (make deps installs Debian's chromium).
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "Chromium is not installed (make deps installs Debian's chromium)")
	return ""
}

// uiBrowser drives one headless Chromium against ward serve's UI and keeps
// what its pages wrote to the console.
type uiBrowser struct {
	t    *testing.T
	ctx  context.Context
	base string
	mu   sync.Mutex
	logs []string
	// shots is where screenshots go, made at the first.
	shots string
	shot  int
}

func newUIBrowser(t *testing.T, base string) *uiBrowser {
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	b := &uiBrowser{t: t, ctx: ctx, base: base}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium (%s): %v", exe, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.logs = append(b.logs, fmt.Sprintf("%s: %s (%s)", m.Type, m.Text, m.URL))
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot("failure")
		}
	})
	return b
}

// screenshot saves the page in a directory of its own under the system's
// temp dir, which outlives the test, and logs the path.
func (b *uiBrowser) screenshot(what string) {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(90))
	if err != nil {
		b.t.Logf("screenshot %s: %v", what, err)
		return
	}
	// Not t.TempDir: it is removed when the test ends, and the picture is
	// for the person reading the failure.
	if b.shots == "" {
		if b.shots, err = os.MkdirTemp("", "ward-ui-screenshots-"); err != nil {
			b.t.Logf("screenshot %s: %v", what, err)
			return
		}
	}
	b.shot++
	p := filepath.Join(b.shots, fmt.Sprintf("ui-%02d-%s.png", b.shot, what))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", what, err)
		return
	}
	b.t.Logf("screenshot of the page (%s): %s", what, p)
}

// console returns, and forgets, what the pages wrote to the console.
func (b *uiBrowser) console() []string {
	time.Sleep(100 * time.Millisecond) // let the last events arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.logs
	b.logs = nil
	return out
}

// open loads a page and returns the status of its answer.
func (b *uiBrowser) open(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// click clicks sel and waits for the page it loads; it returns the status.
func (b *uiBrowser) click(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return resp.Status
}

func (b *uiBrowser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.base)
}

func (b *uiBrowser) main() string {
	b.t.Helper()
	html, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	if err != nil {
		b.t.Fatal(err)
	}
	return html
}

// links returns the UI links of the page.
func (b *uiBrowser) links() []string {
	pages, _ := b.linksAndDownloads()
	return pages
}

// linksAndDownloads returns the UI links of the page, apart from those
// that download a file (marked download: the browser does not navigate to
// them; checkDownload fetches them). Every page has links (the navigation),
// so the query does not wait for nodes that are not there.
func (b *uiBrowser) linksAndDownloads() (pages, downloads []string) {
	b.t.Helper()
	nodes, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSSAll("a[href]")))
	if err != nil {
		b.t.Fatal(err)
	}
	for _, n := range nodes {
		h := n.AttributeValue("href")
		if !strings.HasPrefix(h, "/ui/") {
			continue
		}
		if _, download := n.Attribute("download"); download {
			downloads = append(downloads, h)
			continue
		}
		pages = append(pages, strings.SplitN(h, "#", 2)[0])
	}
	return pages, downloads
}

// checkDownload signs in with token through the form over plain HTTP (a
// cookie jar of its own) and fetches path, which must answer 200 with
// contentType.
func checkDownload(t *testing.T, base, token, path, contentType string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(base+"/ui/login", url.Values{"token": {token}, "next": {"/ui/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), contentType) || len(body) == 0 {
		t.Errorf("download %s (linked): %d %q, %d bytes; want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), contentType)
	}
}

// walk opens start and every UI page linked from the pages it reaches
// whose path follow accepts, checking each answers 200 where it was asked;
// it returns the pages seen and the downloads linked.
func (b *uiBrowser) walk(start string, follow func(string) bool) (seen, downloads map[string]bool) {
	b.t.Helper()
	seen, downloads = map[string]bool{}, map[string]bool{}
	queue := []string{start}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		if st := b.open(p); st != 200 {
			b.t.Errorf("GET %s (linked): %d", p, st)
			continue
		}
		if b.location() != p {
			b.t.Errorf("GET %s ended at %s", p, b.location())
		}
		pages, files := b.linksAndDownloads()
		for _, l := range pages {
			if follow(l) {
				queue = append(queue, l)
			}
		}
		for _, d := range files {
			downloads[d] = true
		}
	}
	return seen, downloads
}

// tabReachesAll checks that Tab alone, from the top of page p, reaches
// every link, button and field of it.
func (b *uiBrowser) tabReachesAll(p string) {
	b.t.Helper()
	b.open(p)
	want, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("a[href], button, input:not([type=hidden]), select").length`))
	if err != nil {
		b.t.Fatal(err)
	}
	reached := map[string]bool{}
	for i := 0; i < want+5; i++ {
		if _, err := chromedp.Run(b.ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			b.t.Fatal(err)
		}
		// The focused element, if it is one of those counted.
		id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(e => e.matches("a[href], button, input:not([type=hidden]), select") ? e.tagName + "@" + [...document.querySelectorAll("*")].indexOf(e) : "")(document.activeElement)`))
		if err != nil {
			b.t.Fatal(err)
		}
		if id == "" {
			continue
		}
		reached[id] = true
	}
	if len(reached) < want {
		b.t.Errorf("%s: Tab reached %d of %d links, buttons and fields", p, len(reached), want)
	}
}

// signIn signs in with token through the form.
func (b *uiBrowser) signIn(token string) {
	b.t.Helper()
	if st := b.open("/ui/login"); st != 200 {
		b.t.Fatalf("sign-in page: %d", st)
	}
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS("#token"), token)); err != nil {
		b.t.Fatal(err)
	}
	if st := b.click("form.login button"); st != 200 || b.location() != "/ui/" {
		b.t.Fatalf("sign-in: %d at %s", st, b.location())
	}
}

func (b *uiBrowser) signOut() {
	b.t.Helper()
	if st := b.click("form.who button"); st != 200 || b.location() != "/ui/login" {
		b.t.Fatalf("sign out: %d at %s", st, b.location())
	}
}

// TestUIBrowser runs ward serve with the example hospital and walks its UI
// in a real Chromium: no cookie leads to the sign-in page; every page and
// every link answers 200 with nothing on the console (the CSP blocks
// nothing Ward serves); an operator releases a quarantine, an admin
// approves one, a viewer is offered neither and its forged POST is
// refused, as is a form without the CSRF token; logout ends the session;
// no token reaches ward serve's log.
func TestUIBrowser(t *testing.T) {
	chromiumPath(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	tokens := map[string]string{}
	for _, role := range []string{"viewer", "auditor", "operator", "admin"} {
		code, out, errs := runWard(t, "token", "create", "-role", role, "-name", "ui-"+role, "-db", db)
		if code != 0 {
			t.Fatal(errs)
		}
		tokens[role] = regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	}
	srv := startServe(t, examplePolicy, db, "-no-enforce", "-log-level", "debug")
	api := func(method, path, body, role string) (int, string) {
		req, _ := http.NewRequest(method, srv.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens[role])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A low device isolated at once, a life-critical pump whose isolate
	// waits for a person.
	for _, dev := range []string{"lbl-icu-01", "pump-3w-01"} {
		if st, body := api("POST", "/api/v1/quarantines", `{"device":"`+dev+`","level":"isolate","reason":"ui test"}`, "operator"); st != 201 {
			t.Fatalf("quarantine %s: %d %s", dev, st, body)
		}
	}

	b := newUIBrowser(t, srv.url)
	// No cookie: the sign-in page, which brings the reader back.
	if st := b.open("/ui/zones"); st != 200 || b.location() != "/ui/login?next=%2Fui%2Fzones" {
		t.Fatalf("no cookie: %d at %s", st, b.location())
	}

	// 1. An operator walks every page and follows every link.
	b.signIn(tokens["operator"])
	seen, downloads := b.walk("/ui/", func(string) bool { return true })
	if !downloads["/ui/flows.csv"] {
		t.Errorf("the flow register's CSV is not linked from the UI (downloads %v)", downloads)
	}
	for d := range downloads {
		checkDownload(t, srv.url, tokens["operator"], d, "text/csv")
	}
	// No address the UI links to carries a token.
	for p := range seen {
		for role, tok := range tokens {
			if strings.Contains(p, tok) {
				t.Errorf("the %s token is in the UI address %s", role, p)
			}
		}
	}
	for _, want := range []string{"/ui/", "/ui/zones", "/ui/flows", "/ui/quarantines", "/ui/zones/infusion_pumps"} {
		if !seen[want] {
			t.Errorf("%s is not linked from the UI", want)
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d pages reached: %v", len(seen), seen)
	}
	if msgs := b.console(); len(msgs) > 0 {
		t.Errorf("console messages while walking %d pages:\n%s", len(seen), strings.Join(msgs, "\n"))
	}

	// 2. The operator releases the label printer; approval is not offered.
	b.open("/ui/quarantines")
	html := b.main()
	ids := regexp.MustCompile(`Release #(\d+)`).FindAllStringSubmatch(html, -1)
	if len(ids) < 2 || strings.Contains(html, "Approve #") {
		t.Fatalf("operator's quarantine page: releases %v, approval offered %v", ids, strings.Contains(html, "Approve #"))
	}
	row := regexp.MustCompile(`(?s)<th scope="row">(\d+)</th><td>lbl-icu-01</td>`).FindStringSubmatch(html)
	if row == nil {
		t.Fatalf("no row for lbl-icu-01:\n%s", html)
	}
	if st := b.click(`form[action="/ui/quarantines/` + row[1] + `/release"] button`); st != 200 || !strings.Contains(b.main(), "Released.") {
		t.Errorf("release: %d at %s", st, b.location())
	}
	if _, body := api("GET", "/api/v1/quarantines/"+row[1], "", "viewer"); !strings.Contains(body, `"status":"released"`) ||
		!strings.Contains(body, `"released_by":"token:ui-operator"`) {
		t.Errorf("after the UI's release: %s", body)
	}

	// 3. A form without the CSRF token, from another page: refused.
	forger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>forged</title><form method="post" action="%s/ui/quarantines/%s/%s">%s<button id="go">go</button></form>`,
			srv.url, r.URL.Query().Get("id"), r.URL.Query().Get("do"), csrfInput(r.URL.Query().Get("csrf")))
	}))
	defer forger.Close()
	pumpRow := regexp.MustCompile(`(?s)<th scope="row">(\d+)</th><td>pump-3w-01</td>`).FindStringSubmatch(html)
	if pumpRow == nil {
		t.Fatalf("no row for pump-3w-01:\n%s", html)
	}
	pump := pumpRow[1]
	if _, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(forger.URL+"/?do=release&id="+pump)); err != nil {
		t.Fatal(err)
	}
	if st := b.click("#go"); st != http.StatusForbidden {
		t.Errorf("forged release without CSRF: %d, want 403", st)
	}
	b.console()
	b.signOut()
	if st := b.open("/ui/quarantines"); st != 200 || !strings.HasPrefix(b.location(), "/ui/login") {
		t.Errorf("after logout: %d at %s", st, b.location())
	}

	// 4. A viewer sees no buttons; its POST with its own valid CSRF token
	// is refused for its role.
	b.signIn(tokens["viewer"])
	b.open("/ui/quarantines")
	if html := b.main(); strings.Contains(html, "<button") {
		t.Errorf("a viewer is offered buttons:\n%s", html)
	}
	csrf, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(`form.who input[name="csrf"]`), "value"))
	if err != nil || csrf.Value == "" {
		t.Fatalf("the viewer's CSRF token: %v", err)
	}
	chromedp.Run(b.ctx, chromedp.NavigateResponse(forger.URL+"/?do=approve&id="+pump+"&csrf="+csrf.Value))
	if st := b.click("#go"); st != http.StatusForbidden {
		t.Errorf("viewer's approval: %d, want 403", st)
	}
	b.console()
	b.signOut()

	// 5. An admin approves the pump's isolate.
	b.signIn(tokens["admin"])
	b.open("/ui/quarantines")
	if st := b.click(`form[action="/ui/quarantines/` + pump + `/approve"] button`); st != 200 || !strings.Contains(b.main(), "Approved.") {
		t.Errorf("approve: %d at %s\n%s", st, b.location(), b.main())
	}
	if _, body := api("GET", "/api/v1/quarantines/"+pump, "", "viewer"); !strings.Contains(body, `"level":"isolate"`) {
		t.Errorf("after the UI's approval: %s", body)
	}
	b.signOut()

	// The tokens never reach ward serve's log; sign-ins are there.
	logs := srv.out.String()
	if !strings.Contains(logs, "ui sign-in") {
		t.Errorf("no sign-in in ward serve's log:\n%s", logs)
	}
	for role, tok := range tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("the %s token is in ward serve's log", role)
		}
	}
}

func csrfInput(v string) string {
	if v == "" {
		return ""
	}
	return `<input type="hidden" name="csrf" value="` + v + `">`
}

// TestUIBrowserMatrix runs ward serve on a copy of the example hospital
// whose targets only render (push = false), and checks in Chromium that the
// zone matrix shows exactly what the engine's reach query (GET
// /api/v1/reach, as ward query reach) allows for every pair, that a cell
// opens its flows, that Tab alone reaches every link and button of the
// dashboard and the matrix, and that as_of before and after an apply shows
// no enforced policy, then the applied plan's.
func TestUIBrowserMatrix(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy")
	os.Mkdir(pol, 0o755)
	files, _ := filepath.Glob(filepath.Join(examplePolicy, "*"))
	driver := regexp.MustCompile(`(?m)^(\s*driver\s*=\s*"[^"]*")`)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if filepath.Base(f) == "targets.hcl" {
			b = driver.ReplaceAll(b, []byte("${1}\n  push = false"))
		}
		os.WriteFile(filepath.Join(pol, filepath.Base(f)), b, 0o644)
	}
	db := "sqlite://" + filepath.Join(dir, "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := runWard(t, "token", "create", "-role", "auditor", "-name", "ui-auditor", "-db", db)
	if code != 0 {
		t.Fatal(errs)
	}
	token := regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	srv := startServe(t, pol, db, "-no-enforce")
	reach := func(from, to string) (allowed bool, services []string) {
		req, _ := http.NewRequest("GET", srv.url+"/api/v1/reach?"+url.Values{"from": {from}, "to": {to}}.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ans struct {
			Allowed bool `json:"allowed"`
			Flows   []struct {
				Services []string `json:"services"`
			} `json:"flows"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != 200 {
			t.Fatalf("reach %s -> %s: %d %v", from, to, resp.StatusCode, err)
		}
		for _, f := range ans.Flows {
			services = append(services, f.Services...)
		}
		slices.Sort(services)
		return ans.Allowed && len(ans.Flows) > 0, slices.Compact(services)
	}

	b := newUIBrowser(t, srv.url)
	b.signIn(token)
	if st := b.open("/ui/matrix"); st != 200 {
		t.Fatalf("matrix: %d", st)
	}
	page := b.main()
	cell := regexp.MustCompile(`<a href="/ui/flows\?(from=[^"]+)">([^<]*)</a>`)
	shown := map[string]string{}
	for _, m := range cell.FindAllStringSubmatch(page, -1) {
		q, _ := url.ParseQuery(html.UnescapeString(m[1]))
		shown[q.Get("from")+"|"+q.Get("to")] = html.UnescapeString(m[2])
	}
	var zones []string
	for _, m := range regexp.MustCompile(`<th scope="col">([a-z0-9_]+)</th>`).FindAllStringSubmatch(page, -1) {
		zones = append(zones, m[1])
	}
	if len(zones) < 5 || len(shown) == 0 {
		t.Fatalf("matrix: %d zones, %d cells", len(zones), len(shown))
	}
	for _, from := range zones {
		for _, to := range zones {
			if from == to {
				continue // within a zone: allowed, not a flow
			}
			allowed, services := reach(from, to)
			got, ok := shown[from+"|"+to]
			switch {
			case allowed && (!ok || got != strings.Join(services, ", ")):
				t.Errorf("%s -> %s: matrix %q, reach allows %v", from, to, got, services)
			case !allowed && ok:
				t.Errorf("%s -> %s: matrix shows %q, reach denies", from, to, got)
			}
		}
	}

	// A cell opens its flows.
	var first string
	for k := range shown {
		if first == "" || k < first {
			first = k
		}
	}
	from, to, _ := strings.Cut(first, "|")
	if st := b.click(`a[href="/ui/flows?` + url.Values{"from": {from}, "to": {to}}.Encode() + `"]`); st != 200 ||
		!strings.Contains(b.main(), "The flows that allow traffic from") {
		t.Errorf("cell %s: %d at %s", first, st, b.location())
	}

	// Tab alone reaches every link and button of the dashboard and the matrix.
	for _, p := range []string{"/ui/", "/ui/matrix"} {
		b.tabReachesAll(p)
	}

	// as_of before and after an apply.
	before := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	b.open("/ui/matrix?as_of=" + before)
	if m := b.main(); !strings.Contains(m, "no plan had been applied yet") || cell.MatchString(m) {
		t.Errorf("as_of before any apply:\n%s", m)
	}
	file := filepath.Join(dir, "plan.json")
	if code, out, errs := runWard(t, "plan", "-policy", pol, "-db", db, "-out", file); code != 0 {
		t.Fatalf("plan: %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runWard(t, "apply", file, "-auto-approve", "-policy", pol, "-db", db); code != 0 {
		t.Fatalf("apply: %d\n%s%s", code, out, errs)
	}
	after := time.Now().UTC().Add(time.Second).Format(time.RFC3339)
	b.open("/ui/matrix?as_of=" + after)
	m := b.main()
	if !strings.Contains(m, "the policy of plan #") || strings.Count(m, `<a href="/ui/flows?as_of=`) != len(shown) {
		t.Errorf("as_of after the apply: want plan's policy with %d cells:\n%s", len(shown), m)
	}
	b.open("/ui/matrix?as_of=" + before)
	if m := b.main(); !strings.Contains(m, "no plan had been applied yet") {
		t.Errorf("as_of before the apply, after it:\n%s", m)
	}
	// The report's period ends at its generation time truncated to the
	// second, so an apply of this very second is not yet in it (reported
	// to internal/report's owner): wait for the next second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	b.open("/ui/changes")
	if m := b.main(); !strings.Contains(m, "matrix as of then") {
		t.Errorf("changes after the apply:\n%s", m)
	}
}

// TestUIBrowserRecert runs a recertification campaign through the UI in
// Chromium: an administrator starts it with the form; an operator
// re-approves one flow with the mouse and lets another expire with the
// keyboard alone; the campaign's page shows who decided and when; the
// administrator closes it; the campaign pages' links all answer, with
// nothing on the console; Tab reaches every control of the new forms; and
// the report (GET /api/v1/report) carries the decisions.
func TestUIBrowserRecert(t *testing.T) {
	chromiumPath(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	tokens := map[string]string{}
	for _, role := range []string{"viewer", "operator", "admin"} {
		code, out, errs := runWard(t, "token", "create", "-role", role, "-name", "ui-"+role, "-db", db)
		if code != 0 {
			t.Fatal(errs)
		}
		tokens[role] = regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	}
	srv := startServe(t, examplePolicy, db, "-no-enforce")
	getJSON := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+tokens["viewer"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}

	b := newUIBrowser(t, srv.url)
	// 1. An administrator starts a campaign with the form.
	b.signIn(tokens["admin"])
	b.tabReachesAll("/ui/recert")
	b.open("/ui/recert")
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS("#recert-name"), "Browser review"), chromedp.SetValue(chromedp.CSS("#recert-due"), "14d")); err != nil {
		t.Fatal(err)
	}
	if st := b.click(`form[action="/ui/recert"] button`); st != 200 || !strings.Contains(b.main(), "Started: the owners can decide now.") {
		t.Fatalf("start: %d at %s\n%s", st, b.location(), b.main())
	}
	m := regexp.MustCompile(`^/ui/recert/(\d+)\?done=started$`).FindStringSubmatch(b.location())
	if m == nil {
		t.Fatalf("after the start: at %s", b.location())
	}
	id := m[1]
	var camp struct {
		Name      string `json:"name"`
		CreatedBy string `json:"created_by"`
		Items     []struct {
			Flow, Owner, State string
		} `json:"items"`
	}
	getJSON("/api/v1/recert/"+id, &camp)
	if camp.Name != "Browser review" || camp.CreatedBy != "token:ui-admin" || len(camp.Items) < 3 {
		t.Fatalf("the campaign over REST: %+v", camp)
	}
	keep, drop := camp.Items[0].Flow, camp.Items[1].Flow
	b.signOut()

	// 2. An operator decides: re-approves one flow with the mouse, lets
	// another expire with the keyboard alone.
	b.signIn(tokens["operator"])
	campaign := "/ui/recert/" + id
	b.tabReachesAll(campaign)
	b.open(campaign)
	if strings.Contains(b.main(), "Close campaign") {
		t.Error("an operator is offered the close form")
	}
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS("#comment-"+keep), "still needed")); err != nil {
		t.Fatal(err)
	}
	if st := b.click(`tr#flow-` + keep + ` button[value="recertify"]`); st != 200 || !strings.Contains(b.main(), "Recorded: recertified.") {
		t.Errorf("recertify %s: %d at %s", keep, st, b.location())
	}
	// Comment, Tab to "Recertify", Tab to "Let expire", Enter.
	if err := chromedp.Do(b.ctx, chromedp.Focus(chromedp.CSS("#comment-"+drop)), chromedp.KeyEvent("no longer used"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.textContent`)); err != nil || focused != "Let "+drop+" expire" {
		t.Fatalf("two Tabs from the comment of %s reach %q (%v), want its expire button", drop, focused, err)
	}
	resp, err := chromedp.RunResponse(b.ctx, chromedp.KeyEvent(kb.Enter))
	if err != nil || resp.Status != 200 || !strings.Contains(b.main(), "Recorded: let expire.") {
		t.Errorf("let %s expire with the keyboard: %v at %s", drop, err, b.location())
	}
	// Who decided and when, on the campaign's page.
	for flow, want := range map[string]string{keep: "recertified", drop: "expired"} {
		row, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("tr#flow-"+flow)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(row, "<td>"+want+"</td>") || !strings.Contains(row, "<td>token:ui-operator</td>") || !regexp.MustCompile(`<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>`).MatchString(row) {
			t.Errorf("the row of %s does not say %s, by whom and when:\n%s", flow, want, row)
		}
	}
	b.signOut()

	// 3. The administrator closes the campaign.
	b.signIn(tokens["admin"])
	b.tabReachesAll(campaign)
	b.open(campaign)
	if st := b.click(`form[action="/ui/recert/` + id + `/close"] button`); st != 200 || !strings.Contains(b.main(), "Closed. Flows still pending") {
		t.Errorf("close: %d at %s\n%s", st, b.location(), b.main())
	}
	if html := b.main(); !strings.Contains(html, "by token:ui-admin") || strings.Contains(html, "<button type=\"submit\" name=\"decision\"") {
		t.Errorf("the closed campaign's page:\n%s", html)
	}

	// 4. The recertification pages are linked and every link from them
	// answers, with nothing on the console.
	seen, _ := b.walk("/ui/", func(p string) bool { return strings.HasPrefix(p, "/ui/recert") })
	for _, want := range []string{"/ui/recert", campaign} {
		if !seen[want] {
			t.Errorf("%s is not reached from /ui/ (seen %v)", want, seen)
		}
	}
	b.open(campaign)
	for _, l := range b.links() {
		if !seen[l] && b.open(l) != 200 {
			t.Errorf("%s links %s, which does not answer 200", campaign, l)
		}
	}
	if msgs := b.console(); len(msgs) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
	}

	// 5. The report carries the decisions. Its period ends at its
	// generation time truncated to the second: wait for the next second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	var rep struct {
		Recertification []struct {
			ID     uint64 `json:"id"`
			Status string `json:"status"`
			Counts struct {
				Flows, Recertified, Expired int
				NotRecertified              int `json:"not_recertified"`
			} `json:"counts"`
			Expired []struct {
				Flow      string     `json:"flow"`
				DecidedBy string     `json:"decided_by"`
				DecidedAt *time.Time `json:"decided_at"`
				Comment   string     `json:"comment"`
			} `json:"expired"`
			Undecided []struct {
				Flow string `json:"flow"`
			} `json:"undecided"`
		} `json:"recertification"`
	}
	getJSON("/api/v1/report?format=json", &rep)
	if len(rep.Recertification) != 1 || fmt.Sprint(rep.Recertification[0].ID) != id {
		t.Fatalf("the report's recertification: %+v", rep.Recertification)
	}
	rc := rep.Recertification[0]
	if rc.Status != "closed" || rc.Counts.Flows != len(camp.Items) || rc.Counts.Recertified != 1 || rc.Counts.Expired != 1 || rc.Counts.NotRecertified != len(camp.Items)-2 {
		t.Errorf("the report's campaign: %+v", rc)
	}
	if len(rc.Expired) != 1 || rc.Expired[0].Flow != drop || rc.Expired[0].DecidedBy != "token:ui-operator" || rc.Expired[0].DecidedAt == nil || rc.Expired[0].Comment != "no longer used" {
		t.Errorf("the report's expired flows: %+v", rc.Expired)
	}
	for _, u := range rc.Undecided {
		if u.Flow == keep || u.Flow == drop {
			t.Errorf("the report lists decided flow %s as undecided", u.Flow)
		}
	}
}
