package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/scenario"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/web"
	"github.com/wardnet/ward/policy"
)

// BenchmarkMatrixPage100Zones100kDevices serves /ui/matrix for the scenario
// of Ward's benchmarks (internal/scenario): 100 zones, 1,000 flows, 50
// switches, 100,000 devices in the store. The first request evaluates the
// policy (cached, as the API does); each iteration is one page: the
// report's evidence built and the 100 x 100 table rendered. Target: under
// 300 ms per page.
//
//	go test -run '^$' -bench MatrixPage -benchtime 5x ./internal/web/
func BenchmarkMatrixPage100Zones100kDevices(b *testing.B) {
	ctx := context.Background()
	src, devices := scenario.Generate(scenario.Scale{Zones: 100, Flows: 1000, Switches: 50, Devices: 100_000})
	roles := map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"}}
	cfg, diags := policy.NewParser(policy.WithDrivers(roles)).Load(policy.Source{Filename: "generated.hcl", Bytes: src})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "ward.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := inventory.Import(ctx, st, devices, inventory.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	token, _, err := st.CreateToken(ctx, "bench", store.RoleAuditor, 0, "bench")
	if err != nil {
		b.Fatal(err)
	}
	h, err := web.New(web.Config{Store: st, Policy: inforce.New(cfg, nil, nil)})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(hs.URL+"/ui/login", url.Values{"token": {token}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign-in: %v %v", err, resp)
	}
	resp.Body.Close()
	get := func() string {
		resp, err := c.Get(hs.URL + "/ui/matrix")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var sb bytes.Buffer
		if _, err := sb.ReadFrom(resp.Body); err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET /ui/matrix: %d %v", resp.StatusCode, err)
		}
		return sb.String()
	}
	if body := get(); strings.Count(body, `<th scope="col">`) < 101 {
		b.Fatalf("the matrix has fewer than 100 columns")
	}
	b.ResetTimer()
	for b.Loop() {
		get()
	}
}
