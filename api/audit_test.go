package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/store"
)

// newAuditServer is the API over a store of its own holding only what the
// audit routes need: a token of each role. With unkeyed > 0, that many
// events are first written by a store without a key, as by a Ward from
// before the log was keyed; key nil serves without an audit key. Every
// request goes through the conformance client, so each answer is also
// checked against openapi.yaml.
func newAuditServer(t *testing.T, key []byte, unkeyed int) (*testServer, *oaClient) {
	t.Helper()
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if unkeyed > 0 {
		old, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		appendEvents(t, old, "before.keying", unkeyed)
		old.Close()
	}
	var opts []store.Option
	if key != nil {
		opts = append(opts, store.WithAuditKey(key))
	}
	st, err := store.Open(ctx, url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := map[string]string{}
	for _, role := range store.Roles() {
		if tokens[role], _, err = st.CreateToken(ctx, role+"-token", role, 0, "test"); err != nil {
			t.Fatal(err)
		}
	}
	srv := api.New(api.Config{Store: st})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	s := &testServer{url: hs.URL, cli: hs.Client(), st: st, srv: srv, http: hs, tokens: tokens}

	doc := oaLoad(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return s, oaNewClient(t, s, doc, router, &oaRecorder{seen: map[oaSeen]int{}})
}

// appendEvents writes n audit events of action.
func appendEvents(t *testing.T, st *store.Store, action string, n int) {
	t.Helper()
	for i := range n {
		if _, err := st.AppendAudit(context.Background(), store.AuditEntry{Actor: "test", Action: action, Object: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// auditRows reads the log's size and head with SQL, apart from the code
// under test.
func auditRows(t *testing.T, st *store.Store) (count int, headSeq uint64, headHash string) {
	t.Helper()
	if err := st.DB.Raw("SELECT COUNT(*) FROM audit_events").Scan(&count).Error; err != nil {
		t.Fatal(err)
	}
	row := st.DB.Raw("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Row()
	if err := row.Scan(&headSeq, &headHash); err != nil {
		t.Fatal(err)
	}
	return count, headSeq, headHash
}

// tamper runs SQL on the audit log with its append-only triggers dropped,
// as someone with write access to the database could.
func tamper(t *testing.T, st *store.Store, sql string, args ...any) {
	t.Helper()
	for _, trig := range []string{"audit_events_no_update", "audit_events_no_delete"} {
		if err := st.DB.Exec("DROP TRIGGER IF EXISTS " + trig).Error; err != nil {
			t.Fatal(err)
		}
	}
	res := st.DB.Exec(sql, args...)
	if res.Error != nil || res.RowsAffected == 0 {
		t.Fatalf("%s: %v (%d rows)", sql, res.Error, res.RowsAffected)
	}
}

func verifyGET(t *testing.T, c *oaClient) api.AuditVerify {
	t.Helper()
	var v api.AuditVerify
	c.want(t, 200, oaValid, "GET", "/api/v1/audit/verify", nil, c.as(store.RoleViewer)).decode(t, &v)
	return v
}

func verifyPOST(t *testing.T, c *oaClient, cp any) api.AuditVerify {
	t.Helper()
	var v api.AuditVerify
	c.want(t, 200, oaValid, "POST", "/api/v1/audit/verify", cp, c.as(store.RoleViewer)).decode(t, &v)
	return v
}

func checkpoint(t *testing.T, c *oaClient) *store.AuditCheckpoint {
	t.Helper()
	var cp store.AuditCheckpoint
	c.want(t, 200, oaValid, "GET", "/api/v1/audit/checkpoint", nil, c.as(store.RoleAdmin)).decode(t, &cp)
	return &cp
}

// failureOf decodes an error envelope.
func failureOf(t *testing.T, r oaResp) api.ErrorDetail {
	t.Helper()
	var env api.ErrorBody
	r.decode(t, &env)
	return env.Error
}

// TestAuditVerifyReport: on an intact log upgraded to the keyed chain,
// verify answers what ward audit verify prints — every event intact, the
// unkeyed ones (written before keying) counted as unkeyed and the later as
// keyed, the head as the database holds it — and the log lists each
// event's scheme and key id.
func TestAuditVerifyReport(t *testing.T) {
	const unkeyed = 3
	s, c := newAuditServer(t, []byte(testAuditKey), unkeyed)
	appendEvents(t, s.st, "after.keying", 4)
	count, headSeq, headHash := auditRows(t, s.st)
	keyID := s.st.AuditKeyID()

	v := verifyGET(t, c)
	if !v.Intact || v.Break != nil || v.Events != count || v.Unkeyed != unkeyed || v.Keyed != count-unkeyed || v.KeyID != keyID || v.Checkpoint != nil {
		t.Errorf("verify: %+v, want intact, %d events, %d unkeyed, %d keyed with %s", v, count, unkeyed, count-unkeyed, keyID)
	}
	if v.Head == nil || v.Head.Seq != headSeq || v.Head.Hash != headHash {
		t.Errorf("head %+v, the database's is event %d hash %s", v.Head, headSeq, headHash)
	}

	var events []api.AuditEvent
	c.want(t, 200, oaValid, "GET", "/api/v1/audit?limit=1000", nil, c.as(store.RoleViewer)).decode(t, &events)
	if len(events) != count {
		t.Fatalf("%d events listed, the database holds %d", len(events), count)
	}
	for _, e := range events {
		want := api.AuditEvent{Scheme: "hmac-sha256", KeyID: keyID}
		if e.Seq <= unkeyed {
			want = api.AuditEvent{Scheme: "sha256", KeyID: ""}
		}
		if e.Scheme != want.Scheme || e.KeyID != want.KeyID {
			t.Errorf("event %d (%s): scheme %q key %q, want %q %q", e.Seq, e.Action, e.Scheme, e.KeyID, want.Scheme, want.KeyID)
		}
	}
}

// TestAuditVerifyTampered: a row edited or deleted behind the triggers'
// back breaks the chain at that event: verify answers 200, intact false,
// the events before it, the break's seq and reason, and the head still
// read; no checkpoint is signed over the damage.
func TestAuditVerifyTampered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    string
		events int // intact before the break, at event 4 in both
		reason string
	}{
		{"edited", "UPDATE audit_events SET object = 'forged' WHERE seq = 4", 3, "does not match its keyed hash"},
		// The first event that cannot be trusted is the one after the
		// gap: it no longer follows the one before it.
		{"deleted", "DELETE FROM audit_events WHERE seq = 3", 2, "event 3 is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newAuditServer(t, []byte(testAuditKey), 0)
			appendEvents(t, s.st, "test.event", 6)
			if v := verifyGET(t, c); !v.Intact {
				t.Fatalf("before tampering: %+v", v)
			}
			tamper(t, s.st, tc.sql)
			_, headSeq, headHash := auditRows(t, s.st)

			v := verifyGET(t, c)
			if v.Intact || v.Break == nil {
				t.Fatalf("tampered log reported intact: %+v", v)
			}
			if v.Break.Seq != 4 || v.Events != tc.events || v.Keyed != tc.events || v.Break.Missing || !strings.Contains(v.Break.Reason, tc.reason) ||
				!strings.Contains(v.Break.Message, "audit event 4") {
				t.Errorf("break %+v after %d events (%d keyed), want event 4: %q", v.Break, v.Events, v.Keyed, tc.reason)
			}
			if v.Head == nil || v.Head.Seq != headSeq || v.Head.Hash != headHash {
				t.Errorf("head %+v, the database's is event %d", v.Head, headSeq)
			}

			r := c.want(t, 409, oaValid, "GET", "/api/v1/audit/checkpoint", nil, c.as(store.RoleAdmin))
			if e := failureOf(t, r); e.Code != "audit_broken" || !strings.Contains(e.Message, "audit event 4") {
				t.Errorf("checkpoint of a broken log: %+v", e)
			}
		})
	}
}

// TestAuditVerifyCheckpoint: a checkpoint fetched from the API exposes
// what a plain verify cannot: a cut tail (the log ends before its event)
// and a rewritten one (Ward wrote on over the cut, so the log reaches the
// checkpoint's sequence again with another event there).
func TestAuditVerifyCheckpoint(t *testing.T) {
	s, c := newAuditServer(t, []byte(testAuditKey), 2)
	appendEvents(t, s.st, "test.event", 6)
	count, headSeq, headHash := auditRows(t, s.st)

	cp := checkpoint(t, c)
	if cp.Format != store.AuditCheckpointFormat || cp.Seq != headSeq || cp.Hash != headHash || cp.Events != count || cp.KeyID != s.st.AuditKeyID() || cp.MAC == "" {
		t.Fatalf("checkpoint %+v, the log's head is event %d hash %s, %d events", cp, headSeq, headHash, count)
	}
	if v := verifyPOST(t, c, cp); !v.Intact || v.Events != count || v.Checkpoint == nil || *v.Checkpoint != *cp {
		t.Fatalf("against its own checkpoint: %+v", v)
	}
	// The log grows past the checkpoint: still holds.
	appendEvents(t, s.st, "test.later", 2)
	if v := verifyPOST(t, c, cp); !v.Intact || v.Head == nil || v.Head.Seq != cp.Seq+2 {
		t.Fatalf("after two more events: %+v", v)
	}

	// Cut: the last two events the checkpoint saw, and those after, go.
	tamper(t, s.st, "DELETE FROM audit_events WHERE seq > ?", cp.Seq-2)
	if v := verifyGET(t, c); !v.Intact || v.Head == nil || v.Head.Seq != cp.Seq-2 {
		t.Fatalf("without the checkpoint the cut log is a valid chain ending at %d: %+v", cp.Seq-2, v)
	}
	v := verifyPOST(t, c, cp)
	if v.Intact || v.Break == nil || v.Break.Seq != cp.Seq-1 || !v.Break.Missing || !strings.Contains(v.Break.Reason, "tail was deleted") ||
		v.Events != int(cp.Seq-2) || v.Head == nil || v.Head.Seq != cp.Seq-2 {
		t.Errorf("cut tail against the checkpoint: %+v (break %+v), want the break at event %d, missing", v, v.Break, cp.Seq-1)
	}

	// Rewritten: Ward writes on over the cut, with its key, so the log is
	// again a valid keyed chain through the checkpoint's sequence.
	appendEvents(t, s.st, "test.after-cut", 4)
	if v := verifyGET(t, c); !v.Intact || v.Head == nil || v.Head.Seq != cp.Seq+2 {
		t.Fatalf("without the checkpoint the rewritten log is a valid chain: %+v", v)
	}
	v = verifyPOST(t, c, cp)
	if v.Intact || v.Break == nil || v.Break.Seq != cp.Seq || v.Break.Missing || !strings.Contains(v.Break.Reason, "does not match the checkpoint") {
		t.Errorf("rewritten tail against the checkpoint: %+v (break %+v), want the break at event %d", v, v.Break, cp.Seq)
	}
}

// TestAuditCheckpointRefused: a body that is not a checkpoint, or a
// checkpoint that is not genuine, is a 400 naming what is wrong — never a
// verdict on the log. The edit that matters most: lowering seq (with the
// hash of the event there) so a cut tail would pass.
func TestAuditCheckpointRefused(t *testing.T) {
	s, c := newAuditServer(t, []byte(testAuditKey), 0)
	appendEvents(t, s.st, "test.event", 5)
	cp := checkpoint(t, c)
	var hashAt3 string
	if err := s.st.DB.Raw("SELECT hash FROM audit_events WHERE seq = 3").Scan(&hashAt3).Error; err != nil {
		t.Fatal(err)
	}
	edit := func(f func(*store.AuditCheckpoint)) store.AuditCheckpoint {
		out := *cp
		f(&out)
		return out
	}
	_, other := newAuditServer(t, []byte("another Ward's audit key, 32+ bytes"), 0)
	foreign := checkpoint(t, other)

	for _, tc := range []struct {
		name  string
		mode  oaMode
		body  any
		code  string
		field string
		says  string
	}{
		{"empty", oaInvalid, "", "invalid_json", "", "empty"},
		{"not an object", oaInvalid, `[]`, "invalid_json", "", "JSON object"},
		{"unknown field", oaInvalid, `{"format":"ward-audit-checkpoint/1","extra":1}`, "unknown_field", "extra", "extra"},
		{"wrong type", oaInvalid, `{"format":"ward-audit-checkpoint/1","seq":"7"}`, "invalid_field", "seq", "seq"},
		{"other format", oaInvalid, edit(func(x *store.AuditCheckpoint) { x.Format = "ward-audit-checkpoint/2" }), "invalid_checkpoint", "format", "ward-audit-checkpoint/1"},
		{"seq lowered", oaValid, edit(func(x *store.AuditCheckpoint) { x.Seq, x.Hash, x.Events = 3, hashAt3, 3 }), "invalid_checkpoint", "", "signature does not match"},
		{"unsigned", oaValid, edit(func(x *store.AuditCheckpoint) { x.MAC = "" }), "invalid_checkpoint", "", "signature does not match"},
		{"another key", oaValid, foreign, "invalid_checkpoint", "", foreign.KeyID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.want(t, 400, tc.mode, "POST", "/api/v1/audit/verify", tc.body, c.as(store.RoleViewer))
			e := failureOf(t, r)
			if e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.says) {
				t.Errorf("%+v, want code %s field %q naming %q", e, tc.code, tc.field, tc.says)
			}
		})
	}
	// The genuine checkpoint still verifies: nothing above was taken for it.
	if v := verifyPOST(t, c, cp); !v.Intact {
		t.Errorf("genuine checkpoint: %+v", v)
	}
}

// TestAuditWithoutKey: a Ward without the audit key (only possible in
// tests: ward serve loads it) verifies its unkeyed log, counted as
// unkeyed, and answers 503 no_audit_key where the key is needed: to sign a
// checkpoint or check one.
func TestAuditWithoutKey(t *testing.T) {
	s, c := newAuditServer(t, nil, 2)
	count, _, _ := auditRows(t, s.st)
	if v := verifyGET(t, c); !v.Intact || v.Events != count || v.Unkeyed != count || v.Keyed != 0 || v.KeyID != "" {
		t.Errorf("verify without a key: %+v, want %d unkeyed events", v, count)
	}
	r := c.want(t, 503, oaValid, "GET", "/api/v1/audit/checkpoint", nil, c.as(store.RoleAdmin))
	if e := failureOf(t, r); e.Code != "no_audit_key" {
		t.Errorf("checkpoint without a key: %+v", e)
	}
	_, keyed := newAuditServer(t, []byte(testAuditKey), 0)
	r = c.want(t, 503, oaValid, "POST", "/api/v1/audit/verify", checkpoint(t, keyed), c.as(store.RoleViewer))
	if e := failureOf(t, r); e.Code != "no_audit_key" {
		t.Errorf("checking a checkpoint without a key: %+v", e)
	}
}
