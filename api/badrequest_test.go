package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/store"
)

// TestBadRequests: malformed JSON, unknown fields, wrong types, oversized
// bodies, bad parameters and unknown routes each get the error envelope
// with the right status, name the field, and change nothing.
func TestBadRequests(t *testing.T) {
	const maxBody = 4096
	s := newTestServer(t, func(c *api.Config) { c.MaxBody = maxBody; c.MaxImportBody = 8192 })
	admin := s.as(store.RoleAdmin)
	csv := func() http.Header { h := s.as(store.RoleAdmin); h.Set("Content-Type", "text/csv"); return h }
	big := `{"device":"` + strings.Repeat("x", maxBody) + `"}`
	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		code, field              string
		msg                      string
	}{
		{"malformed JSON", "POST", "/api/v1/quarantines", `{"device": "pump-1",`, admin, 400, "invalid_json", "", "malformed JSON"},
		{"malformed JSON, position", "POST", "/api/v1/tokens", "{\n  \"name\": \"x\"\n  \"role\": \"viewer\"}", admin, 400, "invalid_json", "", "line 3"},
		{"not an object", "POST", "/api/v1/quarantines", `["pump-1"]`, admin, 400, "invalid_json", "", "JSON object"},
		{"two objects", "POST", "/api/v1/quarantines", `{"device":"a"}{"device":"b"}`, admin, 400, "invalid_json", "", "after its JSON object"},
		{"empty body", "POST", "/api/v1/quarantines", ``, admin, 400, "invalid_json", "", "empty"},
		{"unknown field", "POST", "/api/v1/quarantines", `{"device":"x","lvl":"isolate"}`, admin, 400, "unknown_field", "lvl", `"lvl"`},
		{"unknown field, apply", "POST", "/api/v1/plans/1/apply", `{"allow_essential":true}`, admin, 400, "unknown_field", "allow_essential", ""},
		{"unknown field, plan", "POST", "/api/v1/plans", `{"target":["core-fw"]}`, admin, 400, "unknown_field", "target", ""},
		{"wrong type, string", "POST", "/api/v1/quarantines", `{"device":42}`, admin, 400, "invalid_field", "device", "must be a string"},
		{"wrong type, bool", "POST", "/api/v1/plans", `{"refresh":"yes"}`, admin, 400, "invalid_field", "refresh", "true or false"},
		{"wrong type, array", "POST", "/api/v1/plans", `{"targets":"core-fw"}`, admin, 400, "invalid_field", "targets", "an array"},
		{"wrong type in array", "POST", "/api/v1/plans", `{"targets":[1]}`, admin, 400, "invalid_field", "targets", ""},
		{"null device", "POST", "/api/v1/quarantines", `{"device":null}`, admin, 400, "invalid_field", "device", "required"},
		{"bad level", "POST", "/api/v1/quarantines", `{"device":"x","level":"quarantine"}`, admin, 400, "invalid_field", "level", "restrict or isolate"},
		{"bad ttl", "POST", "/api/v1/quarantines", `{"device":"x","ttl":"forever"}`, admin, 400, "invalid_field", "ttl", "30m"},
		{"unknown device", "POST", "/api/v1/quarantines", `{"device":"no-such-device"}`, admin, 404, "not_found", "device", "not in the inventory"},
		{"unknown target", "POST", "/api/v1/plans", `{"targets":["core-fw","nope"]}`, admin, 400, "invalid_field", "targets", `targets[1] "nope"`},
		{"bad role", "POST", "/api/v1/tokens", `{"name":"x","role":"root"}`, admin, 400, "invalid_field", "role", "viewer, auditor, operator, admin"},
		{"bad token name", "POST", "/api/v1/tokens", `{"name":"a b","role":"viewer"}`, admin, 400, "invalid_field", "name", "letters"},
		{"token name taken", "POST", "/api/v1/tokens", `{"name":"viewer-token","role":"viewer"}`, admin, 409, "exists", "name", "exists already"},
		{"bad expiry", "POST", "/api/v1/tokens", `{"name":"x","role":"viewer","expires":"-1h"}`, admin, 400, "invalid_field", "expires", ""},
		{"oversized body", "POST", "/api/v1/quarantines", big, admin, 413, "body_too_large", "", "4096 bytes"},
		{"oversized alert", "POST", "/api/v1/alerts", `[` + strings.Repeat(`{"source":"s","id":"1","severity":"low","ip":"10.0.0.1"},`, 100) + `{}]`, bearer(token), 413, "body_too_large", "", ""},
		{"oversized import", "POST", "/api/v1/devices/import", "name,ip,criticality\n" + strings.Repeat("a,10.0.0.1,low\n", 1000), csv(), 413, "body_too_large", "", ""},
		{"bad inventory", "POST", "/api/v1/devices/import?format=csv", "name,ip,criticality\nnew-1,10.0.0.300,low\nnew-2,10.9.9.9,urgent\n", csv(), 400, "invalid_inventory", "ip", "unchanged"},
		{"empty import", "POST", "/api/v1/devices/import", "", csv(), 400, "empty_body", "", ""},
		{"bad import format", "POST", "/api/v1/devices/import?format=xml", "x", csv(), 400, "invalid_query", "format", ""},
		{"limit zero", "GET", "/api/v1/devices?limit=0", "", admin, 400, "invalid_query", "limit", "1 to 1000"},
		{"limit not a number", "GET", "/api/v1/alerts?limit=ten", "", admin, 400, "invalid_query", "limit", ""},
		{"negative offset", "GET", "/api/v1/devices?offset=-1", "", admin, 400, "invalid_query", "offset", ""},
		{"bad boolean", "GET", "/api/v1/quarantines?all=maybe", "", admin, 400, "invalid_query", "all", "true or false"},
		{"bad criticality", "GET", "/api/v1/devices?criticality=urgent", "", admin, 400, "invalid_query", "criticality", ""},
		{"unknown zone filter", "GET", "/api/v1/devices?zone=moon", "", admin, 400, "invalid_query", "zone", ""},
		{"reach without to", "GET", "/api/v1/reach?from=x", "", admin, 400, "invalid_query", "to", "required"},
		{"reach unknown", "GET", "/api/v1/reach?from=nowhere-at-all&to=internet", "", admin, 400, "invalid_query", "", "nowhere-at-all"},
		{"id not a number", "GET", "/api/v1/quarantines/abc", "", admin, 400, "invalid_path", "id", "positive integer"},
		{"id zero", "POST", "/api/v1/plans/0/apply", "{}", admin, 400, "invalid_path", "id", ""},
		{"unknown plan", "GET", "/api/v1/plans/999", "", admin, 404, "not_found", "", "999"},
		{"unknown device", "GET", "/api/v1/devices/no-such-device", "", admin, 404, "not_found", "", "no-such-device"},
		{"unknown zone", "GET", "/api/v1/zones/moon", "", admin, 404, "not_found", "", "moon"},
		{"unknown target", "GET", "/api/v1/targets/nope/drift", "", admin, 404, "not_found", "", "nope"},
		{"unknown token", "DELETE", "/api/v1/tokens/nope", "", admin, 404, "not_found", "", "nope"},
		{"approve nothing pending", "POST", "/api/v1/quarantines/999/approve", "{}", admin, 404, "not_found", "", "#999"},
		{"unknown route", "GET", "/api/v1/devicez", "", admin, 404, "not_found", "", "/api/v1/devicez"},
		{"unknown version", "GET", "/api/v2/devices", "", admin, 404, "not_found", "", ""},
		{"wrong method", "PUT", "/api/v1/devices", "{}", admin, 405, "method_not_allowed", "", "PUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.counts(t)
			r := s.do(t, tc.method, tc.path, []byte(tc.body), tc.header)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			e := r.failure(t)
			if e.Code != tc.code || e.Field != tc.field {
				t.Errorf("code %q field %q, want %q %q: %s", e.Code, e.Field, tc.code, tc.field, r.body)
			}
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message %q does not say %q", e.Message, tc.msg)
			}
			if after := s.counts(t); after != before {
				t.Errorf("a refused request changed the store: %+v -> %+v", before, after)
			}
		})
	}
	t.Run("bad inventory lists every row", func(t *testing.T) {
		h := csv()
		r := s.do(t, "POST", "/api/v1/devices/import?format=csv", []byte("name,ip,criticality\nnew-1,10.0.0.300,low\nnew-2,10.9.9.9,urgent\n"), h)
		e := r.failure(t)
		if len(e.Problems) != 2 || e.Problems[0].Line != 2 || e.Problems[0].Field != "ip" || e.Problems[1].Line != 3 || e.Problems[1].Field != "criticality" {
			t.Errorf("problems %+v", e.Problems)
		}
	})
}

