package store

import (
	"context"

	"gorm.io/gorm/clause"
)

// RecordPolicyRevision returns the revision with this content hash,
// recording it (with its git commit and directory) the first time it is
// seen.
func (s *Store) RecordPolicyRevision(ctx context.Context, hash, gitCommit, dir string) (*PolicyRevision, error) {
	rev := &PolicyRevision{Hash: hash, GitCommit: gitCommit, Dir: dir, CreatedAt: s.Now()}
	db := s.DB.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "hash"}}, DoNothing: true}).Create(rev).Error; err != nil {
		return nil, err
	}
	var out PolicyRevision
	return &out, db.Where("hash = ?", hash).Take(&out).Error
}
