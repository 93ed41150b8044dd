package store

import (
	"context"
	"fmt"
)

// LatestJobsByKey returns, for each of keys that has a job, the newest
// job with that key (the highest id): after an enqueue, the job that will
// do the key's work — the one just added, or the queued one it was
// skipped for. A caller waits on it by reading again until it finished.
func (s *Store) LatestJobsByKey(ctx context.Context, keys ...string) (map[string]Job, error) {
	out := make(map[string]Job, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var rows []Job
	err := s.DB.WithContext(ctx).
		Where(`id IN (?)`, s.DB.Model(&Job{}).Select("MAX(id)").Where(`"key" IN ?`, keys).Group("key")).
		Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read the jobs with keys %v: %w", keys, err)
	}
	for _, j := range rows {
		out[j.Key] = j
	}
	return out, nil
}

// JobsByID returns the jobs with ids that still exist, by id: a caller
// that found its jobs (LatestJobsByKey) follows them by primary key.
func (s *Store) JobsByID(ctx context.Context, ids ...uint64) (map[uint64]Job, error) {
	out := make(map[uint64]Job, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Job
	if err := s.DB.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read jobs %v: %w", ids, err)
	}
	for _, j := range rows {
		out[j.ID] = j
	}
	return out, nil
}
