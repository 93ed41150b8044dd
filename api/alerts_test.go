package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

const (
	examplePolicy    = "../examples/hospital/policy"
	exampleInventory = "../examples/hospital/inventory.csv"
	samples          = "../internal/quarantine/alert/testdata"

	token = "tok"
	// signer is the alert source with an HMAC secret in every test server.
	signer = "ids-3w"
)

var signerSecret = []byte("s3cret-of-ids-3w")

// clock is the API's fixed clock: far from the real one, so a signature
// that passes the skew check shows Config.Now is the clock used.
var clock = time.Date(2025, 5, 1, 10, 20, 30, 0, time.UTC)

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *testServer) do(t *testing.T, method, path string, body []byte, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.cli.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// post sends body to POST /api/v1/alerts (path may add a query).
func (s *testServer) post(t *testing.T, query string, body []byte, header http.Header) response {
	t.Helper()
	return s.do(t, http.MethodPost, "/api/v1/alerts"+query, body, header)
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
}

// signed returns the headers of a request by source, signed with secret at
// time ts over body.
func signed(source string, secret []byte, ts time.Time, body []byte) http.Header {
	return http.Header{
		api.HeaderSource:    {source},
		api.HeaderTimestamp: {strconv.FormatInt(ts.Unix(), 10)},
		api.HeaderSignature: {api.Sign(secret, ts.Unix(), body)},
		"Content-Type":      {"application/json"},
	}
}

// accepted decodes a 202 answer, failing the test on any other.
func (r response) accepted(t *testing.T) api.AlertsResponse {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d, want 202; body: %s", r.status, r.body)
	}
	var out api.AlertsResponse
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	if len(out.Results) != out.Received {
		t.Fatalf("received %d but %d results: %s", out.Received, len(out.Results), r.body)
	}
	return out
}

// failure decodes the error envelope strictly: nothing but "error", and
// nothing in it but the envelope's fields.
func (r response) failure(t testing.TB) api.ErrorDetail {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var env api.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("status %d: body is not the error envelope: %v: %s", r.status, err, r.body)
	}
	if env.Error.Status != r.status {
		t.Errorf("envelope status %d, HTTP status %d", env.Error.Status, r.status)
	}
	if env.Error.Code == "" || env.Error.Message == "" {
		t.Errorf("envelope without code or message: %s", r.body)
	}
	return env.Error
}

// rowCounts counts what a request may change.
type rowCounts struct{ alerts, quarantines, audit, devices, tokens, plans, applies int64 }

