package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// CreatePlan stores a plan; row.ID is set. Each audit, given the plan's
// id, is an event written in the same transaction (plan.create).
func (s *Store) CreatePlan(ctx context.Context, row *Plan, audit ...func(id uint64) AuditEntry) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			return fmt.Errorf("recording the plan: %w", err)
		}
		for _, a := range audit {
			if _, err := s.Audit(tx, a(row.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetPlan reads plan id; an error wrapping ErrNotFound when there is none.
func (s *Store) GetPlan(ctx context.Context, id uint64) (*Plan, error) {
	var row Plan
	err := s.DB.WithContext(ctx).Take(&row, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("plan %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading plan %d: %w", id, err)
	}
	return &row, nil
}

// ListPlans returns a page of plans, newest first, and how many there are.
func (s *Store) ListPlans(ctx context.Context, limit, offset int) ([]Plan, int, error) {
	db := s.DB.WithContext(ctx)
	var total int64
	if err := db.Model(&Plan{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("counting plans: %w", err)
	}
	var rows []Plan
	if err := db.Order("id DESC").Limit(limit).Offset(offset).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("listing plans: %w", err)
	}
	return rows, int(total), nil
}

// StartApplyRun records the start of an apply; run.ID is set.
func (s *Store) StartApplyRun(ctx context.Context, run *ApplyRun) error {
	if err := s.DB.WithContext(ctx).Create(run).Error; err != nil {
		return fmt.Errorf("recording the apply run: %w", err)
	}
	return nil
}

// FinishApplyRun records how apply run id ended.
func (s *Store) FinishApplyRun(ctx context.Context, id uint64, status, summary string) error {
	now := s.Now()
	err := s.DB.WithContext(ctx).Model(&ApplyRun{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "summary": summary, "finished_at": now}).Error
	if err != nil {
		return fmt.Errorf("recording the end of apply run %d: %w", id, err)
	}
	return nil
}

// GetApplyRun reads apply run id; an error wrapping ErrNotFound when there
// is none.
func (s *Store) GetApplyRun(ctx context.Context, id uint64) (*ApplyRun, error) {
	var run ApplyRun
	err := s.DB.WithContext(ctx).Take(&run, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("apply run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading apply run %d: %w", id, err)
	}
	return &run, nil
}

// TargetStates returns every target's last-applied state.
func (s *Store) TargetStates(ctx context.Context) ([]TargetState, error) {
	var rows []TargetState
	if err := s.DB.WithContext(ctx).Order("target").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the targets' last-applied states: %w", err)
	}
	return rows, nil
}

// TargetStateOf returns target's last-applied state, or nil when Ward
// never applied to it.
func (s *Store) TargetStateOf(ctx context.Context, target string) (*TargetState, error) {
	var row TargetState
	err := s.DB.WithContext(ctx).Where("target = ?", target).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("target %s: reading its last-applied state: %w", target, err)
	}
	return &row, nil
}

// AppliedTargets names the targets Ward has applied to, sorted.
func (s *Store) AppliedTargets(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.DB.WithContext(ctx).Model(&TargetState{}).Order("target").Pluck("target", &out).Error; err != nil {
		return nil, fmt.Errorf("listing the targets Ward applied to: %w", err)
	}
	return out, nil
}

// TargetStateHash returns the hash of a target's last-applied state, or ""
// when Ward never applied to it.
func (s *Store) TargetStateHash(ctx context.Context, target string) (string, error) {
	var row TargetState
	err := s.DB.WithContext(ctx).Where("target = ?", target).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("target %s: reading its last-applied state: %w", target, err)
	}
	return row.Hash, nil
}

// SaveTargetState replaces a target's last-applied state and appends the
// audit event that says so, in one transaction: the state never changes
// without its event.
func (s *Store) SaveTargetState(ctx context.Context, row TargetState, e AuditEntry) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Save(&row).Error; err != nil {
			return fmt.Errorf("target %s: saving its last-applied state: %w", row.Target, err)
		}
		_, err := s.Audit(tx, e)
		return err
	})
}