// FuzzAPIJSON posts arbitrary bodies to the JSON routes: whatever the
// body, the answer is never a 5xx, and a refusal is the error envelope.
func FuzzAPIJSON(f *testing.F) {
	s := newTestServer(f, func(c *api.Config) { c.Dial = nil })
	routes := []string{"/api/v1/quarantines", "/api/v1/tokens", "/api/v1/plans/1/apply", "/api/v1/quarantines/1/approve", "/api/v1/plans", "/api/v1/alerts"}
	for _, seed := range []string{`{}`, `{"device":"x"}`, `{"name":"n","role":"viewer","expires":"1d"}`, `{"allow_essential_change":true}`,
		`{"targets":["core-fw"],"refresh":false}`, `{"device":1e400}`, `{"device":"\ud800"}`, "{\"a\":" + strings.Repeat("[", 100), `nul`, `{"comment":null}`,
		`{"source":"siem","id":"1","severity":"high","ip":"10.61.210.12"}`} {
		for i := range routes {
			f.Add(uint8(i), []byte(seed))
		}
	}
	admin := s.as(store.RoleAdmin)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := routes[int(route)%len(routes)]
		if path == "/api/v1/plans" && len(body) > 0 && bytes.Contains(body, []byte("refresh")) {
			return // a valid refresh would dial; Dial is nil, so it is 409 anyway
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		for k, v := range admin {
			req.Header[k] = v
		}
		w := httptest.NewRecorder()
		s.srv.ServeHTTP(w, req)
		if w.Code >= 500 && !(path == "/api/v1/plans/1/apply" && w.Code == 503) {
			t.Fatalf("POST %s %q: status %d: %s", path, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			r := response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
			r.failure(t)
		}
	})
}
