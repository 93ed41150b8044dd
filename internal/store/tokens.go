package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// API token roles: a viewer reads; an auditor reads what a viewer reads,
// and each of its reads (API and UI) is written to the audit log, so a
// compliance review leaves its own trail; an operator also quarantines,
// releases, imports and plans; an admin also applies, approves isolates
// and manages tokens.
const (
	RoleViewer   = "viewer"
	RoleAuditor  = "auditor"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// Roles returns the roles, weakest first (viewer and auditor grant the
// same).
func Roles() []string { return []string{RoleViewer, RoleAuditor, RoleOperator, RoleAdmin} }

// roleRank orders the roles by what they grant; an auditor ranks with a
// viewer: it may do exactly what a viewer may.
func roleRank(role string) int {
	switch role {
	case RoleViewer, RoleAuditor:
		return 0
	case RoleOperator:
		return 1
	case RoleAdmin:
		return 2
	}
	return -1
}

// RoleAtLeast reports whether role grants at least what min grants.
func RoleAtLeast(role, min string) bool {
	r, m := roleRank(role), roleRank(min)
	return r >= 0 && m >= 0 && r >= m
}

// AuditsReads reports whether every read made with role is written to the
// audit log.
func AuditsReads(role string) bool { return role == RoleAuditor }

// TokenPrefix starts every API token, so a secret scanner can find one
// that leaked into a file or a ticket.
const TokenPrefix = "ward_"

// Token errors; Authenticate wraps one of these.
var (
	ErrTokenUnknown = errors.New("the token is not known")
	ErrTokenRevoked = errors.New("the token was revoked")
	ErrTokenExpired = errors.New("the token has expired")
	// ErrTokenInvalid wraps a CreateToken refused for its name or role,
	// ErrTokenExists one whose name is taken.
	ErrTokenInvalid = errors.New("invalid token request")
	ErrTokenExists  = errors.New("token name taken")
)

// tokenError is an error that reads as msg and matches kind.
type tokenError struct {
	msg  string
	kind error
}

func (e *tokenError) Error() string { return e.msg }
func (e *tokenError) Unwrap() error { return e.kind }

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// HashToken is how a token is stored: SHA-256 in hex. A token is 256
// random bits, so a fast hash is enough; nothing can be guessed from it.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a token with role, stores only its hash, audits it and
// returns the token's text, which cannot be shown again. expires <= 0
// means it never expires.
func (s *Store) CreateToken(ctx context.Context, name, role string, expires time.Duration, actor string) (string, *APIToken, error) {
	if !tokenName.MatchString(name) {
		return "", nil, &tokenError{fmt.Sprintf("token name %q: use 1-64 letters, digits and _.@- (starting with a letter or digit)", name), ErrTokenInvalid}
	}
	if !slices.Contains(Roles(), role) {
		return "", nil, &tokenError{fmt.Sprintf("role %q: want one of %s", role, strings.Join(Roles(), ", ")), ErrTokenInvalid}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := s.Now()
	t := &APIToken{Name: name, Role: role, TokenHash: HashToken(secret), CreatedAt: now}
	if expires > 0 {
		exp := now.Add(expires)
		t.ExpiresAt = &exp
	}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&APIToken{}).Where("name = ?", name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return &tokenError{fmt.Sprintf("a token named %q exists already (ward token list); choose another name", name), ErrTokenExists}
		}
		if err := tx.Create(t).Error; err != nil {
			return err
		}
		detail := map[string]any{"role": role}
		if t.ExpiresAt != nil {
			detail["expires_at"] = t.ExpiresAt
		}
		_, err := s.Audit(tx, AuditEntry{Actor: actor, Action: "token.create", Object: name, Detail: detail})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// ListTokens returns every token, revoked ones too, by name.
func (s *Store) ListTokens(ctx context.Context) ([]APIToken, error) {
	var ts []APIToken
	return ts, s.DB.WithContext(ctx).Order("name").Find(&ts).Error
}

// RevokeToken revokes a token by name, at once and for good, and audits it.
func (s *Store) RevokeToken(ctx context.Context, name, actor string) (*APIToken, error) {
	var t APIToken
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("name = ?", name).Take(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("token %q: %w", name, ErrNotFound)
			}
			return err
		}
		if t.RevokedAt != nil {
			return &tokenError{fmt.Sprintf("token %q was revoked already, at %s", name, t.RevokedAt.Format(time.RFC3339)), ErrTokenRevoked}
		}
		now := s.Now()
		t.RevokedAt = &now
		if err := tx.Model(&t).Update("revoked_at", now).Error; err != nil {
			return err
		}
		_, err := s.Audit(tx, AuditEntry{Actor: actor, Action: "token.revoke", Object: name, Detail: map[string]any{"role": t.Role}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Authenticate returns the token whose text is secret, or an error
// wrapping ErrTokenUnknown, ErrTokenRevoked or ErrTokenExpired. It records
// when a token was last used, at most once a minute.
func (s *Store) Authenticate(ctx context.Context, secret string) (*APIToken, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return nil, ErrTokenUnknown
	}
	var t APIToken
	err := s.DB.WithContext(ctx).Where("token_hash = ?", HashToken(secret)).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrTokenUnknown
	}
	if err != nil {
		return nil, err
	}
	now := s.Now()
	switch {
	case t.RevokedAt != nil:
		return nil, fmt.Errorf("%w (token %q, %s)", ErrTokenRevoked, t.Name, t.RevokedAt.Format(time.RFC3339))
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return nil, fmt.Errorf("%w (token %q, %s)", ErrTokenExpired, t.Name, t.ExpiresAt.Format(time.RFC3339))
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		t.LastUsedAt = &now
		// Best effort: a failed bookkeeping write does not refuse the caller.
		s.DB.WithContext(ctx).Model(&APIToken{}).Where("id = ?", t.ID).Update("last_used_at", now)
	}
	return &t, nil
}
