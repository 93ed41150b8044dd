package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// TestOpenAPIConformance holds openapi.yaml to what the server does: the
// document is valid OpenAPI 3.1, its routes are exactly the server's, and
// every request below (each route's success and its main failures) is
// validated against it, with its answer — status, headers and body.
func TestOpenAPIConformance(t *testing.T) {
	doc := oaLoad(t)
	oaCheckRoles(t, doc)

	s := newTestServer(t, nil)
	oaCheckRoutes(t, doc, s.srv.Routes())

	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("building the router: %v", err)
	}
	rec := &oaRecorder{seen: map[oaSeen]int{}}
	c := oaNewClient(t, s, doc, router, rec)

	t.Run("auth", func(t *testing.T) { oaAuthSweep(t, c, doc) })
	t.Run("system", func(t *testing.T) { oaSystem(t, c) })
	t.Run("tokens", func(t *testing.T) { oaTokens(t, c) })
	t.Run("policy", func(t *testing.T) { oaPolicy(t, c) })
	t.Run("plans", func(t *testing.T) { oaPlans(t, c) })
	t.Run("quarantines", func(t *testing.T) { oaQuarantines(t, c) })
	t.Run("alerts", func(t *testing.T) { oaAlerts(t, c) })
	t.Run("oversized bodies", func(t *testing.T) { oaOversized(t, c) })
	t.Run("devices", func(t *testing.T) { oaDevices(t, c) })
	t.Run("audit and targets", func(t *testing.T) { oaAuditTargets(t, c) })
	t.Run("recert", func(t *testing.T) { oaRecert(t, c) })

	// A server without a policy, whose policy directory is broken until
	// fixed is set, and without access to targets: the 503, 422 and 409
	// answers the example server cannot give.
	var fixed atomic.Bool
	broken := oaBrokenPolicy(t)
	s2 := newTestServer(t, func(cfg *api.Config) {
		reg := cfg.Drivers
		cfg.Dial = nil
		cfg.Policy = inforce.New(nil, func() (*policy.Config, hcl.Diagnostics) {
			dir := broken
			if fixed.Load() {
				dir = examplePolicy
			}
			return policy.NewParser(policy.WithDrivers(reg.RolesByName())).LoadDir(dir)
		}, nil)
	})
	c2 := oaNewClient(t, s2, doc, router, rec)
	t.Run("no policy", func(t *testing.T) { oaNoPolicy(t, c2, &fixed) })

	var missing []string
	for _, r := range oaSpecRoutes(doc) {
		if !rec.succeeded(r.Method, r.Path) {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	if len(missing) > 0 {
		t.Errorf("routes never answered with a 2xx: %s", strings.Join(missing, ", "))
	}
	if testing.Verbose() {
		t.Logf("exercised (method, route, status): %s", rec.String())
		for _, u := range oaUnexercised(doc, rec) {
			t.Logf("documented, not exercised: %s", u)
		}
	}
}

// oaLoad loads and validates the embedded document.
func oaLoad(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("loading openapi.yaml: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.yaml is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	return doc
}

// oaSpecRoutes lists the document's operations as routes.
func oaSpecRoutes(doc *openapi3.T) []api.Route {
	var out []api.Route
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, api.Route{Method: method, Path: path})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// oaCheckRoutes compares the document's routes with the server's, both
// ways.
func oaCheckRoutes(t *testing.T, doc *openapi3.T, served []api.Route) {
	t.Helper()
	inSpec := map[api.Route]bool{}
	for _, r := range oaSpecRoutes(doc) {
		inSpec[r] = true
	}
	inServer := map[api.Route]bool{}
	for _, r := range served {
		inServer[r] = true
		if !inSpec[r] {
			t.Errorf("route %s %s is served but not in openapi.yaml", r.Method, r.Path)
		}
	}
	for r := range inSpec {
		if !inServer[r] {
			t.Errorf("route %s %s is in openapi.yaml but not served", r.Method, r.Path)
		}
	}
}

// oaCheckRoles checks that every operation has an operationId, a summary
// and a tag, and that those needing a token name the role, in x-ward-role
// and in words, and the others none.
func oaCheckRoles(t *testing.T, doc *openapi3.T) {
	t.Helper()
	ids := map[string]bool{}
	for _, r := range oaSpecRoutes(doc) {
		op := doc.Paths.Value(r.Path).GetOperation(r.Method)
		name := r.Method + " " + r.Path
		if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
			t.Errorf("%s: needs an operationId, a summary and a tag", name)
		}
		if ids[op.OperationID] {
			t.Errorf("%s: operationId %q is used twice", name, op.OperationID)
		}
		ids[op.OperationID] = true
		role, _ := op.Extensions["x-ward-role"].(string)
		if len(oaSecurity(doc, op)) == 0 {
			if role != "" {
				t.Errorf("%s: needs no token but has x-ward-role %q", name, role)
			}
			continue
		}
		if !slices.Contains(store.Roles(), role) {
			t.Errorf("%s: x-ward-role %q, want one of %v", name, role, store.Roles())
			continue
		}
		if !strings.Contains(op.Description, "**"+role+"**") {
			t.Errorf("%s: the description does not name the %s role", name, role)
		}
		for _, status := range []string{"401", "500", "503"} {
			if op.Responses.Value(status) == nil {
				t.Errorf("%s: needs a token but documents no %s", name, status)
			}
		}
		if role != store.RoleViewer && op.Responses.Value("403") == nil {
			t.Errorf("%s: needs the %s role but documents no 403", name, role)
		}
	}
}

// oaSecurity is the operation's security requirements, or the document's.
func oaSecurity(doc *openapi3.T, op *openapi3.Operation) openapi3.SecurityRequirements {
	if op.Security != nil {
		return *op.Security
	}
	return doc.Security
}

// oaSeen is an answer of a route.
type oaSeen struct {
	method, route string
	status        int
}

// oaRecorder counts the answers of each route.
type oaRecorder struct {
	mu   sync.Mutex
	seen map[oaSeen]int
}

func (r *oaRecorder) add(method, route string, status int) {
	r.mu.Lock()
	r.seen[oaSeen{method, route, status}]++
	r.mu.Unlock()
}

func (r *oaRecorder) succeeded(method, route string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.seen {
		if k.method == method && k.route == route && k.status >= 200 && k.status < 300 {
			return true
		}
	}
	return false
}

func (r *oaRecorder) has(method, route string, status int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[oaSeen{method, route, status}] > 0
}

func (r *oaRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, n := range r.seen {
		out = append(out, fmt.Sprintf("%s %s %d (x%d)", k.method, k.route, k.status, n))
	}
	sort.Strings(out)
	return "\n\t" + strings.Join(out, "\n\t")
}

// oaUnexercised lists the documented answers no request produced.
func oaUnexercised(doc *openapi3.T, rec *oaRecorder) []string {
	var out []string
	for _, r := range oaSpecRoutes(doc) {
		op := doc.Paths.Value(r.Path).GetOperation(r.Method)
		for code := range op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err == nil && !rec.has(r.Method, r.Path, status) {
				out = append(out, fmt.Sprintf("%s %s %d", r.Method, r.Path, status))
			}
		}
	}
	sort.Strings(out)
	return out
}

