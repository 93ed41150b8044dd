package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUISessions: a session made from a token lives until logout, its idle
// or absolute timeout, or its token's revocation; only its hash is
// stored; sign-in, logout and timeouts are audited.
func TestUISessions(t *testing.T) {
	for d, url := range dbURLs(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			st, err := Open(ctx, url, WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if !st.DB.Migrator().HasTable(&UISession{}) {
				t.Fatal("ui_sessions missing")
			}
			tok, _, err := st.CreateToken(ctx, "rev", RoleAuditor, 0, "test")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.StartUISession(ctx, "ward_nope", time.Hour, "127.0.0.1"); !errors.Is(err, ErrTokenUnknown) {
				t.Fatalf("bad token: %v", err)
			}
			secret, sess, err := st.StartUISession(ctx, tok, 12*time.Hour, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			if sess.Role != RoleAuditor || sess.TokenName != "rev" || !strings.HasPrefix(secret, SessionPrefix) {
				t.Fatalf("session: %+v", sess)
			}
			var stored UISession
			if err := st.DB.Take(&stored, sess.ID).Error; err != nil || stored.IDHash == secret || stored.IDHash != HashToken(secret) {
				t.Fatalf("stored: %+v %v", stored, err)
			}
			// Seen every 20 minutes: never idle for 30.
			for range 3 {
				advance(20 * time.Minute)
				if _, err := st.UISessionFor(ctx, secret, 30*time.Minute); err != nil {
					t.Fatalf("live session refused: %v", err)
				}
			}
			advance(31 * time.Minute)
			if _, err := st.UISessionFor(ctx, secret, 30*time.Minute); !errors.Is(err, ErrSessionEnded) || !strings.Contains(err.Error(), SessionIdle) {
				t.Fatalf("idle session: %v", err)
			}
			if _, err := st.UISessionFor(ctx, secret, time.Hour); !errors.Is(err, ErrSessionEnded) {
				t.Fatalf("an idle-ended session came back: %v", err)
			}
			// Absolute timeout, though seen often.
			s2, _, err := st.StartUISession(ctx, tok, time.Hour, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				advance(20 * time.Minute)
				if _, err := st.UISessionFor(ctx, s2, 30*time.Minute); err != nil {
					if !errors.Is(err, ErrSessionEnded) || !strings.Contains(err.Error(), SessionExpired) {
						t.Fatalf("absolute timeout: %v", err)
					}
				}
			}
			if _, err := st.UISessionFor(ctx, s2, 30*time.Minute); !errors.Is(err, ErrSessionEnded) {
				t.Fatalf("session outlived its absolute timeout: %v", err)
			}
			// Logout; and a revoked token ends its sessions.
			s3, sess3, err := st.StartUISession(ctx, tok, time.Hour, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			if err := st.EndUISession(ctx, sess3.ID, "token:rev", SessionLogout); err != nil {
				t.Fatal(err)
			}
			if _, err := st.UISessionFor(ctx, s3, time.Hour); !errors.Is(err, ErrSessionEnded) {
				t.Fatalf("after logout: %v", err)
			}
			s4, _, err := st.StartUISession(ctx, tok, time.Hour, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.RevokeToken(ctx, "rev", "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.UISessionFor(ctx, s4, time.Hour); !errors.Is(err, ErrSessionEnded) || !strings.Contains(err.Error(), SessionToken) {
				t.Fatalf("revoked token's session: %v", err)
			}
			count := map[string]int{}
			evs, err := st.ListAuditEvents(ctx, AuditQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				count[e.Action]++
				if strings.Contains(string(e.Detail), secret) || strings.Contains(string(e.Detail), tok) {
					t.Errorf("audit event %s holds a secret: %s", e.Action, e.Detail)
				}
			}
			if count["ui.login"] != 4 || count["ui.logout"] != 1 || count["ui.session_end"] != 3 {
				t.Errorf("audited: %v", count)
			}
		})
	}
}
