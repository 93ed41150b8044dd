package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		clock := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
		st.now = func() time.Time { return clock }

		secret, tok, err := st.CreateToken(ctx, "siem", RoleOperator, time.Hour, "cli:alice")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, TokenPrefix) || len(secret) < 40 {
			t.Fatalf("token text %q", secret)
		}
		var stored APIToken
		if err := st.DB.Where("name = ?", "siem").Take(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if stored.TokenHash == secret || strings.Contains(stored.TokenHash, secret[len(TokenPrefix):]) || stored.TokenHash != HashToken(secret) {
			t.Fatalf("stored %q for %q: want only its hash", stored.TokenHash, secret)
		}
		if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(clock.Add(time.Hour)) {
			t.Fatalf("expires %v", tok.ExpiresAt)
		}

		got, err := st.Authenticate(ctx, secret)
		if err != nil || got.Name != "siem" || got.Role != RoleOperator {
			t.Fatalf("Authenticate: %+v, %v", got, err)
		}
		if _, err := st.Authenticate(ctx, secret+"x"); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("wrong token: %v", err)
		}
		if _, err := st.Authenticate(ctx, "not-a-ward-token"); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("foreign token: %v", err)
		}

		if _, _, err := st.CreateToken(ctx, "siem", RoleViewer, 0, "cli:alice"); err == nil || !strings.Contains(err.Error(), "exists already") {
			t.Fatalf("duplicate name: %v", err)
		}
		if _, _, err := st.CreateToken(ctx, "bad name", RoleViewer, 0, "x"); err == nil {
			t.Fatal("a name with a space was accepted")
		}
		if _, _, err := st.CreateToken(ctx, "root", "superuser", 0, "x"); err == nil || !strings.Contains(err.Error(), "viewer, auditor, operator, admin") {
			t.Fatalf("unknown role: %v", err)
		}

		clock = clock.Add(time.Hour)
		if _, err := st.Authenticate(ctx, secret); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("expired token: %v", err)
		}

		secret2, _, err := st.CreateToken(ctx, "dashboard", RoleViewer, 0, "cli:alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.RevokeToken(ctx, "dashboard", "cli:bob"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, secret2); !errors.Is(err, ErrTokenRevoked) {
			t.Fatalf("revoked token: %v", err)
		}
		if _, err := st.RevokeToken(ctx, "dashboard", "cli:bob"); err == nil {
			t.Fatal("revoked twice")
		}
		if _, err := st.RevokeToken(ctx, "nobody", "cli:bob"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
		list, err := st.ListTokens(ctx)
		if err != nil || len(list) != 2 || list[0].Name != "dashboard" || list[0].RevokedAt == nil {
			t.Fatalf("list: %+v, %v", list, err)
		}
		evs, err := st.ListAudit(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Actor+" "+e.Action+" "+e.Object)
		}
		want := []string{"cli:bob token.revoke dashboard", "cli:alice token.create dashboard", "cli:alice token.create siem"}
		if strings.Join(actions, "|") != strings.Join(want, "|") {
			t.Fatalf("audit %q, want %q", actions, want)
		}
		for _, e := range evs {
			if strings.Contains(e.Detail, secret[len(TokenPrefix):]) || strings.Contains(e.Detail, secret2[len(TokenPrefix):]) {
				t.Fatalf("audit event holds a token: %s", e.Detail)
			}
		}
	})
}

func TestRoleAtLeast(t *testing.T) {
	for _, c := range []struct {
		role, min string
		want      bool
	}{
		{RoleAdmin, RoleViewer, true}, {RoleOperator, RoleOperator, true}, {RoleViewer, RoleOperator, false},
		{RoleOperator, RoleAdmin, false}, {"", RoleViewer, false}, {"root", RoleViewer, false},
	} {
		if got := RoleAtLeast(c.role, c.min); got != c.want {
			t.Errorf("RoleAtLeast(%q, %q) = %v", c.role, c.min, got)
		}
	}
}

// TestCheckMigrations: a migrated store is current; one whose schema is
// behind (the last migration not recorded) is not, which /readyz reports.
func TestCheckMigrations(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		if err := st.CheckMigrations(ctx); err != nil {
			t.Fatalf("fresh store: %v", err)
		}
		if err := st.DB.Exec(`DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)`).Error; err != nil {
			t.Fatal(err)
		}
		if err := st.CheckMigrations(ctx); err == nil || !strings.Contains(err.Error(), "migrations are pending") {
			t.Fatalf("schema behind: %v", err)
		}
	})
}

// TestAuditorRole: an auditor may do what a viewer may and no more, and
// only its reads are audited.
func TestAuditorRole(t *testing.T) {
	for _, c := range []struct {
		role, min string
		want      bool
	}{
		{RoleAuditor, RoleViewer, true}, {RoleAuditor, RoleAuditor, true}, {RoleAuditor, RoleOperator, false},
		{RoleAuditor, RoleAdmin, false}, {RoleOperator, RoleAuditor, true}, {RoleViewer, RoleAuditor, true},
	} {
		if got := RoleAtLeast(c.role, c.min); got != c.want {
			t.Errorf("RoleAtLeast(%q, %q) = %v, want %v", c.role, c.min, got, c.want)
		}
	}
	for _, r := range Roles() {
		if AuditsReads(r) != (r == RoleAuditor) {
			t.Errorf("AuditsReads(%q) = %v", r, AuditsReads(r))
		}
	}
}
