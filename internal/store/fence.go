package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// TargetFence is the last fencing token handed out for a target (see
// migration 00011, internal/jobs.Owner and drivers.WithFence).
type TargetFence struct {
	Target string `gorm:"primaryKey"`
	Token  int64  `gorm:"not null"`
}

// bumpFence hands out 1 for a target never fenced, else its last token
// plus one, in one statement both dialects run (ON CONFLICT … RETURNING:
// PostgreSQL, SQLite ≥ 3.35).
const bumpFence = `INSERT INTO target_fences (target, token) VALUES (?, 1)
ON CONFLICT (target) DO UPDATE SET token = target_fences.token + 1
RETURNING token`

// NextFenceOn hands out the next fencing token for target on conn, a
// PostgreSQL connection of this store's database: the one holding the
// target's advisory lock, so that a session which lost the lock (ended by
// the server) cannot take a token.
func NextFenceOn(ctx context.Context, conn *sql.Conn, target string) (int64, error) {
	var token int64
	q := "INSERT INTO target_fences (target, token) VALUES ($1, 1) ON CONFLICT (target) DO UPDATE SET token = target_fences.token + 1 RETURNING token"
	if err := conn.QueryRowContext(ctx, q, target).Scan(&token); err != nil {
		return 0, fmt.Errorf("take the next fencing token of target %q: %w", target, err)
	}
	return token, nil
}

func nextFence(tx *gorm.DB, target string) (int64, error) {
	var token int64
	if err := tx.Raw(bumpFence, target).Scan(&token).Error; err != nil {
		return 0, fmt.Errorf("take the next fencing token of target %q: %w", target, err)
	}
	return token, nil
}

// AcquireFencedTargetLease takes the SQLite lease on want.Target for want,
// in one immediate transaction, if it is free, already want's (same
// Token), or stale(current) says its holder is gone; and, in the same
// transaction and only when want gets the lease, hands out the target's
// next fencing token: a lease taken over always carries a greater token
// than the one it replaced. It returns the lease as it stands afterwards,
// the token and whether want holds it.
func (s *Store) AcquireFencedTargetLease(ctx context.Context, want TargetOwner, stale func(cur TargetOwner) bool) (TargetOwner, int64, bool, error) {
	var cur TargetOwner
	var ok bool
	var token int64
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("target = ?", want.Target).Take(&cur).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			err = tx.Create(&want).Error
		case err != nil:
			return err
		case cur.Token == want.Token || stale(cur):
			err = tx.Where("target = ?", want.Target).Select("*").Updates(&want).Error
		default:
			return nil
		}
		if err != nil {
			return err
		}
		cur, ok = want, true
		token, err = nextFence(tx, want.Target)
		return err
	})
	if err != nil {
		return TargetOwner{}, 0, false, fmt.Errorf("take the lease on target %q: %w", want.Target, err)
	}
	return cur, token, ok, nil
}

// FenceOf returns the last fencing token handed out for target, 0 if none.
func (s *Store) FenceOf(ctx context.Context, target string) (int64, error) {
	var f TargetFence
	err := s.DB.WithContext(ctx).Where("target = ?", target).Take(&f).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the fencing token of target %q: %w", target, err)
	}
	return f.Token, nil
}
