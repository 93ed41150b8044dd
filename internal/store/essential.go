package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// LastAppliedPlan returns the newest plan some target's last-applied state
// was pushed from: the plan whose recorded essential endpoints the next
// plan compares with (internal/plan/essential.go). It returns nil when no
// target was ever applied.
func (s *Store) LastAppliedPlan(ctx context.Context) (*Plan, error) {
	var row Plan
	err := s.DB.WithContext(ctx).
		Joins("JOIN apply_runs ON apply_runs.plan_id = plans.id").
		Joins("JOIN target_states ON target_states.apply_run_id = apply_runs.id").
		Order("apply_runs.id DESC").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the last applied plan: %w", err)
	}
	return &row, nil
}
