package main

import (
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "regenerate docs/ui-dashboard.png (the README's screenshot of the UI dashboard)")

// screenshotPath is the README's picture of the dashboard.
const screenshotPath = "../../docs/ui-dashboard.png"

// TestUIScreenshot regenerates the README's screenshot of the dashboard:
// ward serve with the example hospital (a drift check recorded, two
// quarantines), an auditor signed in through the form, the page at
// 1280×800 in a real Chromium. Skipped unless asked for:
//
//	go test ./cmd/ward -run TestUIScreenshot -update-screenshot
func TestUIScreenshot(t *testing.T) {
	if !*updateScreenshot {
		t.Skip("regenerates docs/ui-dashboard.png only with -update-screenshot")
	}
	chromiumPath(t)
	dir := t.TempDir()
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(dir, "credentials"))
	t.Setenv("WARD_AUDIT_KEY", "")
	t.Setenv("WARD_ACTOR", "nightly-drift-check")
	db := "sqlite://" + filepath.Join(dir, "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	tokens := map[string]string{}
	for _, role := range []string{"auditor", "operator"} {
		code, out, errs := runWard(t, "token", "create", "-role", role, "-name", "readme-"+role, "-db", db)
		if code != 0 {
			t.Fatal(errs)
		}
		tokens[role] = regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	}
	// No target was applied, so the check contacts none; it is recorded.
	if code, out, errs := runWard(t, "drift", "-policy", examplePolicy, "-db", db); code != 0 {
		t.Fatalf("ward drift: %d\n%s%s", code, out, errs)
	}
	srv := startServe(t, examplePolicy, db, "-no-enforce")
	for _, dev := range []string{"lbl-icu-01", "pump-3w-01"} {
		req, _ := http.NewRequest("POST", srv.url+"/api/v1/quarantines", strings.NewReader(`{"device":"`+dev+`","level":"isolate","reason":"IDS alert (README example)"}`))
		req.Header.Set("Authorization", "Bearer "+tokens["operator"])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("quarantine %s: %d %s", dev, resp.StatusCode, body)
		}
	}

	b := newUIBrowser(t, srv.url)
	b.signIn(tokens["auditor"])
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	if st := b.open("/ui/"); st != 200 {
		t.Fatalf("dashboard: %d", st)
	}
	if !strings.Contains(b.main(), "never_applied, checked") {
		t.Fatalf("the dashboard does not show the recorded drift check:\n%s", b.main())
	}
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", screenshotPath, len(png))
}
