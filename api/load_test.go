package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/store"
)

// loadResult is what a load run did to one route.
type loadResult struct {
	requests  int
	failures  []string // transport errors and unexpected statuses, first few
	nFailures int
	latencies []time.Duration
}

func (r *loadResult) fail(msg string) {
	r.nFailures++
	if len(r.failures) < 5 {
		r.failures = append(r.failures, msg)
	}
}

// p returns the q-quantile of the latencies.
func (r *loadResult) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// runLoad runs clients concurrent clients for d against a test server on
// loopback: even clients GET /api/v1/devices/{name} (each its own device),
// odd clients POST alerts, each with its own operator token and
// increasing IDs. It returns the results by route and the IDs of the
// alerts accepted.
func runLoad(tb testing.TB, s *testServer, clients int, d time.Duration) (get, post *loadResult, accepted int) {
	tb.Helper()
	ctx := context.Background()
	var devs []store.Device
	if err := s.st.DB.Where("removed_at IS NULL").Order("name_key").Limit(clients).Find(&devs).Error; err != nil || len(devs) < clients/2 {
		tb.Fatalf("devices: %v", err)
	}
	tokens := make([]string, clients)
	for i := 1; i < clients; i += 2 {
		var err error
		if tokens[i], _, err = s.st.CreateToken(ctx, fmt.Sprintf("load-%d-%d", time.Now().UnixNano(), i), store.RoleOperator, 0, "test"); err != nil {
			tb.Fatal(err)
		}
	}
	viewer := s.tokens[store.RoleViewer]
	get, post = &loadResult{}, &loadResult{}
	var mu sync.Mutex
	var acceptedN atomic.Int64
	deadline := time.Now().Add(d)
	run := fmt.Sprint(time.Now().UnixNano())
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			local := &loadResult{}
			for n := 0; time.Now().Before(deadline); n++ {
				var req *http.Request
				if c%2 == 0 {
					req, _ = http.NewRequest("GET", s.url+"/api/v1/devices/"+devs[c/2].Name, nil)
					req.Header.Set("Authorization", "Bearer "+viewer)
				} else {
					body := fmt.Sprintf(`{"source":"load-%d","id":"%s-%d","severity":"info","ip":%q,"signature":"load test"}`, c, run, n, devs[c%len(devs)].IP)
					req, _ = http.NewRequest("POST", s.url+"/api/v1/alerts", bytes.NewReader([]byte(body)))
					req.Header.Set("Authorization", "Bearer "+tokens[c])
					req.Header.Set("Content-Type", "application/json")
				}
				start := time.Now()
				resp, err := s.cli.Do(req)
				lat := time.Since(start)
				local.requests++
				if err != nil {
					local.fail(err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := http.StatusOK
				if c%2 == 1 {
					want = http.StatusAccepted
				}
				if resp.StatusCode != want {
					local.fail(fmt.Sprintf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b))
					continue
				}
				if c%2 == 1 {
					acceptedN.Add(1)
				}
				local.latencies = append(local.latencies, lat)
			}
			mu.Lock()
			defer mu.Unlock()
			into := get
			if c%2 == 1 {
				into = post
			}
			into.requests += local.requests
			into.nFailures += local.nFailures
			for _, f := range local.failures {
				if len(into.failures) < 5 {
					into.failures = append(into.failures, f)
				}
			}
			into.latencies = append(into.latencies, local.latencies...)
		})
	}
	wg.Wait()
	return get, post, int(acceptedN.Load())
}

// TestLoad: 50 concurrent clients for 10 s on loopback, half reading a
// device, half posting alerts. No request fails, and every alert accepted
// is recorded exactly once (no lost alert, no double).
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s load test; not in -short")
	}
	// Each alert client is its own sender; the per-sender limit is set
	// above what one client on loopback sends, as a deployment would for
	// a busy SIEM.
	s := newTestServer(t, func(c *api.Config) { c.AlertRate = 100000; c.AlertBurst = 100000 })
	var before int64
	s.st.DB.Model(&store.Alert{}).Count(&before)
	get, post, accepted := runLoad(t, s, 50, 10*time.Second)
	for name, r := range map[string]*loadResult{"GET /api/v1/devices/{name}": get, "POST /api/v1/alerts": post} {
		if r.nFailures > 0 {
			t.Errorf("%s: %d of %d requests failed, e.g. %q", name, r.nFailures, r.requests, r.failures)
		}
		if r.requests < 25 {
			t.Errorf("%s: only %d requests in 10 s", name, r.requests)
		}
		t.Logf("%s: %d requests, p50 %s, p99 %s", name, r.requests, r.p(0.5), r.p(0.99))
	}
	var after int64
	s.st.DB.Model(&store.Alert{}).Count(&after)
	if int(after-before) != accepted {
		t.Errorf("%d alerts accepted, %d recorded", accepted, after-before)
	}
	var dups int64
	s.st.DB.Raw(`SELECT COUNT(*) FROM (SELECT source, external_id FROM alerts GROUP BY source, external_id HAVING COUNT(*) > 1) d`).Scan(&dups)
	if dups != 0 {
		t.Errorf("%d alerts recorded twice", dups)
	}
}

// BenchmarkAPILoad reports requests a second and p50/p99 latency of
// GET /api/v1/devices/{name} and POST /api/v1/alerts under 50 concurrent
// clients on loopback for 10 s (SQLite store, enforcement off).
func BenchmarkAPILoad(b *testing.B) {
	s := newTestServer(b, func(c *api.Config) { c.AlertRate = 100000; c.AlertBurst = 100000 })
	const d = 10 * time.Second
	for b.Loop() {
		get, post, _ := runLoad(b, s, 50, d)
		for name, r := range map[string]*loadResult{"get": get, "post": post} {
			if r.nFailures > 0 {
				b.Fatalf("%s: %d failures: %q", name, r.nFailures, r.failures)
			}
			b.ReportMetric(float64(len(r.latencies))/d.Seconds(), name+"_req/s")
			b.ReportMetric(float64(r.p(0.5).Microseconds())/1000, name+"_p50_ms")
			b.ReportMetric(float64(r.p(0.99).Microseconds())/1000, name+"_p99_ms")
		}
	}
}
