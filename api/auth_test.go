package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
)

// routeCase is one route with a request that succeeds for a role allowed
// to make it.
type routeCase struct {
	method, path string
	body         string
	min          string // weakest role allowed; "" for no token needed
}

// routeCases covers every route of the API but the alert intake, which
// has its own credentials (TestAlertAuth). Each call makes fresh
// resources, so a case may run once per role.
func routeCases(t *testing.T, s *testServer) []func() routeCase {
	ctx := context.Background()
	var dev store.Device
	if err := s.st.DB.Where("removed_at IS NULL AND criticality = ?", "low").Order("name_key").Take(&dev).Error; err != nil {
		t.Fatal(err)
	}
	var n int
	fresh := func(prefix string) string { n++; return fmt.Sprintf("%s-%d", prefix, n) }
	newToken := func() string {
		name := fresh("tmp")
		if _, _, err := s.st.CreateToken(ctx, name, store.RoleViewer, 0, "test"); err != nil {
			t.Fatal(err)
		}
		return name
	}
	newPlan := func() string {
		r := s.do(t, "POST", "/api/v1/plans", []byte(`{}`), s.as(store.RoleOperator))
		var p struct{ ID uint64 }
		if r.status != 201 || json.Unmarshal(r.body, &p) != nil {
			t.Fatalf("plan: %d %s", r.status, r.body)
		}
		return fmt.Sprint(p.ID)
	}
	newQuarantine := func(level string) string {
		// A device not yet quarantined, found by its IP.
		var d store.Device
		if err := s.st.DB.Where("removed_at IS NULL AND criticality = ? AND id NOT IN (SELECT device_id FROM quarantines)", "low").
			Order("name_key").Take(&d).Error; err != nil {
			t.Fatal(err)
		}
		r := s.do(t, "POST", "/api/v1/quarantines", []byte(`{"device":"`+d.Name+`","level":"`+level+`"}`), s.as(store.RoleOperator))
		var out struct{ Quarantine struct{ ID uint64 } }
		if r.status != 201 || json.Unmarshal(r.body, &out) != nil {
			t.Fatalf("quarantine: %d %s", r.status, r.body)
		}
		return fmt.Sprint(out.Quarantine.ID)
	}
	pendingQuarantine := func() string {
		// An infusion pump takes part in essential flows: isolating it
		// restricts it and waits for a person's approval.
		var d store.Device
		if err := s.st.DB.Where("removed_at IS NULL AND class = ? AND id NOT IN (SELECT device_id FROM quarantines)", "infusion_pump").
			Order("name_key").Take(&d).Error; err != nil {
			t.Fatal(err)
		}
		r := s.do(t, "POST", "/api/v1/quarantines", []byte(`{"device":"`+d.Name+`","level":"isolate"}`), s.as(store.RoleOperator))
		var out struct{ Quarantine struct{ ID uint64 } }
		if r.status != 201 || json.Unmarshal(r.body, &out) != nil || !strings.Contains(string(r.body), `"pending_level":"isolate"`) {
			t.Fatalf("pending quarantine: %d %s", r.status, r.body)
		}
		return fmt.Sprint(out.Quarantine.ID)
	}
	var alertID uint64
	if r := s.post(t, "", []byte(`{"source":"siem","id":"AUTH-1","severity":"low","ip":"`+dev.IP+`"}`), bearer(token)); r.status != 202 {
		t.Fatalf("alert: %d %s", r.status, r.body)
	}
	if err := s.st.DB.Model(&store.Alert{}).Select("id").Where("external_id = ?", "AUTH-1").Scan(&alertID).Error; err != nil {
		t.Fatal(err)
	}
	get := func(path, min string) func() routeCase {
		return func() routeCase { return routeCase{method: "GET", path: path, min: min} }
	}
	v, o, a := store.RoleViewer, store.RoleOperator, store.RoleAdmin
	return []func() routeCase{
		get("/healthz", ""), get("/readyz", ""), get("/api/v1/openapi.yaml", ""),
		get("/metrics", v), get("/api/v1/whoami", v),
		get("/api/v1/devices?limit=5", v), get("/api/v1/devices/"+dev.Name, v), get("/api/v1/devices/"+dev.Name+"/effective", v),
		func() routeCase {
			return routeCase{method: "POST", path: "/api/v1/devices/import?format=csv", min: o,
				body: "name,ip,criticality,class\n" + fresh("imported") + ",10.99.0." + fmt.Sprint(n%250+1) + ",low,printer\n"}
		},
		func() routeCase {
			name := fresh("gone")
			if r := s.do(t, "POST", "/api/v1/devices/import?format=csv", []byte("name,ip,criticality\n"+name+",10.98.0."+fmt.Sprint(n%250+1)+",low\n"), s.as(o)); r.status != 200 {
				t.Fatalf("import: %d %s", r.status, r.body)
			}
			return routeCase{method: "DELETE", path: "/api/v1/devices/" + name, min: o}
		},
		get("/api/v1/policy", v),
		func() routeCase { return routeCase{method: "POST", path: "/api/v1/policy/reload", min: a} },
		get("/api/v1/zones", v), get("/api/v1/zones/infusion_pumps", v),
		get("/api/v1/flows", v), get("/api/v1/report", v), get("/api/v1/flows/pumps_to_pump_servers", v),
		get("/api/v1/effective", v), get("/api/v1/reach?from="+dev.Name+"&to=internet&service=https", v),
		get("/api/v1/plans", v),
		func() routeCase { return routeCase{method: "POST", path: "/api/v1/plans", body: `{}`, min: o} },
		func() routeCase { return routeCase{method: "GET", path: "/api/v1/plans/" + newPlan(), min: v} },
		func() routeCase {
			return routeCase{method: "POST", path: "/api/v1/plans/" + newPlan() + "/apply", body: `{"allow_essential_change":true}`, min: a}
		},
		func() routeCase {
			// A run of its own, whatever the applies above left to change.
			pl := store.Plan{Content: "{}", CreatedAt: s.st.Now()}
			if err := s.st.CreatePlan(ctx, &pl); err != nil {
				t.Fatal(err)
			}
			cancelPendingRuns(t, s.st)
			run := store.ApplyRun{PlanID: pl.ID, Status: "running", StartedAt: s.st.Now()}
			finish := func(store.ApplyRun, []store.ApplyTarget) (string, string, store.AuditEntry, error) {
				return "succeeded", "[]", store.AuditEntry{Actor: "test", Action: "apply.finish", Object: "auth matrix"}, nil
			}
			if err := s.st.StartApply(ctx, &run, []store.ApplyTarget{{Target: "core-fw", Status: "not_pushed"}}, nil, finish); err != nil {
				t.Fatal(err)
			}
			return routeCase{method: "GET", path: fmt.Sprintf("/api/v1/applies/%d", run.ID), min: v}
		},
		func() routeCase {
			return routeCase{method: "POST", path: fmt.Sprintf("/api/v1/applies/%d/cancel", pendingApply(t, s.st)), min: a}
		},
		get("/api/v1/quarantines?all=true", v),
		func() routeCase {
			var d store.Device
			if err := s.st.DB.Where("removed_at IS NULL AND criticality = ? AND id NOT IN (SELECT device_id FROM quarantines)", "low").
				Order("name_key DESC").Take(&d).Error; err != nil {
				t.Fatal(err)
			}
			return routeCase{method: "POST", path: "/api/v1/quarantines", body: `{"device":"` + d.Name + `","level":"restrict","ttl":"1h"}`, min: o}
		},
		func() routeCase {
			return routeCase{method: "GET", path: "/api/v1/quarantines/" + newQuarantine("restrict"), min: v}
		},
		func() routeCase {
			return routeCase{method: "GET", path: "/api/v1/quarantines/" + newQuarantine("restrict") + "/timeline", min: v}
		},
		func() routeCase {
			return routeCase{method: "POST", path: "/api/v1/quarantines/" + newQuarantine("restrict") + "/release", min: o}
		},
		func() routeCase {
			return routeCase{method: "POST", path: "/api/v1/quarantines/" + pendingQuarantine() + "/approve", body: `{"comment":"ward checked"}`, min: a}
		},
		func() routeCase {
			return routeCase{method: "POST", path: "/api/v1/quarantines/approve", body: `{"ids":[` + pendingQuarantine() + `],"comment":"ward checked"}`, min: a}
		},
		get("/api/v1/alerts", v), get(fmt.Sprintf("/api/v1/alerts/%d", alertID), v),
		get("/api/v1/audit?limit=10", v), get("/api/v1/audit/verify", v), get("/api/v1/audit/checkpoint", a),
		func() routeCase {
			cp, err := s.st.AuditCheckpoint(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			body, err := json.Marshal(cp)
			if err != nil {
				t.Fatal(err)
			}
			return routeCase{method: "POST", path: "/api/v1/audit/verify", body: string(body), min: v}
		},
		get("/api/v1/targets", v), get("/api/v1/targets/core-fw", v), get("/api/v1/targets/core-fw/drift", v), get("/api/v1/cluster", v),
		get("/api/v1/tokens", a),
		func() routeCase {
			return routeCase{method: "POST", path: "/api/v1/tokens", body: `{"name":"` + fresh("new") + `","role":"viewer","expires":"30d"}`, min: a}
		},
		func() routeCase { return routeCase{method: "DELETE", path: "/api/v1/tokens/" + newToken(), min: a} },
	}
}

// TestAuthMatrix runs each route as each role, without a token, and with
// a revoked and an expired token: a role at least the route's gets its
// answer; a weaker one 403; no token or a dead one 401.
func TestAuthMatrix(t *testing.T) {
	s := newTestServer(t, nil)
	covered := map[string]bool{}
	for _, mk := range append(routeCases(t, s), recertRouteCases(t, s)...) {
		rc := mk()
		route := rc.method + " " + strings.Split(rc.path, "?")[0]
		t.Run(route, func(t *testing.T) {
			for _, who := range []string{"none", "revoked", "expired", store.RoleViewer, store.RoleAuditor, store.RoleOperator, store.RoleAdmin} {
				c := mk() // fresh resources for each caller
				header := http.Header{"Content-Type": {"application/json"}}
				if who != "none" {
					header = s.as(who)
				}
				var body []byte
				if c.body != "" {
					body = []byte(c.body)
				}
				if strings.HasPrefix(c.path, "/api/v1/devices/import") {
					header.Set("Content-Type", "text/csv")
				}
				r := s.do(t, c.method, c.path, body, header)
				var want string
				switch {
				case c.min == "":
					want = "2xx"
				case who == "none" || who == "revoked" || who == "expired":
					want = "401"
				case store.RoleAtLeast(who, c.min):
					want = "2xx"
				default:
					want = "403"
				}
				got := fmt.Sprint(r.status)
				if r.status >= 200 && r.status < 300 {
					got = "2xx"
				}
				if got != want {
					t.Errorf("%s as %s: status %d, want %s: %s", c.method, who, r.status, want, r.body)
					continue
				}
				if want == "401" {
					e := r.failure(t)
					if r.header.Get("WWW-Authenticate") == "" || e.Field != "Authorization" {
						t.Errorf("%s as %s: 401 without challenge or field: %s", c.method, who, r.body)
					}
					if who == "revoked" && !strings.Contains(e.Message, "revoked") || who == "expired" && !strings.Contains(e.Message, "expired") {
						t.Errorf("%s as %s: message %q does not say why", c.method, who, e.Message)
					}
				}
				if want == "403" {
					if e := r.failure(t); e.Code != "forbidden" || !strings.Contains(e.Message, c.min) {
						t.Errorf("%s as %s: %s", c.method, who, r.body)
					}
				}
			}
		})
		covered[route] = true
	}
	// Every route is in the matrix (the alert intake has TestAlertAuth).
	for _, r := range s.srv.Routes() {
		key := r.Method + " " + r.Path
		if r.Path == "/api/v1/alerts" && r.Method == "POST" {
			continue
		}
		found := false
		for c := range covered {
			if routeMatches(c, key) {
				found = true
			}
		}
		if !found {
			t.Errorf("route %s is not in the auth matrix", key)
		}
	}
}

// routeMatches reports whether a concrete "METHOD /path" is an instance of
// a "METHOD /path/{param}" route.
func routeMatches(concrete, route string) bool {
	cp, rp := strings.Split(concrete, "/"), strings.Split(route, "/")
	if len(cp) != len(rp) {
		return false
	}
	for i := range rp {
		if strings.HasPrefix(rp[i], "{") || rp[i] == cp[i] {
			continue
		}
		return false
	}
	return true
}

// TestAlertAuth: the alert intake takes an operator or admin token, the
// alert token, or a signature; a viewer gets 403, a revoked token 401.
func TestAlertAuth(t *testing.T) {
	s := newTestServer(t, nil)
	var ip string
	if err := s.st.DB.Model(&store.Device{}).Where("removed_at IS NULL").Order("id").Limit(1).Pluck("ip", &ip).Error; err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		who    string
		header http.Header
		status int
		actor  string
	}{
		{"viewer", s.as(store.RoleViewer), 403, ""},
		{"operator", s.as(store.RoleOperator), 202, "token:operator-token"},
		{"admin", s.as(store.RoleAdmin), 202, "token:admin-token"},
		{"revoked", s.as("revoked"), 401, ""},
		{"expired", s.as("expired"), 401, ""},
		{"alert token", bearer(token), 202, "alert-token"},
	} {
		id := fmt.Sprintf("AA-%d", i)
		r := s.post(t, "", []byte(`{"source":"siem","id":"`+id+`","severity":"critical","ip":"`+ip+`"}`), tc.header)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.who, r.status, tc.status, r.body)
			continue
		}
		if tc.actor == "" {
			continue
		}
		// The audit log names who delivered an alert that acted.
		var detail string
		s.st.DB.Model(&store.AuditEvent{}).Where("detail LIKE ?", `%"alert_id":"`+id+`"%`).Pluck("detail", &detail)
		if detail != "" && !strings.Contains(detail, `"via":"`+tc.actor+`"`) {
			t.Errorf("%s: audit detail %s does not name %s", tc.who, detail, tc.actor)
		}
	}
}

