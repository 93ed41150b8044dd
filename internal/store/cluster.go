package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Replica is one ward serve process sharing this database
// (internal/cluster). Renewals grows while it runs: an observer judges it
// alive by seeing the counter move on its own monotonic clock; SeenAt is
// for people.
type Replica struct {
	ID   string `gorm:"primaryKey" json:"id"`
	Host string `gorm:"not null;default:''" json:"host"`
	Pid  int    `gorm:"not null;default:0" json:"pid"`
	// Machine is where Pid means something (internal/jobs.MachineID).
	Machine   string    `gorm:"not null;default:''" json:"machine"`
	Address   string    `gorm:"not null;default:''" json:"address"`
	Version   string    `gorm:"not null;default:''" json:"version"`
	StartedAt time.Time `gorm:"not null" json:"started_at"`
	SeenAt    time.Time `gorm:"not null" json:"seen_at"`
	Renewals  int64     `gorm:"not null;default:0" json:"renewals"`
}

func (Replica) TableName() string { return "cluster_replicas" }

// Leader is who holds one kind of leadership. Epoch grows by one at each
// change of holder — the fencing token of the leader's work — and Holder
// "" means the last leader resigned. Renewals grows while the holder
// lives; a claimant takes over only by naming the (Holder, Epoch,
// Renewals) it saw unchanged for a lease's length.
type Leader struct {
	Name      string    `gorm:"primaryKey" json:"name"`
	Holder    string    `gorm:"not null;default:''" json:"holder"`
	Epoch     int64     `gorm:"not null" json:"epoch"`
	Renewals  int64     `gorm:"not null;default:0" json:"renewals"`
	Since     time.Time `gorm:"not null" json:"since"`
	RenewedAt time.Time `gorm:"not null" json:"renewed_at"`
}

func (Leader) TableName() string { return "cluster_leader" }

// PutReplica records replica r as running, replacing an earlier row of
// the same id.
func (s *Store) PutReplica(ctx context.Context, r Replica) error {
	now := s.Now()
	if r.StartedAt.IsZero() {
		r.StartedAt = now
	}
	r.SeenAt = now
	err := s.DB.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).Create(&r).Error
	if err != nil {
		return fmt.Errorf("record replica %q: %w", r.ID, err)
	}
	return nil
}

// RenewReplica bumps replica id's renewal counter; false means its row is
// gone (another replica removed it as dead, or it stopped).
func (s *Store) RenewReplica(ctx context.Context, id string) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&Replica{}).Where("id = ?", id).
		Updates(map[string]any{"renewals": gorm.Expr("renewals + 1"), "seen_at": s.Now()})
	if res.Error != nil {
		return false, fmt.Errorf("renew replica %q: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// DeleteReplica removes replica id's row (a clean stop).
func (s *Store) DeleteReplica(ctx context.Context, id string) error {
	if err := s.DB.WithContext(ctx).Where("id = ?", id).Delete(&Replica{}).Error; err != nil {
		return fmt.Errorf("remove replica %q: %w", id, err)
	}
	return nil
}

// ReplicaByID returns replica id's row, or ErrNotFound.
func (s *Store) ReplicaByID(ctx context.Context, id string) (Replica, error) {
	var r Replica
	err := s.DB.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read replica %q: %w", id, err)
	}
	return r, nil
}

// ListReplicas returns every recorded replica, by id.
func (s *Store) ListReplicas(ctx context.Context) ([]Replica, error) {
	var out []Replica
	if err := s.DB.WithContext(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list replicas: %w", err)
	}
	return out, nil
}

// Leadership returns the leadership called name, or ErrNotFound if nobody
// ever held it.
func (s *Store) Leadership(ctx context.Context, name string) (Leader, error) {
	var l Leader
	err := s.DB.WithContext(ctx).Where("name = ?", name).Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return l, ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("read leadership %q: %w", name, err)
	}
	return l, nil
}

// ClaimLeadership makes holder the leader called name, with the next
// epoch, if the row is still as seen (nil: if there is no row yet). It
// returns the row as it stands afterwards and whether holder leads. The
// compare-and-set makes two claimants of one epoch impossible: one wins,
// the other sees the winner.
func (s *Store) ClaimLeadership(ctx context.Context, name, holder string, seen *Leader) (Leader, bool, error) {
	now := s.Now()
	db := s.DB.WithContext(ctx)
	var res *gorm.DB
	if seen == nil {
		res = db.Clauses(clause.OnConflict{DoNothing: true}).Create(&Leader{Name: name, Holder: holder, Epoch: 1, Since: now, RenewedAt: now})
	} else {
		res = db.Model(&Leader{}).Where("name = ? AND holder = ? AND epoch = ? AND renewals = ?", name, seen.Holder, seen.Epoch, seen.Renewals).
			Updates(map[string]any{"holder": holder, "epoch": gorm.Expr("epoch + 1"), "renewals": 0, "since": now, "renewed_at": now})
	}
	if res.Error != nil {
		return Leader{}, false, fmt.Errorf("claim leadership %q for %s: %w", name, holder, res.Error)
	}
	cur, err := s.Leadership(ctx, name)
	if err != nil {
		return Leader{}, false, err
	}
	return cur, res.RowsAffected == 1 && cur.Holder == holder, nil
}

// RenewLeadership bumps the renewals of leadership name if holder still
// holds it at epoch; false means it was lost.
func (s *Store) RenewLeadership(ctx context.Context, name, holder string, epoch int64) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&Leader{}).Where("name = ? AND holder = ? AND epoch = ?", name, holder, epoch).
		Updates(map[string]any{"renewals": gorm.Expr("renewals + 1"), "renewed_at": s.Now()})
	if res.Error != nil {
		return false, fmt.Errorf("renew leadership %q: %w", name, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ResignLeadership gives up leadership name if holder holds it at epoch,
// so that another replica takes it at once instead of after a lease.
func (s *Store) ResignLeadership(ctx context.Context, name, holder string, epoch int64) error {
	err := s.DB.WithContext(ctx).Model(&Leader{}).Where("name = ? AND holder = ? AND epoch = ?", name, holder, epoch).
		Update("holder", "").Error
	if err != nil {
		return fmt.Errorf("resign leadership %q: %w", name, err)
	}
	return nil
}