// oaMode says how a request stands with the document.
type oaMode int

const (
	// oaValid is a request the document allows: it is validated.
	oaValid oaMode = iota
	// oaInvalid is a request deliberately off the document (a bad body,
	// query or path parameter): it is not validated, its answer is.
	oaInvalid
	// oaNoRoute is a path or method the document does not have: its
	// answer must be the error envelope.
	oaNoRoute
)

type oaModeKey struct{}

// oaTransport validates every request it carries, and every answer, with
// openapi3filter.
type oaTransport struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	base   http.RoundTripper
	rec    *oaRecorder
}

func (tr *oaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t := tr.t
	mode, _ := req.Context().Value(oaModeKey{}).(oaMode)
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	fresh := func(r *http.Request) *http.Request {
		c := r.Clone(r.Context())
		c.Body = io.NopCloser(bytes.NewReader(body))
		c.ContentLength = int64(len(body))
		c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		return c
	}
	name := req.Method + " " + req.URL.RequestURI()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}

	vreq := fresh(req)
	route, params, err := tr.router.FindRoute(vreq)
	if err != nil && mode != oaNoRoute {
		t.Errorf("%s: not a route of openapi.yaml: %v", name, err)
	}
	if err == nil && mode == oaNoRoute {
		t.Errorf("%s: is a route of openapi.yaml (%s), the test expected none", name, route.Path)
	}
	var in *openapi3filter.RequestValidationInput
	if route != nil {
		in = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
		if mode == oaValid {
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				t.Errorf("%s: the request does not match openapi.yaml: %v", name, err)
			}
		}
	}

	resp, err := tr.base.RoundTrip(fresh(req))
	if err != nil {
		return nil, err
	}
	rbody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(rbody))

	if resp.StatusCode >= 400 {
		oaCheckEnvelope(t, name, resp.StatusCode, resp.Header, rbody)
	}
	if route == nil {
		var v any
		if err := json.Unmarshal(rbody, &v); err != nil {
			t.Errorf("%s: status %d, body is not JSON: %v: %s", name, resp.StatusCode, err, rbody)
		} else if err := tr.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s: status %d, body is not the Error schema: %v", name, resp.StatusCode, err)
		}
		if resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", name)
		}
		return resp, nil
	}
	tr.rec.add(req.Method, route.Path, resp.StatusCode)
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(rbody)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		t.Errorf("%s: status %d does not match openapi.yaml: %v\nbody: %.2000s", name, resp.StatusCode, err, rbody)
	}
	return resp, nil
}

