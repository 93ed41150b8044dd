package store

import (
	"context"
	"fmt"
)

// WardIdentity is the database's one identity row (migration 00012): a
// random id made once per database, kept by a restore from a backup (it
// is data), new in every new database.
type WardIdentity struct {
	One int    `gorm:"primaryKey"` // always 1: one row
	ID  string `gorm:"not null"`
}

// TableName keeps the singular name the migration gives the table.
func (WardIdentity) TableName() string { return "ward_identity" }

// DatabaseID returns this database's identity, 32 lowercase hex digits.
// Fencing tokens are counted per database, so a device keeps this id
// beside the highest token it has seen (drivers.WithFenceDomain): a token
// from another database is a new installation resetting the device's
// fence, not a stale holder. It never changes for a database; callers
// that ask often (internal/jobs.Owner) keep it.
func (s *Store) DatabaseID(ctx context.Context) (string, error) {
	var w WardIdentity
	if err := s.DB.WithContext(ctx).Where("one = 1").Take(&w).Error; err != nil {
		return "", fmt.Errorf("read the database's identity (table ward_identity, migration 00012): %w; check that the database is reachable and fully migrated", err)
	}
	return w.ID, nil
}
