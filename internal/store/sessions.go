package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// UISession is a sign-in session of the web UI, made from an API token:
// it acts with the token's name and role. Only the hash of its secret (the
// cookie's value) is stored, like a token's.
type UISession struct {
	ID         uint64 `gorm:"primaryKey"`
	IDHash     string `gorm:"column:id_hash;not null;uniqueIndex"`
	TokenName  string `gorm:"not null"`
	Role       string `gorm:"not null"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end, fixed at sign-in.
	ExpiresAt time.Time
	EndedAt   *time.Time
	// EndReason is why it ended: logout, idle, expired, token.
	EndReason string `gorm:"not null;default:''"`
}

// TableName is the sessions' table (migration 00006).
func (UISession) TableName() string { return "ui_sessions" }

// Why a session ended.
const (
	SessionLogout  = "logout"
	SessionIdle    = "idle"
	SessionExpired = "expired"
	SessionToken   = "token"
)

// ErrSessionEnded wraps the error of a session that is unknown or ended
// (the reason is in the message): the caller signs in again.
var ErrSessionEnded = errors.New("the session has ended")

// SessionPrefix starts every UI session secret, so a secret scanner can
// find one that leaked.
const SessionPrefix = "wardsess_"

// StartUISession signs in with an API token: it checks the token (as
// Authenticate does), stores a new session lasting at most absolute and
// audits the sign-in (ui.login) with it. It returns the session's secret,
// for the cookie, which is not stored. A bad token wraps ErrTokenUnknown,
// ErrTokenRevoked or ErrTokenExpired and audits nothing.
func (s *Store) StartUISession(ctx context.Context, token string, absolute time.Duration, remote string) (string, *UISession, error) {
	tok, err := s.Authenticate(ctx, token)
	if err != nil {
		return "", nil, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	secret := SessionPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := s.Now()
	sess := &UISession{IDHash: HashToken(secret), TokenName: tok.Name, Role: tok.Role, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(absolute)}
	if tok.ExpiresAt != nil && tok.ExpiresAt.Before(sess.ExpiresAt) {
		sess.ExpiresAt = *tok.ExpiresAt
	}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(sess).Error; err != nil {
			return err
		}
		_, err := s.Audit(tx, AuditEntry{Actor: "token:" + tok.Name, Action: "ui.login", Object: fmt.Sprintf("session %d", sess.ID),
			Detail: map[string]any{"role": tok.Role, "remote": remote, "expires_at": sess.ExpiresAt}})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

// UISessionFor returns the live session whose secret is secret and marks
// it seen (at most once a minute). A session idle longer than idle, past
// its absolute end, or whose token was revoked or has expired is ended
// (audited as ui.session_end) and an error wrapping ErrSessionEnded
// returned.
func (s *Store) UISessionFor(ctx context.Context, secret string, idle time.Duration) (*UISession, error) {
	var sess UISession
	err := s.DB.WithContext(ctx).Where("id_hash = ?", HashToken(secret)).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: unknown session", ErrSessionEnded)
	}
	if err != nil {
		return nil, err
	}
	if sess.EndedAt != nil {
		return nil, fmt.Errorf("%w (%s, %s)", ErrSessionEnded, sess.EndReason, sess.EndedAt.Format(time.RFC3339))
	}
	now := s.Now()
	reason := ""
	switch {
	case !now.Before(sess.ExpiresAt):
		reason = SessionExpired
	case now.Sub(sess.LastSeenAt) > idle:
		reason = SessionIdle
	default:
		var tok APIToken
		err := s.DB.WithContext(ctx).Where("name = ?", sess.TokenName).Take(&tok).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			reason = SessionToken
		case err != nil:
			return nil, err
		case tok.RevokedAt != nil || tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt):
			reason = SessionToken
		}
	}
	if reason != "" {
		if err := s.EndUISession(ctx, sess.ID, "ward", reason); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w (%s)", ErrSessionEnded, reason)
	}
	if now.Sub(sess.LastSeenAt) >= time.Minute {
		sess.LastSeenAt = now
		if err := s.DB.WithContext(ctx).Model(&UISession{}).Where("id = ?", sess.ID).Update("last_seen_at", now).Error; err != nil {
			return nil, err
		}
	}
	return &sess, nil
}

// EndUISession ends a live session for reason, audited as ui.logout (a
// logout) or ui.session_end (a timeout or a dead token) by actor. Ending
// an ended session changes nothing.
func (s *Store) EndUISession(ctx context.Context, id uint64, actor, reason string) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.Now()
		res := tx.Model(&UISession{}).Where("id = ? AND ended_at IS NULL", id).Updates(map[string]any{"ended_at": now, "end_reason": reason})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		action := "ui.session_end"
		if reason == SessionLogout {
			action = "ui.logout"
		}
		_, err := s.Audit(tx, AuditEntry{Actor: actor, Action: action, Object: fmt.Sprintf("session %d", id), Detail: map[string]any{"reason": reason}})
		return err
	})
}