func (s *testServer) counts(t *testing.T) rowCounts {
	t.Helper()
	var c rowCounts
	for _, q := range []struct {
		model any
		n     *int64
	}{{&store.Alert{}, &c.alerts}, {&store.Quarantine{}, &c.quarantines}, {&store.AuditEvent{}, &c.audit}, {&store.Device{}, &c.devices},
		{&store.APIToken{}, &c.tokens}, {&store.Plan{}, &c.plans}, {&store.ApplyRun{}, &c.applies}} {
		if err := s.st.DB.Model(q.model).Count(q.n).Error; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// verifyAudit fails the test when the audit chain no longer holds: a
// refused or duplicate alert must roll back the events its decision wrote.
func (s *testServer) verifyAudit(t *testing.T) {
	t.Helper()
	n, brk, err := s.st.VerifyAudit(context.Background())
	if err != nil || brk != nil {
		t.Errorf("audit log after %d events: %v %v", n, brk, err)
	}
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAlertSamples posts each recorded sample as its sender would, then
// again as a retry.
func TestAlertSamples(t *testing.T) {
	s := newTestServer(t, nil)
	for _, tc := range []struct {
		file   string
		format string
		n      int
	}{
		{"generic.json", "generic", 1},
		{"generic-batch.json", "generic", 3},
		{"alertmanager-firing.json", "alertmanager", 3},
		{"alertmanager-resolved.json", "alertmanager", 1},
		{"suricata-docs-alert.json", "suricata", 1},
		{"suricata-eve.ndjson", "suricata", 1}, // one alert among five other events
		{"suricata-target.json", "suricata", 1},
		{"zeek-notice.ndjson", "zeek", 2},
		{"zeek-notice-iso.ndjson", "zeek", 1}, // same notice, ts written otherwise: another ID
	} {
		t.Run(tc.file, func(t *testing.T) {
			body := readSample(t, tc.file)
			before := s.counts(t)
			got := s.post(t, "", body, bearer(token)).accepted(t)
			if got.Received != tc.n {
				t.Fatalf("received %d, want %d", got.Received, tc.n)
			}
			after := s.counts(t)
			if d := after.alerts - before.alerts; d != int64(tc.n) {
				t.Fatalf("%d alert rows added, want %d", d, tc.n)
			}
			for i, r := range got.Results {
				if r.Status != "recorded" || r.AlertID == 0 || r.Reason == "" {
					t.Errorf("result %d: %+v, want recorded with an alert ID and a reason", i, r)
					continue
				}
				var row store.Alert
				if err := s.st.DB.Take(&row, r.AlertID).Error; err != nil {
					t.Fatalf("result %d: alert row %d: %v", i, r.AlertID, err)
				}
				if row.Format != tc.format || row.Source != r.Source || !strings.HasPrefix(row.ExternalID, r.ID) || row.Action != r.Action {
					t.Errorf("result %d: %+v stored as %+v", i, r, row)
				}
			}

			again := s.post(t, "", body, bearer(token)).accepted(t)
			if again.Received != tc.n {
				t.Fatalf("retry: received %d, want %d", again.Received, tc.n)
			}
			for i, r := range again.Results {
				if r.Status != "duplicate" || r.AlertID != got.Results[i].AlertID || r.ID != got.Results[i].ID {
					t.Errorf("retry result %d: %+v, want a duplicate of %+v", i, r, got.Results[i])
				}
			}
			if c := s.counts(t); c != after {
				t.Errorf("retry changed the store: %+v, then %+v", after, c)
			}
		})
	}
	s.verifyAudit(t)
}

// TestAlertDecisions checks what an alert about an inventory device does.
func TestAlertDecisions(t *testing.T) {
	s := newTestServer(t, nil)
	for _, tc := range []struct {
		device, ip, action string
	}{
		{"tv-netlab-01", "10.61.190.241", quarantine.LevelIsolate},    // low criticality, guest zone
		{"pump-netlab-01", "10.61.210.241", quarantine.LevelRestrict}, // life_critical
	} {
		t.Run(tc.device, func(t *testing.T) {
			body := fmt.Sprintf(`{"source":"siem","id":"INC-%s","severity":"high","ip":%q,"signature":"ET TROJAN test"}`, tc.device, tc.ip)
			got := s.post(t, "", []byte(body), bearer(token)).accepted(t)
			if got.Received != 1 {
				t.Fatalf("received %d, want 1", got.Received)
			}
			r := got.Results[0]
			if r.Status != "recorded" || r.Source != "siem" || r.ID != "INC-"+tc.device || r.Device != tc.device || r.Action != tc.action || r.QuarantineID == 0 {
				t.Fatalf("result %+v, want device %s, action %s and a quarantine", r, tc.device, tc.action)
			}
			var q store.Quarantine
			if err := s.st.DB.Take(&q, r.QuarantineID).Error; err != nil {
				t.Fatalf("quarantine %d: %v", r.QuarantineID, err)
			}
			var dev store.Device
			if err := s.st.DB.Where("name = ?", tc.device).Take(&dev).Error; err != nil {
				t.Fatal(err)
			}
			if q.Status != quarantine.StatusActive || q.Level != tc.action || q.DeviceID != dev.ID || q.AlertID == nil || *q.AlertID != r.AlertID || q.CreatedBy != "alert:siem" {
				t.Errorf("quarantine %+v, want active %s of device %d by alert %d", q, tc.action, dev.ID, r.AlertID)
			}
			var audit int64
			s.st.DB.Model(&store.AuditEvent{}).Where("action = ? AND object = ?", "quarantine.create", tc.device).Count(&audit)
			if audit != 1 {
				t.Errorf("%d quarantine.create audit events for %s, want 1", audit, tc.device)
			}
		})
	}

	// An ID sent again is the alert already received, even when the payload
	// now names another device: no quarantine of that device, no event.
	t.Run("reused ID", func(t *testing.T) {
		before := s.counts(t)
		body := `{"source":"siem","id":"INC-pump-netlab-01","severity":"high","ip":"10.61.199.241"}` // unknown-netlab-01: isolate
		r := s.post(t, "", []byte(body), bearer(token)).accepted(t).Results[0]
		if r.Status != "duplicate" || r.Action != quarantine.LevelRestrict || r.Device != "pump-netlab-01" || !strings.HasPrefix(r.Reason, "already received: ") {
			t.Errorf("%+v, want a duplicate of the pump's restrict", r)
		}
		if c := s.counts(t); c != before {
			t.Errorf("store changed: %+v, then %+v", before, c)
		}
		s.verifyAudit(t)
	})
}

// TestAlertFormatQuery checks ?format=.
func TestAlertFormatQuery(t *testing.T) {
	s := newTestServer(t, nil)
	suricata := readSample(t, "suricata-docs-alert.json")

	t.Run("explicit", func(t *testing.T) {
		got := s.post(t, "?format=suricata", suricata, bearer(token)).accepted(t)
		if got.Received != 1 || got.Results[0].Source != "suricata" {
			t.Fatalf("got %+v, want one suricata alert", got)
		}
		var row store.Alert
		if err := s.st.DB.Take(&row, got.Results[0].AlertID).Error; err != nil || row.Format != "suricata" {
			t.Fatalf("stored %+v (%v), want format suricata", row, err)
		}
	})

	for _, tc := range []struct {
		name, query string
		body        []byte
		field, msg  string
	}{
		{"unknown format", "?format=splunk", suricata, "format", "use generic, alertmanager, suricata or zeek"},
		{"format of another body", "?format=zeek", readSample(t, "generic.json"), "note", "is this a notice.log record?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.counts(t)
			r := s.post(t, tc.query, tc.body, bearer(token))
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			e := r.failure(t)
			if e.Code != "invalid_alert" || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %+v, want invalid_alert on field %q saying %q", e, tc.field, tc.msg)
			}
			if c := s.counts(t); c != before {
				t.Errorf("store changed: %+v, then %+v", before, c)
			}
		})
	}
}

// TestAlertRejections sends what Ward must refuse, and checks each refusal
// says why and changes nothing.
func TestAlertRejections(t *testing.T) {
	const maxBody = 4096
	s := newTestServer(t, func(c *api.Config) { c.MaxBody = maxBody })
	valid := []byte(`{"source":"siem","id":"INC-1","severity":"high","ip":"10.61.190.241"}`)
	other := []byte(`{"source":"siem","id":"INC-2","severity":"high","ip":"10.61.190.241"}`)
	padded := func(n int) []byte { return append(bytes.Clone(valid), bytes.Repeat([]byte(" "), n-len(valid))...) }
	withHeader := func(h http.Header, k, v string) http.Header { h.Set(k, v); return h }
	const badSig = `the signature does not match: sign timestamp + "." + body with the source's secret, as sha256=HEX`

	for _, tc := range []struct {
		name   string
		body   []byte
		header http.Header
		status int
		code   string
		field  string
		msg    []string // each in the message
		// exactMsg, when set, is the whole message (the same for every
		// signature failure, so sources cannot be probed).
		exactMsg string
		// challenge: the answer must carry WWW-Authenticate.
		challenge bool
	}{
		{name: "malformed JSON", body: []byte(`{"source":"siem","id":"INC-1",`), header: bearer(token),
			status: 400, code: "invalid_alert", msg: []string{"invalid JSON"}},
		{name: "not JSON", body: []byte(`severity=high&ip=10.61.190.241`), header: bearer(token),
			status: 400, code: "invalid_alert", msg: []string{"invalid JSON"}},
		{name: "empty body", body: nil, header: bearer(token),
			status: 400, code: "invalid_alert", msg: []string{"the body is empty"}},
		{name: "unknown field", body: []byte(`{"source":"siem","id":"INC-1","severity":"high","IP":"10.61.190.241"}`), header: bearer(token),
			status: 400, code: "invalid_alert", field: "IP", msg: []string{"unknown field", `did you mean "ip"`}},
		{name: "misspelt field", body: []byte(`{"source":"siem","id":"INC-1","sevrity":"high","ip":"10.61.190.241"}`), header: bearer(token),
			status: 400, code: "invalid_alert", field: "sevrity", msg: []string{`field "sevrity": unknown field`, `field "severity": is required`}},
		{name: "wrong type", body: []byte(`{"source":"siem","id":1234,"severity":"high","ip":"10.61.190.241"}`), header: bearer(token),
			status: 400, code: "invalid_alert", field: "id", msg: []string{"got a number, want a string"}},
		{name: "missing id", body: []byte(`{"source":"siem","severity":"high","ip":"10.61.190.241"}`), header: bearer(token),
			status: 400, code: "invalid_alert", field: "id", msg: []string{`field "id": is required`}},
		{name: "bad IP", body: []byte(`{"source":"siem","id":"INC-1","severity":"high","ip":"10.61.190"}`), header: bearer(token),
			status: 400, code: "invalid_alert", field: "ip", msg: []string{`"10.61.190" is not an IP address`}},
		{name: "bad alert in a batch", body: []byte("[" + string(valid) + `,{"source":"siem","id":"INC-2","severity":"urgent","ip":"10.61.190.242"}]`), header: bearer(token),
			status: 400, code: "invalid_alert", field: "severity", msg: []string{"alert 2", `"urgent" is not a severity`}},
		{name: "oversized body", body: padded(maxBody + 1), header: bearer(token),
			status: 413, code: "body_too_large", msg: []string{"larger than 4096 bytes"}},

		{name: "no auth", body: valid, header: http.Header{"Content-Type": {"application/json"}},
			status: 401, code: "unauthorized", field: "Authorization", msg: []string{"Authorization: Bearer", api.HeaderSignature}, challenge: true},
		{name: "wrong bearer token", body: valid, header: bearer("tok2"),
			status: 401, code: "unauthorized", field: "Authorization", msg: []string{"bearer token is not valid"}, challenge: true},
		{name: "token of another scheme", body: valid, header: http.Header{"Authorization": {"Basic " + token}},
			status: 401, code: "unauthorized", field: "Authorization", msg: []string{"must be: Bearer TOKEN"}, challenge: true},
		{name: "wrong secret", body: valid, header: signed(signer, []byte("not-the-secret"), clock, valid),
			status: 401, code: "unauthorized", field: api.HeaderSignature, exactMsg: badSig},
		{name: "signature over another body", body: valid, header: signed(signer, signerSecret, clock, other),
			status: 401, code: "unauthorized", field: api.HeaderSignature, exactMsg: badSig},
		{name: "signature over another time", body: valid,
			header: withHeader(signed(signer, signerSecret, clock, valid), api.HeaderTimestamp, strconv.FormatInt(clock.Unix()-1, 10)),
			status: 401, code: "unauthorized", field: api.HeaderSignature, exactMsg: badSig},
		{name: "signature without sha256=", body: valid,
			header: withHeader(signed(signer, signerSecret, clock, valid), api.HeaderSignature, strings.TrimPrefix(api.Sign(signerSecret, clock.Unix(), valid), "sha256=")),
			status: 401, code: "unauthorized", field: api.HeaderSignature, exactMsg: badSig},
		{name: "unknown source", body: valid, header: signed("ids-4e", signerSecret, clock, valid),
			status: 401, code: "unauthorized", field: api.HeaderSignature, exactMsg: badSig},
		{name: "unknown source, empty key", body: valid, header: signed("ids-4e", nil, clock, valid),
			status: 401, code: "unauthorized", field: api.HeaderSignature, exactMsg: badSig},
		{name: "stale timestamp", body: valid, header: signed(signer, signerSecret, clock.Add(-5*time.Minute-time.Second), valid),
			status: 401, code: "unauthorized", field: api.HeaderTimestamp, msg: []string{"5m1s from Ward's clock", "check the sender's clock"}},
		{name: "future timestamp", body: valid, header: signed(signer, signerSecret, clock.Add(time.Hour), valid),
			status: 401, code: "unauthorized", field: api.HeaderTimestamp, msg: []string{"-1h0m0s from Ward's clock"}},
		{name: "timestamp not a number", body: valid,
			header: withHeader(signed(signer, signerSecret, clock, valid), api.HeaderTimestamp, clock.Format(time.RFC3339)),
			status: 401, code: "unauthorized", field: api.HeaderTimestamp, msg: []string{"must be the Unix time in seconds"}},
		{name: "bad source name", body: valid, header: signed("ids 3w;drop", signerSecret, clock, valid),
			status: 401, code: "unauthorized", field: api.HeaderSource, msg: []string{"must name the sending source"}},
		{name: "no source", body: valid, header: withHeader(signed(signer, signerSecret, clock, valid), api.HeaderSource, ""),
			status: 401, code: "unauthorized", field: api.HeaderSource, msg: []string{"must name the sending source"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.counts(t)
			r := s.post(t, "", tc.body, tc.header)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			e := r.failure(t)
			if e.Code != tc.code || e.Field != tc.field {
				t.Errorf("code %q field %q, want %q %q: %s", e.Code, e.Field, tc.code, tc.field, r.body)
			}
			if tc.exactMsg != "" && e.Message != tc.exactMsg {
				t.Errorf("message %q, want %q", e.Message, tc.exactMsg)
			}
			for _, m := range tc.msg {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q does not say %q", e.Message, m)
				}
			}
			if got := r.header.Get("WWW-Authenticate"); tc.challenge && got != `Bearer realm="ward"` {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
			}
			if c := s.counts(t); c != before {
				t.Errorf("store changed: %+v, then %+v", before, c)
			}
		})
	}

	s.verifyAudit(t)

	// The body of the refusals above is fine: sent properly, it is taken.
	t.Run("control", func(t *testing.T) {
		if got := s.post(t, "", padded(maxBody), bearer(token)).accepted(t); got.Received != 1 {
			t.Fatalf("received %d, want 1", got.Received)
		}
		if got := s.post(t, "", other, signed(signer, signerSecret, clock.Add(-5*time.Minute), other)).accepted(t); got.Received != 1 {
			t.Fatalf("received %d, want 1", got.Received)
		}
	})
}