// oaCheckEnvelope checks what the schema cannot: the envelope's status is
// the HTTP status, and a 401 has its challenge.
func oaCheckEnvelope(t *testing.T, name string, status int, h http.Header, body []byte) {
	t.Helper()
	var env struct {
		Error struct {
			Status int `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error.Status != status {
		t.Errorf("%s: status %d, envelope status %d (%v): %s", name, status, env.Error.Status, err, body)
	}
	if status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		t.Errorf("%s: 401 without WWW-Authenticate", name)
	}
}

// oaClient sends requests to a test server through oaTransport.
type oaClient struct {
	s   *testServer
	cli *http.Client
}

func oaNewClient(t *testing.T, s *testServer, doc *openapi3.T, router routers.Router, rec *oaRecorder) *oaClient {
	tr := &oaTransport{t: t, doc: doc, router: router, base: s.cli.Transport, rec: rec}
	return &oaClient{s: s, cli: &http.Client{Transport: tr}}
}

// oaResp is an answer, read whole.
type oaResp struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the answer's JSON body into v.
func (r oaResp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// code is the error envelope's code.
func (r oaResp) code() string {
	var env api.ErrorBody
	_ = json.Unmarshal(r.body, &env)
	return env.Error.Code
}

// call sends a request; body is []byte, string or a value sent as JSON;
// header nil means no token.
func (c *oaClient) call(t *testing.T, mode oaMode, method, path string, body any, header http.Header) oaResp {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.WithValue(context.Background(), oaModeKey{}, mode)
	req, err := http.NewRequestWithContext(ctx, method, c.s.url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" && len(b) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cli.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return oaResp{status: resp.StatusCode, header: resp.Header, body: rb}
}

// want sends a request and fails the test unless it is answered with
// status.
func (c *oaClient) want(t *testing.T, status int, mode oaMode, method, path string, body any, header http.Header) oaResp {
	t.Helper()
	r := c.call(t, mode, method, path, body, header)
	if r.status != status {
		t.Fatalf("%s %s: status %d, want %d: %.1000s", method, path, r.status, status, r.body)
	}
	return r
}

// as is the header of a request with the token of role ("" for none).
func (c *oaClient) as(role string) http.Header {
	if role == "" {
		return http.Header{}
	}
	return c.s.as(role)
}

// oaSample is a request an operation accepts, but for its credentials.
type oaSample struct {
	query  string
	body   string
	header http.Header
}

// oaSamples are valid requests for the operations whose schema needs a
// body or a query parameter.
var oaSamples = map[string]oaSample{
	"POST /api/v1/devices/import":        {query: "?format=csv", body: "name,ip,criticality\nx,10.97.0.1,low\n", header: http.Header{"Content-Type": {"text/csv"}}},
	"GET /api/v1/reach":                  {query: "?from=a&to=b"},
	"POST /api/v1/quarantines":           {body: `{"device":"x"}`},
	"POST /api/v1/quarantines/approve":   {body: `{"ids":[999999]}`},
	"POST /api/v1/alerts":                {body: `{"source":"siem","id":"AUTH","severity":"low","ip":"10.97.0.1"}`},
	"POST /api/v1/tokens":                {body: `{"name":"x","role":"viewer"}`},
	"POST /api/v1/plans":                 {body: `{}`},
	"POST /api/v1/plans/{id}/apply":      {body: `{}`},
	"POST /api/v1/recert/{id}/decisions": {body: `{"flow":"x","decision":"recertify"}`},
	"POST /api/v1/recert":                {body: `{"due":"30d"}`},
	"POST /api/v1/audit/verify": {body: `{"format":"ward-audit-checkpoint/1","seq":1,"hash":"00","at":"2026-01-01T00:00:00Z","events":1,` +
		`"taken":"2026-01-01T00:00:00Z","key_id":"0000000000000000","mac":"00"}`},
}

// oaAuthSweep sends each operation that needs a token with none, a
// revoked and an expired one, and with each role weaker than its
// x-ward-role: 401, 401, 401 and 403. None of them reaches a handler.
func oaAuthSweep(t *testing.T, c *oaClient, doc *openapi3.T) {
	for _, r := range oaSpecRoutes(doc) {
		op := doc.Paths.Value(r.Path).GetOperation(r.Method)
		if len(oaSecurity(doc, op)) == 0 {
			continue
		}
		key := r.Method + " " + r.Path
		sample := oaSamples[key]
		path := strings.NewReplacer("{name}", "x", "{id}", "1").Replace(r.Path) + sample.query
		with := func(h http.Header) http.Header {
			out := h.Clone()
			for k, v := range sample.header {
				out[k] = v
			}
			return out
		}
		var body any
		if sample.body != "" {
			body = sample.body
		}
		for _, who := range []string{"", "revoked", "expired"} {
			r := c.want(t, http.StatusUnauthorized, oaValid, r.Method, path, body, with(c.as(who)))
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="ward"` {
				t.Errorf("%s as %q: WWW-Authenticate %q", key, who, got)
			}
		}
		h := with(c.as(""))
		h.Set("Authorization", "Bearer ward_not-a-token")
		c.want(t, http.StatusUnauthorized, oaValid, r.Method, path, body, h)

		role, _ := op.Extensions["x-ward-role"].(string)
		for _, weaker := range store.Roles()[:slices.Index(store.Roles(), role)] {
			if got := c.want(t, http.StatusForbidden, oaValid, r.Method, path, body, with(c.as(weaker))); got.code() != "forbidden" {
				t.Errorf("%s as %s: code %q, want forbidden", key, weaker, got.code())
			}
		}

		// The role x-ward-role names is admitted. The request is made to
		// fail after that (a bad body, an unknown name or ID), so it
		// changes nothing.
		mode, bad := oaValid, any(nil)
		if op.RequestBody != nil {
			mode, bad = oaInvalid, `{"oa-unknown-field":true}`
			if r.Path == "/api/v1/devices/import" {
				bad = ""
			}
		}
		if got := c.call(t, mode, r.Method, strings.NewReplacer("{name}", "oa-none", "{id}", "999999").Replace(r.Path)+sample.query, bad, with(c.as(role))); got.status == http.StatusUnauthorized || got.status == http.StatusForbidden {
			t.Errorf("%s as %s (its x-ward-role): %d %s", key, role, got.status, got.body)
		}
	}
}

// oaSystem covers the routes at the root, whoami and the answers of no
// route.
func oaSystem(t *testing.T, c *oaClient) {
	c.want(t, 200, oaValid, "GET", "/healthz", nil, nil)
	c.want(t, 200, oaValid, "GET", "/readyz", nil, nil)
	r := c.want(t, 200, oaValid, "GET", "/api/v1/openapi.yaml", nil, nil)
	if !bytes.Equal(r.body, api.OpenAPI) {
		t.Errorf("GET /api/v1/openapi.yaml is not the embedded document")
	}
	r = c.want(t, 200, oaValid, "GET", "/metrics", nil, c.as(store.RoleViewer))
	if !strings.Contains(string(r.body), "ward_http_requests_total") {
		t.Errorf("/metrics without ward_http_requests_total: %.300s", r.body)
	}
	var who api.WhoAmI
	c.want(t, 200, oaValid, "GET", "/api/v1/whoami", nil, c.as(store.RoleOperator)).decode(t, &who)
	if who.Role != store.RoleOperator {
		t.Errorf("whoami: %+v", who)
	}

	c.want(t, 404, oaNoRoute, "GET", "/api/v1/nothing", nil, c.as(store.RoleAdmin))
	c.want(t, 404, oaNoRoute, "POST", "/api/v2/alerts", nil, c.as(store.RoleAdmin))
	c.want(t, 405, oaNoRoute, "PUT", "/api/v1/alerts", nil, c.as(store.RoleAdmin))
	c.want(t, 405, oaNoRoute, "PATCH", "/api/v1/devices/x", nil, c.as(store.RoleAdmin))
}