// TestWritesAuditTokenName: every write through the API records the
// token's name in the audit log.
func TestWritesAuditTokenName(t *testing.T) {
	s := newTestServer(t, nil)
	before := map[uint64]bool{}
	var evs []store.AuditEvent
	s.st.DB.Find(&evs)
	for _, e := range evs {
		before[e.Seq] = true
	}
	for _, mk := range routeCases(t, s) {
		c := mk()
		// POST /audit/verify only reads: its body is a checkpoint to
		// check the log against.
		if c.method == "GET" || c.min == "" || c.path == "/api/v1/audit/verify" {
			continue
		}
		header := s.as(store.RoleAdmin)
		if strings.HasPrefix(c.path, "/api/v1/devices/import") {
			header.Set("Content-Type", "text/csv")
		}
		var seqBefore uint64
		s.st.DB.Model(&store.AuditEvent{}).Select("COALESCE(MAX(seq), 0)").Scan(&seqBefore)
		r := s.do(t, c.method, c.path, []byte(c.body), header)
		if r.status >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
		var after []store.AuditEvent
		s.st.DB.Where("seq > ?", seqBefore).Order("seq").Find(&after)
		if len(after) == 0 {
			t.Errorf("%s %s wrote no audit event", c.method, c.path)
			continue
		}
		for _, e := range after {
			if e.Actor != "token:admin-token" {
				t.Errorf("%s %s: audit event %s by %q, want token:admin-token", c.method, c.path, e.Action, e.Actor)
			}
		}
	}
}