// TestAlertSigned checks that a signed request is taken, and that the
// signer's name, not the payload's source, scopes its alerts.
func TestAlertSigned(t *testing.T) {
	s := newTestServer(t, nil)
	body := []byte(`{"source":"siem","id":"INC-7","severity":"high","ip":"10.61.190.241"}` + "\n" +
		`{"id":"INC-8","severity":"low","mac":"24:6f:28:3c:4e:b0"}` + "\n")
	got := s.post(t, "", body, signed(signer, signerSecret, clock.Add(-time.Minute), body)).accepted(t)
	if got.Received != 2 {
		t.Fatalf("received %d, want 2", got.Received)
	}
	for i, r := range got.Results {
		var row store.Alert
		if err := s.st.DB.Take(&row, r.AlertID).Error; err != nil {
			t.Fatal(err)
		}
		if r.Source != signer || row.Source != signer {
			t.Errorf("alert %d: source %q, stored %q; want the signer %q", i, r.Source, row.Source, signer)
		}
	}
	if got.Results[0].Device != "tv-netlab-01" || got.Results[1].Device != "unknown-netlab-01" {
		t.Errorf("devices %q, %q; want tv-netlab-01, unknown-netlab-01", got.Results[0].Device, got.Results[1].Device)
	}
	var n int64
	s.st.DB.Model(&store.Alert{}).Where("source = ?", "siem").Count(&n)
	if n != 0 {
		t.Errorf("%d alerts stored under the payload's source", n)
	}
	// The same alerts sent with the token are siem's, not the signer's.
	again := s.post(t, "", []byte(`{"source":"siem","id":"INC-7","severity":"high","ip":"10.61.190.241"}`), bearer(token)).accepted(t)
	if r := again.Results[0]; r.Status != "recorded" || r.Source != "siem" {
		t.Errorf("%+v, want a new alert of siem", r)
	}
}

