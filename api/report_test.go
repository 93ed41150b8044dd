package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// reportServer serves getReport alone, over the example hospital, on an
// engine of its own: the handler is tested here whatever route the server
// mounts it on (GET /api/v1/report, viewer role).
func reportServer(t *testing.T) *httptest.Server {
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
	return hs
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
		"?format=pdf":             400,
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
