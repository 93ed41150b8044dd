package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/store"
)

// TestAuditorReadsAreAudited: each read an auditor makes is in the audit
// log, with what was read; a viewer's reads are not; an auditor cannot
// write.
func TestAuditorReadsAreAudited(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	reads := func(actor string) []store.AuditEvent {
		t.Helper()
		ev, err := s.st.ListAuditEvents(ctx, store.AuditQuery{Limit: 100, Actor: actor, Action: "read"})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	for _, path := range []string{"/api/v1/zones", "/api/v1/quarantines?status=pending", "/api/v1/whoami"} {
		if r := s.do(t, "GET", path, nil, s.as(store.RoleAuditor)); r.status != 200 {
			t.Fatalf("GET %s as auditor: %d %s", path, r.status, r.body)
		}
		if r := s.do(t, "GET", path, nil, s.as(store.RoleViewer)); r.status != 200 {
			t.Fatalf("GET %s as viewer: %d %s", path, r.status, r.body)
		}
	}
	got := reads("token:auditor-token")
	if len(got) != 3 {
		t.Fatalf("auditor reads audited: %d events, want 3: %+v", len(got), got)
	}
	// Newest first.
	if got[0].Object != "GET /api/v1/whoami" || got[1].Object != "GET /api/v1/quarantines" || !strings.Contains(string(got[1].Detail), "status=pending") ||
		got[2].Object != "GET /api/v1/zones" {
		t.Errorf("audited reads: %+v", got)
	}
	if v := reads("token:viewer-token"); len(v) != 0 {
		t.Errorf("a viewer's reads were audited: %+v", v)
	}
	if r := s.do(t, "POST", "/api/v1/plans", []byte(`{}`), s.as(store.RoleAuditor)); r.status != 403 {
		t.Errorf("POST /api/v1/plans as auditor: %d, want 403", r.status)
	}
	if ok, brk, err := s.st.VerifyAudit(ctx); err != nil || brk != nil || ok == 0 {
		t.Errorf("audit chain after audited reads: %d %v %v", ok, brk, err)
	}
}