func oaTokens(t *testing.T, c *oaClient) {
	admin := c.as(store.RoleAdmin)
	var list []api.Token
	c.want(t, 200, oaValid, "GET", "/api/v1/tokens", nil, admin).decode(t, &list)
	if len(list) < 5 {
		t.Errorf("tokens: %d, want the test server's 5", len(list))
	}
	var tok api.NewToken
	c.want(t, 201, oaValid, "POST", "/api/v1/tokens", `{"name":"grafana","role":"viewer","expires":"30d"}`, admin).decode(t, &tok)
	if tok.ExpiresAt == nil || tok.Secret == "" {
		t.Errorf("new token: %+v", tok)
	}
	c.want(t, 201, oaValid, "POST", "/api/v1/tokens", `{"name":"siem","role":"operator"}`, admin)
	var who api.WhoAmI
	c.want(t, 200, oaValid, "GET", "/api/v1/whoami", nil, bearer(tok.Secret)).decode(t, &who)
	if who.Name != "grafana" || who.Role != store.RoleViewer {
		t.Errorf("whoami with the new token: %+v", who)
	}

	if r := c.want(t, 409, oaValid, "POST", "/api/v1/tokens", `{"name":"grafana","role":"admin"}`, admin); r.code() != "exists" {
		t.Errorf("duplicate token: code %q", r.code())
	}
	c.want(t, 400, oaValid, "POST", "/api/v1/tokens", `{"name":"later","role":"viewer","expires":"soon"}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/tokens", `{"name":"bad name","role":"viewer"}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/tokens", `{"name":"root","role":"root"}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/tokens", `{"role":"viewer"}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/tokens", `{"name":"x","role":"viewer","colour":"red"}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/tokens", `{"name":1}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/tokens", `{"name":"x"`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/tokens", ``, admin)
	c.want(t, 413, oaValid, "POST", "/api/v1/tokens", `{"name":"big","role":"viewer","expires":"`+strings.Repeat("9", 1<<20)+`d"}`, admin)

	var revoked api.Token
	c.want(t, 200, oaValid, "DELETE", "/api/v1/tokens/grafana", nil, admin).decode(t, &revoked)
	if revoked.RevokedAt == nil {
		t.Errorf("revoked token: %+v", revoked)
	}
	c.want(t, 401, oaValid, "GET", "/api/v1/whoami", nil, bearer(tok.Secret))
	c.want(t, 409, oaValid, "DELETE", "/api/v1/tokens/grafana", nil, admin)
	c.want(t, 404, oaValid, "DELETE", "/api/v1/tokens/nobody", nil, admin)
}

func oaPolicy(t *testing.T, c *oaClient) {
	viewer := c.as(store.RoleViewer)
	var info api.PolicyInfo
	c.want(t, 200, oaValid, "GET", "/api/v1/policy", nil, viewer).decode(t, &info)
	c.want(t, 200, oaValid, "POST", "/api/v1/policy/reload", nil, c.as(store.RoleAdmin))

	var zones []api.Zone
	c.want(t, 200, oaValid, "GET", "/api/v1/zones", nil, viewer).decode(t, &zones)
	if len(zones) == 0 || len(zones) != info.Zones {
		t.Fatalf("zones: %d, policy says %d", len(zones), info.Zones)
	}
	for _, z := range zones {
		c.want(t, 200, oaValid, "GET", "/api/v1/zones/"+url.PathEscape(z.Name), nil, viewer)
	}
	c.want(t, 404, oaValid, "GET", "/api/v1/zones/nowhere", nil, viewer)

	c.want(t, 200, oaValid, "GET", "/api/v1/report", nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/report?format=csv", nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/report?format=html&as_of=2026-01-01", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/report?format=xml", nil, viewer)
	if _, err := report.Chromium(); err == nil {
		c.want(t, 200, oaValid, "GET", "/api/v1/report?format=pdf", nil, viewer)
	} else {
		c.want(t, 503, oaValid, "GET", "/api/v1/report?format=pdf", nil, viewer)
	}
	c.want(t, 400, oaValid, "GET", "/api/v1/report?as_of=yesterday", nil, viewer)
	c.want(t, 422, oaValid, "GET", "/api/v1/report?since=2999-01-01", nil, viewer)

	var flows []api.Flow
	c.want(t, 200, oaValid, "GET", "/api/v1/flows", nil, viewer).decode(t, &flows)
	c.want(t, 200, oaValid, "GET", "/api/v1/flows?essential=true", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/flows?essential=maybe", nil, viewer)
	for _, f := range flows {
		c.want(t, 200, oaValid, "GET", "/api/v1/flows/"+url.PathEscape(f.Name), nil, viewer)
	}
	c.want(t, 404, oaValid, "GET", "/api/v1/flows/nothing", nil, viewer)

	c.want(t, 200, oaValid, "GET", "/api/v1/effective", nil, viewer)

	pump, other := oaDevice(t, c.s, "class = ?", "infusion_pump"), oaDevice(t, c.s, "criticality = ?", "low")
	for _, q := range []string{
		"?from=" + pump.Name + "&to=" + other.Name,
		"?from=" + pump.Name + "&to=internet&service=https",
		"?from=" + pump.IP + "&to=" + other.IP + "&service=443/tcp",
		"?from=infusion_pumps&to=infusion_pumps",
	} {
		c.want(t, 200, oaValid, "GET", "/api/v1/reach"+q, nil, viewer)
	}
	c.want(t, 400, oaValid, "GET", "/api/v1/reach?from=nothing-at-all&to=internet", nil, viewer)
	c.want(t, 400, oaValid, "GET", "/api/v1/reach?from="+pump.Name+"&to=internet&service=nonsense", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/reach?from="+pump.Name, nil, viewer)
}

func oaPlans(t *testing.T, c *oaClient) {
	viewer, operator, admin := c.as(store.RoleViewer), c.as(store.RoleOperator), c.as(store.RoleAdmin)
	c.want(t, 200, oaValid, "GET", "/api/v1/plans", nil, viewer)

	var p api.SavedPlan
	c.want(t, 201, oaValid, "POST", "/api/v1/plans", `{}`, operator).decode(t, &p)
	c.want(t, 201, oaValid, "POST", "/api/v1/plans", nil, operator)
	c.want(t, 201, oaValid, "POST", "/api/v1/plans", `{"targets":["core-fw"],"refresh":true}`, operator)
	c.want(t, 400, oaValid, "POST", "/api/v1/plans", `{"targets":["nowhere"]}`, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/plans", `{"target":["core-fw"]}`, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/plans", `{"refresh":"yes"}`, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/plans", `[]`, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/plans", `{} {}`, operator)

	id := strconv.FormatUint(p.ID, 10)
	c.want(t, 200, oaValid, "GET", "/api/v1/plans/"+id, nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/plans?limit=2&offset=1", nil, viewer)
	c.want(t, 404, oaValid, "GET", "/api/v1/plans/99999", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/plans/first", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/plans/0", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/plans?limit=0", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/plans?limit=1001", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/plans?offset=-1", nil, viewer)

	c.want(t, 404, oaValid, "POST", "/api/v1/plans/99999/apply", `{}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/plans/"+id+"/apply", `{"allow":true}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/plans/none/apply", `{}`, admin)
	// access-ovs is down for the first apply, so the second plan has it
	// to push (the streamed apply below).
	c.s.targets.mu.Lock()
	c.s.targets.down = map[string]bool{"access-ovs": true}
	c.s.targets.mu.Unlock()
	// The first apply of the example changes essential flows or not:
	// without allow_essential_change it is refused (409) or done (200).
	r := c.call(t, oaValid, "POST", "/api/v1/plans/"+id+"/apply", nil, admin)
	switch {
	case r.status == 409 && r.code() == "essential_change":
		r = c.want(t, 200, oaValid, "POST", "/api/v1/plans/"+id+"/apply", `{"allow_essential_change":true}`, admin)
	case r.status != 200:
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	var res api.ApplyResult
	r.decode(t, &res)
	if res.PlanID != p.ID || len(res.Results) == 0 {
		t.Errorf("apply: %s", r.body)
	}
	// The run as recorded, as any replica answers it.
	var got api.ApplyResult
	c.want(t, 200, oaValid, "GET", fmt.Sprintf("/api/v1/applies/%d", res.RunID), nil, viewer).decode(t, &got)
	if got.RunID != res.RunID || got.Status != res.Status || !reflect.DeepEqual(got.Results, res.Results) {
		t.Errorf("GET /api/v1/applies/%d = %+v, want the apply's answer %+v", res.RunID, got, res)
	}
	c.want(t, 404, oaValid, "GET", "/api/v1/applies/99999", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/applies/none", nil, viewer)
	// Cancel: a finished run has nothing left (409); one waiting for its
	// push is cancelled.
	if r := c.want(t, 409, oaValid, "POST", fmt.Sprintf("/api/v1/applies/%d/cancel", res.RunID), nil, admin); r.code() != "apply_finished" {
		t.Errorf("cancel of a finished run: code %q", r.code())
	}
	var cr api.ApplyCancelResult
	c.want(t, 200, oaValid, "POST", fmt.Sprintf("/api/v1/applies/%d/cancel", pendingApply(t, c.s.st)), nil, admin).decode(t, &cr)
	if !slices.Equal(cr.Cancelled, []string{"core-fw"}) || len(cr.StillPushing) != 0 || cr.Status != "failed" {
		t.Errorf("cancel of a waiting run: %+v", cr)
	}
	c.want(t, 404, oaValid, "POST", "/api/v1/applies/99999/cancel", nil, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/applies/none/cancel", nil, admin)
	// Applied again: the targets it changed are no longer where it found
	// them, so the plan is refused before any device is contacted.
	if r := c.want(t, 409, oaValid, "POST", "/api/v1/plans/"+id+"/apply", `{"allow_essential_change":true,"reason":"test"}`, admin); r.code() != "plan_stale" {
		t.Errorf("applied twice: code %q, want plan_stale", r.code())
	}
	c.s.targets.mu.Lock()
	c.s.targets.down = nil
	c.s.targets.mu.Unlock()
	var p2 api.SavedPlan
	c.want(t, 201, oaValid, "POST", "/api/v1/plans", `{}`, operator).decode(t, &p2)
	if !slices.Contains(p2.Changed, "access-ovs") {
		t.Errorf("the plan after a failed push to access-ovs does not change it: %v", p2.Changed)
	}
	oaStreamedApply(t, c, p2, admin)
}

// oaStreamedApply applies p with Accept: application/x-ndjson and holds
// each line to its schema: a target line per changed target, then the
// summary.
func oaStreamedApply(t *testing.T, c *oaClient, p api.SavedPlan, admin http.Header) {
	t.Helper()
	h := admin.Clone()
	h.Set("Accept", "application/x-ndjson")
	r := c.want(t, 200, oaValid, "POST", "/api/v1/plans/"+strconv.FormatUint(p.ID, 10)+"/apply", `{}`, h)
	if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("streamed apply: Content-Type %q", ct)
	}
	doc := oaLoad(t)
	lines := strings.Split(strings.TrimSuffix(string(r.body), "\n"), "\n")
	for i, line := range lines {
		schema := "ApplyTargetEvent"
		if i == len(lines)-1 {
			schema = "ApplySummaryEvent"
		}
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("streamed apply, line %d: %v: %s", i+1, err, line)
		} else if err := doc.Components.Schemas[schema].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("streamed apply, line %d is not %s: %v: %s", i+1, schema, err, line)
		}
	}
	if len(lines) != len(p.Changed)+1 {
		t.Errorf("streamed apply: %d lines, want one per changed target (%d) and the summary:\n%s", len(lines), len(p.Changed), r.body)
	}
}

func oaQuarantines(t *testing.T, c *oaClient) {
	viewer, operator, admin := c.as(store.RoleViewer), c.as(store.RoleOperator), c.as(store.RoleAdmin)
	c.want(t, 200, oaValid, "GET", "/api/v1/quarantines", nil, viewer)

	low := oaDevice(t, c.s, "criticality = ? AND id NOT IN (SELECT device_id FROM quarantines)", "low")
	var out struct {
		Quarantine struct{ ID uint64 }
		Changed    bool `json:"changed"`
	}
	c.want(t, 201, oaValid, "POST", "/api/v1/quarantines", map[string]string{"device": low.Name, "level": "restrict", "ttl": "4h", "reason": "test"}, operator).decode(t, &out)
	id := strconv.FormatUint(out.Quarantine.ID, 10)
	c.want(t, 200, oaValid, "POST", "/api/v1/quarantines", map[string]string{"device": low.Name, "level": "restrict"}, operator).decode(t, &out)
	if out.Changed {
		t.Errorf("quarantining again changed it")
	}
	c.want(t, 200, oaValid, "GET", "/api/v1/quarantines/"+id, nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/quarantines/"+id+"/timeline", nil, viewer)
	c.want(t, 404, oaValid, "GET", "/api/v1/quarantines/99999/timeline", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/quarantines/latest/timeline", nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/devices/"+url.PathEscape(low.Name), nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/devices/"+url.PathEscape(low.Name)+"/effective", nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/quarantines?all=false", nil, viewer)

	c.want(t, 404, oaValid, "POST", "/api/v1/quarantines", `{"device":"no-such-device"}`, operator)
	c.want(t, 400, oaValid, "POST", "/api/v1/quarantines", map[string]string{"device": low.Name, "ttl": "forever"}, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines", `{"device":""}`, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines", map[string]string{"device": low.Name, "level": "banish"}, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines", map[string]string{"device": low.Name, "why": "x"}, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines", ``, operator)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/quarantines?all=everything", nil, viewer)
	c.want(t, 404, oaValid, "GET", "/api/v1/quarantines/99999", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/quarantines/latest", nil, viewer)

	// An infusion pump is in essential flows: isolating it restricts it and
	// waits for approval.
	pump := oaDevice(t, c.s, "class = ? AND id NOT IN (SELECT device_id FROM quarantines)", "infusion_pump")
	var pending struct {
		Quarantine struct {
			ID           uint64
			PendingLevel string `json:"pending_level"`
		}
	}
	c.want(t, 201, oaValid, "POST", "/api/v1/quarantines", map[string]string{"device": pump.Name, "level": "isolate"}, operator).decode(t, &pending)
	if pending.Quarantine.PendingLevel != "isolate" {
		t.Fatalf("isolating %s: nothing pending", pump.Name)
	}
	pid := strconv.FormatUint(pending.Quarantine.ID, 10)
	c.want(t, 200, oaValid, "GET", "/api/v1/devices/"+url.PathEscape(pump.Name)+"/effective", nil, viewer)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines/"+pid+"/approve", `{"comment":1}`, admin)
	c.want(t, 200, oaValid, "POST", "/api/v1/quarantines/"+pid+"/approve", `{"comment":"checked with the ward nurse"}`, admin)
	c.want(t, 409, oaValid, "POST", "/api/v1/quarantines/"+pid+"/approve", nil, admin)
	c.want(t, 409, oaValid, "POST", "/api/v1/quarantines/"+id+"/approve", `{}`, admin)
	c.want(t, 404, oaValid, "POST", "/api/v1/quarantines/99999/approve", `{}`, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines/x/approve", `{}`, admin)
	c.want(t, 200, oaValid, "GET", "/api/v1/quarantines?status=pending", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/quarantines?status=maybe", nil, viewer)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines/approve", `{}`, admin)
	c.want(t, 200, oaValid, "POST", "/api/v1/quarantines/approve", `{"all":true,"comment":"reviewed by the SOC"}`, admin)

	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines/"+id+"/release", `{"now":true}`, operator)
	c.want(t, 200, oaValid, "POST", "/api/v1/quarantines/"+id+"/release", `{}`, operator)
	c.want(t, 409, oaValid, "POST", "/api/v1/quarantines/"+id+"/release", nil, operator)
	c.want(t, 200, oaValid, "POST", "/api/v1/quarantines/"+pid+"/release", nil, operator)
	c.want(t, 404, oaValid, "POST", "/api/v1/quarantines/99999/release", nil, operator)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/quarantines/0/release", nil, operator)
	c.want(t, 200, oaValid, "GET", "/api/v1/quarantines?all=true", nil, viewer)
}

func oaAlerts(t *testing.T, c *oaClient) {
	viewer := c.as(store.RoleViewer)
	dev := oaDevice(t, c.s, "criticality = ? AND id NOT IN (SELECT device_id FROM quarantines)", "medium")
	alert := func(id, severity string) map[string]any {
		return map[string]any{"source": "siem", "id": id, "severity": severity, "ip": dev.IP, "mac": nil,
			"signature": "Unexpected outbound SMB", "time": "2025-05-01T10:20:00Z"}
	}

	var res api.AlertsResponse
	c.want(t, 202, oaValid, "POST", "/api/v1/alerts", alert("OA-1", "info"), bearer(token)).decode(t, &res)
	if len(res.Results) != 1 || res.Results[0].AlertID == 0 {
		t.Fatalf("alert: %+v", res)
	}
	alertID := strconv.FormatUint(res.Results[0].AlertID, 10)
	c.want(t, 202, oaValid, "POST", "/api/v1/alerts", alert("OA-1", "info"), bearer(token)) // a duplicate
	c.want(t, 202, oaValid, "POST", "/api/v1/alerts?format=generic", []any{alert("OA-2", "low"), alert("OA-3", "high")}, c.as(store.RoleOperator))
	lines := []byte(`{"source":"siem","id":"OA-4","severity":"low","ip":"` + dev.IP + `"}` + "\n" +
		`{"source":"siem","id":"OA-5","severity":"low","ip":"` + dev.IP + `"}` + "\n")
	ndjson := bearer(token)
	ndjson.Set("Content-Type", "application/x-ndjson")
	c.want(t, 202, oaValid, "POST", "/api/v1/alerts", lines, ndjson)
	signedBody := []byte(`{"id":"OA-6","severity":"info","ip":"` + dev.IP + `"}`)
	c.want(t, 202, oaValid, "POST", "/api/v1/alerts", signedBody, signed(signer, signerSecret, clock, signedBody))

	if r := c.want(t, 400, oaValid, "POST", "/api/v1/alerts", alert("OA-7", "urgent"), bearer(token)); r.code() != "invalid_alert" {
		t.Errorf("bad severity: code %q", r.code())
	}
	c.want(t, 400, oaInvalid, "POST", "/api/v1/alerts?format=snort", alert("OA-8", "low"), bearer(token))
	c.want(t, 400, oaInvalid, "POST", "/api/v1/alerts", `{"id":"OA-9","severity":"low","ip":"`+dev.IP+`","colour":"red"}`, bearer(token))
	c.want(t, 401, oaValid, "POST", "/api/v1/alerts", signedBody, signed(signer, []byte("wrong secret"), clock, signedBody))
	c.want(t, 401, oaValid, "POST", "/api/v1/alerts", signedBody, signed(signer, signerSecret, clock.Add(-1e12), signedBody))
	c.want(t, 403, oaValid, "POST", "/api/v1/alerts", map[string]any{"source": signer, "id": "OA-10", "severity": "low", "ip": dev.IP}, bearer(token))
	big := alert("OA-11", "low")
	big["description"] = strings.Repeat("x", 1<<20)
	c.want(t, 413, oaValid, "POST", "/api/v1/alerts", big, bearer(token))

	// A sender past its burst (200 requests: the API's clock stands still,
	// so the bucket does not refill) is answered 429 with Retry-After.
	flood, _, err := c.s.st.CreateToken(context.Background(), "oa-flood", store.RoleOperator, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		r := c.call(t, oaInvalid, "POST", "/api/v1/alerts", nil, bearer(flood))
		if r.status == http.StatusTooManyRequests {
			if r.header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			break
		}
		if r.status != 400 || i > 1000 {
			t.Fatalf("flood request %d: %d %s", i, r.status, r.body)
		}
	}

	c.want(t, 200, oaValid, "GET", "/api/v1/alerts", nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/alerts?source=siem&action=none&limit=2&device="+url.QueryEscape(dev.Name), nil, viewer)
	c.want(t, 400, oaValid, "GET", "/api/v1/alerts?device=no-such-device", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/alerts?limit=many", nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/alerts/"+alertID, nil, viewer)
	c.want(t, 404, oaValid, "GET", "/api/v1/alerts/99999", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/alerts/-1", nil, viewer)
}

// oaOversized sends a body over the 1 MiB limit to each route that reads
// a JSON body (but the import, whose limit is 64 MiB): 413.
func oaOversized(t *testing.T, c *oaClient) {
	big := map[string]string{"reason": strings.Repeat("x", 1<<20)}
	c.want(t, 200, oaValid, "GET", "/api/v1/quarantines/1", nil, c.as(store.RoleViewer)) // released, but there
	for _, r := range []struct{ method, path, role string }{
		{"POST", "/api/v1/plans", store.RoleOperator},
		{"POST", "/api/v1/plans/1/apply", store.RoleAdmin},
		{"POST", "/api/v1/quarantines", store.RoleOperator},
		{"POST", "/api/v1/quarantines/1/release", store.RoleOperator},
		{"POST", "/api/v1/quarantines/1/approve", store.RoleAdmin},
		{"POST", "/api/v1/tokens", store.RoleAdmin},
		{"POST", "/api/v1/alerts", store.RoleOperator},
	} {
		if got := c.want(t, 413, oaInvalid, r.method, r.path, big, c.as(r.role)); got.code() != "body_too_large" {
			t.Errorf("%s %s: code %q", r.method, r.path, got.code())
		}
	}
}

func oaDevices(t *testing.T, c *oaClient) {
	viewer, operator := c.as(store.RoleViewer), c.as(store.RoleOperator)
	var page api.Page[api.Device]
	c.want(t, 200, oaValid, "GET", "/api/v1/devices", nil, viewer).decode(t, &page)
	if page.Total == 0 || len(page.Items) != min(page.Total, 100) {
		t.Errorf("devices: total %d, %d items", page.Total, len(page.Items))
	}
	for _, q := range []string{
		"?limit=5&offset=10", "?zone=infusion_pumps&limit=3", "?criticality=life_critical", "?q=PUMP", "?removed=true&class=infusion_pump",
		"?site=main&vendor=BD&switch=access-3w", "?offset=100000",
	} {
		c.want(t, 200, oaValid, "GET", "/api/v1/devices"+q, nil, viewer)
	}
	c.want(t, 400, oaValid, "GET", "/api/v1/devices?zone=nowhere", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/devices?criticality=urgent", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/devices?limit=ten", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/devices?removed=perhaps", nil, viewer)
	c.want(t, 404, oaValid, "GET", "/api/v1/devices/no-such-device", nil, viewer)
	c.want(t, 404, oaValid, "GET", "/api/v1/devices/no-such-device/effective", nil, viewer)

	inv, err := os.ReadFile(exampleInventory)
	if err != nil {
		t.Fatal(err)
	}
	csvHeader := http.Header{"Content-Type": {"text/csv"}}
	for k, v := range operator {
		if k != "Content-Type" {
			csvHeader[k] = v
		}
	}
	var res struct{ Unchanged int }
	c.want(t, 200, oaValid, "POST", "/api/v1/devices/import?filename=inventory.csv", inv, csvHeader).decode(t, &res)
	if res.Unchanged == 0 {
		t.Errorf("importing the example again: %+v", res)
	}
	jsonHeader := operator.Clone()
	jsonHeader.Set("Content-Type", "application/json")
	c.want(t, 200, oaValid, "POST", "/api/v1/devices/import?format=json",
		`[{"name":"oa-printer","ip":"10.96.0.1","criticality":"low","class":"printer","labels":{"owner":"it"}}]`, jsonHeader)
	c.want(t, 200, oaValid, "GET", "/api/v1/devices/oa-printer", nil, viewer)

	var r oaResp
	if r = c.want(t, 400, oaValid, "POST", "/api/v1/devices/import?format=csv", "name,ip,criticality\nbad,10.96.0.300,urgent\n", csvHeader); r.code() != "invalid_inventory" {
		t.Errorf("bad inventory: code %q", r.code())
	}
	existing := oaDevice(t, c.s, "criticality = ?", "medium")
	if r = c.want(t, 409, oaValid, "POST", "/api/v1/devices/import", "name,ip,criticality\noa-clash,"+existing.IP+",low\n", csvHeader); r.code() != "import_conflict" {
		t.Errorf("import conflict: code %q", r.code())
	}
	c.want(t, 400, oaInvalid, "POST", "/api/v1/devices/import?format=xml", "x", csvHeader)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/devices/import?replace=sometimes", "x", csvHeader)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/devices/import", "", csvHeader)

	// A plan made before a device is removed is stale after.
	var p api.SavedPlan
	c.want(t, 201, oaValid, "POST", "/api/v1/plans", `{}`, operator).decode(t, &p)
	c.want(t, 200, oaValid, "DELETE", "/api/v1/devices/oa-printer", nil, operator)
	c.want(t, 409, oaValid, "DELETE", "/api/v1/devices/oa-printer", nil, operator)
	c.want(t, 404, oaValid, "DELETE", "/api/v1/devices/no-such-device", nil, operator)
	c.want(t, 200, oaValid, "GET", "/api/v1/devices/oa-printer", nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/devices/oa-printer/effective", nil, viewer)
	if r = c.want(t, 409, oaValid, "POST", "/api/v1/plans/"+strconv.FormatUint(p.ID, 10)+"/apply", `{}`, c.as(store.RoleAdmin)); r.code() != "plan_stale" {
		t.Errorf("stale plan: code %q", r.code())
	}
	c.want(t, 200, oaValid, "POST", "/api/v1/devices/import?replace=true&filename=inventory.csv", inv, csvHeader)
}

func oaAuditTargets(t *testing.T, c *oaClient) {
	viewer := c.as(store.RoleViewer)
	var events []api.AuditEvent
	c.want(t, 200, oaValid, "GET", "/api/v1/audit", nil, viewer).decode(t, &events)
	if len(events) == 0 {
		t.Fatal("no audit events")
	}
	c.want(t, 200, oaValid, "GET", "/api/v1/audit?limit=5&before="+strconv.FormatUint(events[len(events)/2].Seq, 10), nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/audit?action=plan.create&actor=token:operator-token&object=x", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/audit?before=-1", nil, viewer)
	var v api.AuditVerify
	c.want(t, 200, oaValid, "GET", "/api/v1/audit/verify", nil, viewer).decode(t, &v)
	if !v.Intact {
		t.Errorf("audit log: %+v", v)
	}
	var cp store.AuditCheckpoint
	c.want(t, 200, oaValid, "GET", "/api/v1/audit/checkpoint", nil, c.as(store.RoleAdmin)).decode(t, &cp)
	var vc api.AuditVerify
	c.want(t, 200, oaValid, "POST", "/api/v1/audit/verify", cp, viewer).decode(t, &vc)
	if !vc.Intact || vc.Checkpoint == nil {
		t.Errorf("audit log against its checkpoint: %+v", vc)
	}
	forged := cp
	forged.Seq--
	c.want(t, 400, oaValid, "POST", "/api/v1/audit/verify", forged, viewer)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/audit/verify", `{"format":"ward-audit-checkpoint/1","seq":-1}`, viewer)

	var targets []api.Target
	c.want(t, 200, oaValid, "GET", "/api/v1/targets", nil, viewer).decode(t, &targets)
	for _, tg := range targets {
		c.want(t, 200, oaValid, "GET", "/api/v1/targets/"+url.PathEscape(tg.Name), nil, viewer)
		c.want(t, 200, oaValid, "GET", "/api/v1/targets/"+url.PathEscape(tg.Name)+"/drift", nil, viewer)
	}
	c.want(t, 404, oaValid, "GET", "/api/v1/targets/nowhere", nil, viewer)
	c.want(t, 404, oaValid, "GET", "/api/v1/targets/nowhere/drift", nil, viewer)
	c.want(t, 200, oaValid, "GET", "/api/v1/cluster", nil, viewer)
}

// oaNoPolicy runs against a server without a policy whose policy
// directory is broken until fixed is set, and without access to targets.
func oaNoPolicy(t *testing.T, c *oaClient, fixed *atomic.Bool) {
	viewer, operator, admin := c.as(store.RoleViewer), c.as(store.RoleOperator), c.as(store.RoleAdmin)
	c.want(t, 503, oaValid, "GET", "/api/v1/policy", nil, viewer)
	c.want(t, 503, oaValid, "POST", "/api/v1/plans", `{}`, operator)
	c.want(t, 503, oaValid, "GET", "/api/v1/targets/core-fw/drift", nil, viewer)
	dev := oaDevice(t, c.s, "criticality = ?", "low")
	for _, path := range []string{"/api/v1/zones", "/api/v1/zones/x", "/api/v1/flows", "/api/v1/flows/x", "/api/v1/effective",
		"/api/v1/reach?from=a&to=b", "/api/v1/targets", "/api/v1/targets/core-fw", "/api/v1/devices/" + url.PathEscape(dev.Name) + "/effective"} {
		c.want(t, 503, oaValid, "GET", path, nil, viewer)
	}
	r := c.want(t, 422, oaValid, "POST", "/api/v1/policy/reload", nil, admin)
	var env api.ErrorBody
	r.decode(t, &env)
	if env.Error.Code != "invalid_policy" || len(env.Error.Problems) == 0 || env.Error.Problems[0].File == "" {
		t.Errorf("reloading a broken policy: %s", r.body)
	}

	fixed.Store(true)
	c.want(t, 200, oaValid, "POST", "/api/v1/policy/reload", nil, admin)
	c.want(t, 409, oaValid, "GET", "/api/v1/targets/core-fw/drift", nil, viewer)
	c.want(t, 409, oaValid, "POST", "/api/v1/plans", `{"refresh":true}`, operator)
	var p api.SavedPlan
	c.want(t, 201, oaValid, "POST", "/api/v1/plans", `{}`, operator).decode(t, &p)
	c.want(t, 409, oaValid, "POST", "/api/v1/plans/"+strconv.FormatUint(p.ID, 10)+"/apply", `{}`, admin)

	// Without its store, Ward is not ready and cannot check tokens.
	if err := c.s.st.Close(); err != nil {
		t.Fatal(err)
	}
	c.want(t, 503, oaValid, "GET", "/readyz", nil, nil)
	c.want(t, 503, oaValid, "GET", "/api/v1/whoami", nil, viewer)
	c.want(t, 503, oaValid, "GET", "/metrics", nil, viewer)
}

// oaBrokenPolicy is a copy of the example policy with a syntax error.
func oaBrokenPolicy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(examplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(examplePolicy, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.hcl"), []byte("zone \"broken\" {\n  criticality = \n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// oaDevice is the first active device (by name) matching where.
func oaDevice(t *testing.T, s *testServer, where string, args ...any) store.Device {
	t.Helper()
	var d store.Device
	if err := s.st.DB.Where("removed_at IS NULL").Where(where, args...).Order("name_key").Take(&d).Error; err != nil {
		t.Fatalf("a device where %s %v: %v", where, args, err)
	}
	return d
}

func init() {
	// Lines of JSON (Suricata EVE, Zeek, generic alerts one per line) are
	// text to the validator.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
	// The report's HTML page is text to the validator too.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}