// TestRoutes checks the answers outside the alert intake.
func TestRoutes(t *testing.T) {
	s := newTestServer(t, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
		body         string // for 200
	}{
		{"GET", "/healthz", 200, "", `{"status":"ok"}`},
		{"GET", "/readyz", 200, "", `{"status":"ready"}`},
		{"GET", "/api/v1/nothing", 404, "not_found", ""},
		{"POST", "/api/v2/alerts", 404, "not_found", ""},
		{"PUT", "/api/v1/alerts", 405, "method_not_allowed", ""},
		{"DELETE", "/api/v1/alerts", 405, "method_not_allowed", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := s.do(t, tc.method, tc.path, nil, bearer(token))
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == http.StatusOK {
				if string(r.body) != tc.body {
					t.Errorf("body %s, want %s", r.body, tc.body)
				}
				return
			}
			e := r.failure(t)
			if e.Code != tc.code || !strings.Contains(e.Message, tc.method) || !strings.Contains(e.Message, tc.path) {
				t.Errorf("got %+v, want %s naming %s %s", e, tc.code, tc.method, tc.path)
			}
			if tc.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != "GET, POST" {
				t.Errorf("Allow %q, want GET, POST", r.header.Get("Allow"))
			}
		})
	}

	t.Run("readyz without the store", func(t *testing.T) {
		if err := s.st.Close(); err != nil {
			t.Fatal(err)
		}
		r := s.do(t, "GET", "/readyz", nil, nil)
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503: %s", r.status, r.body)
		}
		if e := r.failure(t); e.Code != "not_ready" || !strings.Contains(e.Message, "store") {
			t.Errorf("got %+v, want not_ready about the store", e)
		}
	})
}

