package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/testenv"
	"github.com/wardnet/ward/policy"
)

// reportServer serves getReport alone, over the example hospital, on an
// engine of its own: the handler is tested here whatever route the server
// mounts it on (GET /api/v1/report, viewer role).
func reportServer(t *testing.T) *httptest.Server {
	t.Helper()
	hs, _ := reportServerAndAPI(t)
	return hs
}

func reportServerAndAPI(t *testing.T) (*httptest.Server, *Server) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ward.db"), store.WithAuditKey([]byte("api report tests: an audit key, 32+ bytes")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := inventory.ImportFile(ctx, st, "../examples/hospital/inventory.csv", inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	reg := &drivers.Registry{}
	both := []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}
	for _, name := range []string{"linux_nftables", "openvswitch", "cisco_iosxe", "arista_eos", "juniper_junos"} {
		reg.Register(drivers.Info{Name: name, Roles: both}) // names only: no intended configuration
	}
	cfg, diags := policy.NewParser(policy.WithDrivers(reg.RolesByName())).LoadDir("../examples/hospital/policy")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := New(Config{Store: st, Policy: inforce.New(cfg, nil, nil), PolicyDir: "../examples/hospital/policy", Drivers: reg})
	e := gin.New()
	e.GET("/report", s.getReport)
	hs := httptest.NewServer(e)
	t.Cleanup(hs.Close)
	return hs, s
}

func TestReportEndpoint(t *testing.T) {
	hs := reportServer(t)

	resp, err := http.Get(hs.URL + "/report")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		FormatVersion string `json:"format_version"`
		Zones         []any  `json:"zones"`
		Summary       struct {
			Devices int `json:"devices"`
		} `json:"summary"`
	}
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || r.FormatVersion != "1" || len(r.Zones) == 0 || r.Summary.Devices != 432 {
		t.Fatalf("GET /report: %d %v %+v", resp.StatusCode, err, r)
	}
	if resp.Header.Get("X-Ward-Report-SHA256") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", resp.Header)
	}

	resp, err = http.Get(hs.URL + "/report?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(rows) < 2 || rows[0][0] != "flow" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %v %v", err, rows)
	}

	for query, want := range map[string]int{
		"?format=html":            200,
		"?format=xml":             400,
		"?as_of=last+week":        400,
		"?as_of=2026-01-01":       200,
		"?since=2026-01-01":       200,
		"?since=2099-01-01":       422, // after the end of the period
		"?since=2026-01-01T00:00": 400,
	} {
		resp, err := http.Get(hs.URL + "/report" + query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /report%s: %d, want %d", query, resp.StatusCode, want)
		}
	}
}

// TestReportPDF: format=pdf prints the HTML report with the real
// Chromium (a PDF, with its digest); without Chromium on PATH it is a 503
// naming Chromium and how to install it.
func TestReportPDF(t *testing.T) {
	hs, s := reportServerAndAPI(t)
	t.Run("chromium", func(t *testing.T) {
		if _, err := report.Chromium(); err != nil {
			testenv.Unavailable(t, "Chromium is not installed (make deps installs Debian's chromium)")
		}
		resp, err := http.Get(hs.URL + "/report?format=pdf")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) {
			t.Fatalf("GET /report?format=pdf: %d %s, body starts %q; want 200 application/pdf starting %%PDF-",
				resp.StatusCode, resp.Header.Get("Content-Type"), body[:min(len(body), 200)])
		}
		sum := sha256.Sum256(body)
		if got := resp.Header.Get("X-Ward-Report-SHA256"); got != hex.EncodeToString(sum[:]) {
			t.Errorf("X-Ward-Report-SHA256 %s is not the body's digest", got)
		}
	})
	t.Run("busy", func(t *testing.T) {
		if _, err := report.Chromium(); err != nil {
			testenv.Unavailable(t, "Chromium is not installed (make deps installs Debian's chromium)")
		}
		// Every slot taken by PDFs in flight: the next is refused at once.
		for range cap(s.pdfSlots) {
			s.pdfSlots <- struct{}{}
		}
		defer func() {
			for range cap(s.pdfSlots) {
				<-s.pdfSlots
			}
		}()
		resp, err := http.Get(hs.URL + "/report?format=pdf")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e ErrorBody
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusTooManyRequests || e.Error.Code != "busy" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("with every PDF slot taken: %d %+v (Retry-After %q); want 429 busy with Retry-After", resp.StatusCode, e.Error, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("no chromium", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir()) // an empty PATH: no browser
		resp, err := http.Get(hs.URL + "/report?format=pdf")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e ErrorBody
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable || e.Error.Code != "pdf_unavailable" ||
			!strings.Contains(e.Error.Message, "chromium") || !strings.Contains(e.Error.Message, "install") {
			t.Errorf("without Chromium: %d %+v; want 503 pdf_unavailable naming chromium and how to install it", resp.StatusCode, e.Error)
		}
	})
}