// cancelPendingRuns cancels every apply run still pending (one an earlier
// caller's case left), since no apply starts beside one.
func cancelPendingRuns(t *testing.T, st *store.Store) {
	t.Helper()
	running, err := st.RunningApplies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range running {
		if _, _, err := plan.CancelApply(context.Background(), st, r.RunID, "test"); err != nil {
			t.Fatal(err)
		}
	}
}

// pendingApply records an apply run with one target waiting for its push
// job, for routes that need a run in progress.
func pendingApply(t *testing.T, st *store.Store) uint64 {
	t.Helper()
	ctx := context.Background()
	cancelPendingRuns(t, st)
	pl := store.Plan{Content: "{}", CreatedAt: st.Now()}
	if err := st.CreatePlan(ctx, &pl); err != nil {
		t.Fatal(err)
	}
	// Started by the admin token, as the apply.finish a cancel writes says.
	run := store.ApplyRun{PlanID: pl.ID, Status: "running", Actor: "token:admin-token", StartedAt: st.Now()}
	finish := func(r store.ApplyRun, _ []store.ApplyTarget) (string, string, store.AuditEntry, error) {
		return "failed", "[]", store.AuditEntry{Actor: r.Actor, Action: "apply.finish", Object: fmt.Sprintf("apply run %d", r.ID)}, nil
	}
	job := func(id uint64, t store.ApplyTarget) store.Job {
		return store.Job{Kind: plan.ApplyJobKind, Target: t.Target, Key: fmt.Sprintf("apply:%d:%s", id, t.Target), RunAt: st.Now().Add(time.Hour)}
	}
	if err := st.StartApply(ctx, &run, []store.ApplyTarget{{Target: "core-fw", Plan: "{}"}}, job, finish); err != nil {
		t.Fatal(err)
	}
	return run.ID
}