// TestAlertStorm posts 1,000 alerts from 20 senders at once: every one is
// recorded, and no more than max_auto_per_hour of them act on their own.
func TestAlertStorm(t *testing.T) {
	const senders, perSender = 20, 50
	// Every sender uses the one bearer token: the per-sender rate limit is
	// off, as the storm guard is under test.
	s := newTestServer(t, func(c *api.Config) { c.AlertRate = -1 })
	var ips []string
	if err := s.st.DB.Model(&store.Device{}).Where("removed_at IS NULL AND ip <> ''").Order("id").Pluck("ip", &ips).Error; err != nil {
		t.Fatal(err)
	}
	if len(ips) < 100 {
		t.Fatalf("only %d inventory addresses", len(ips))
	}

	var (
		mu      sync.Mutex
		results []quarantine.Result
		wg      sync.WaitGroup
	)
	errs := make(chan string, senders*perSender)
	for g := range senders {
		wg.Go(func() {
			for j := range perSender {
				i := g*perSender + j
				body := fmt.Sprintf(`{"source":"siem","id":"STORM-%04d","severity":"high","ip":%q}`, i, ips[i%len(ips)])
				req, _ := http.NewRequest(http.MethodPost, s.url+"/api/v1/alerts", strings.NewReader(body))
				req.Header = bearer(token)
				resp, err := s.cli.Do(req)
				if err != nil {
					errs <- err.Error()
					continue
				}
				var out api.AlertsResponse
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted || err != nil || len(out.Results) != 1 {
					errs <- fmt.Sprintf("alert %d: status %d, %d results, %v", i, resp.StatusCode, len(out.Results), err)
					continue
				}
				mu.Lock()
				results = append(results, out.Results[0])
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	var rows int64
	s.st.DB.Model(&store.Alert{}).Count(&rows)
	if len(results) != senders*perSender || rows != senders*perSender {
		t.Fatalf("%d accepted, %d alert rows; want %d", len(results), rows, senders*perSender)
	}
	ids := map[uint64]bool{}
	auto := 0
	for _, r := range results {
		if r.Status != "recorded" || ids[r.AlertID] {
			t.Errorf("result %+v: want recorded, with its own alert ID", r)
		}
		ids[r.AlertID] = true
		if r.Action == quarantine.LevelIsolate || r.Action == quarantine.LevelRestrict {
			auto++
		}
	}
	const maxAuto = 20 // examples/hospital/policy/quarantine.hcl
	var quarantines, limited, unlinked int64
	s.st.DB.Model(&store.Quarantine{}).Where("status = ?", quarantine.StatusActive).Count(&quarantines)
	s.st.DB.Model(&store.Alert{}).Where("decision LIKE ?", "held by the storm guard%").Count(&limited)
	s.st.DB.Model(&store.Alert{}).Where("decision LIKE ? AND quarantine_id IS NULL", "held by the storm guard%").Count(&unlinked)
	// 1,000 high alerts over hundreds of devices: the guard, counting
	// exactly, lets through max_auto_per_hour and no more; the rest wait
	// for a person, each linked to its pending quarantine.
	if auto != maxAuto || quarantines != maxAuto {
		t.Errorf("%d automatic actions, %d active quarantines; want max_auto_per_hour = %d", auto, quarantines, maxAuto)
	}
	if limited == 0 || unlinked != 0 {
		t.Errorf("%d alerts held back by max_auto_per_hour, %d of them linked to no pending quarantine; want some, all linked", limited, unlinked)
	}
	held := 0
	for _, r := range results {
		if r.Held {
			held++
		}
	}
	if int64(held) != limited {
		t.Errorf("%d results say held, %d alerts recorded as held", held, limited)
	}
	if m := s.do(t, "GET", "/metrics", nil, s.as(store.RoleViewer)); !strings.Contains(string(m.body), fmt.Sprintf("ward_quarantine_held_total %d\n", held)) {
		t.Errorf("/metrics does not count the %d held alerts: %s", held, grepLines(string(m.body), "ward_quarantine_held"))
	}
	s.verifyAudit(t)
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
