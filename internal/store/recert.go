package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// RecertCampaign is a recertification campaign: the owners of the flows in
// force under the policy PolicyHash names are asked to re-approve each flow
// (or let it expire) by DueAt. Migration 00007.
type RecertCampaign struct {
	ID         uint64 `gorm:"primaryKey"`
	Name       string `gorm:"not null"`
	CreatedBy  string `gorm:"not null"`
	CreatedAt  time.Time
	DueAt      time.Time
	PolicyHash string `gorm:"not null"`
	// Status is RecertOpen or RecertClosed.
	Status   string `gorm:"not null;default:'open'"`
	ClosedBy string `gorm:"not null;default:''"`
	ClosedAt *time.Time
}

// TableName is the campaigns' table (migration 00007).
func (RecertCampaign) TableName() string { return "recert_campaigns" }

// RecertItem is one flow of a campaign and its owner's decision.
type RecertItem struct {
	ID         uint64 `gorm:"primaryKey"`
	CampaignID uint64 `gorm:"not null"`
	Flow       string `gorm:"not null"`
	Owner      string `gorm:"not null;default:''"`
	// Decision is RecertPending until someone decides: RecertRecertify or
	// RecertExpire, with who, when and why.
	Decision  string `gorm:"not null;default:'pending'"`
	DecidedBy string `gorm:"not null;default:''"`
	DecidedAt *time.Time
	Comment   string `gorm:"not null;default:''"`
}

// TableName is the items' table (migration 00007).
func (RecertItem) TableName() string { return "recert_items" }

// Campaign statuses and item decisions.
const (
	RecertOpen      = "open"
	RecertClosed    = "closed"
	RecertPending   = "pending"
	RecertRecertify = "recertify"
	RecertExpire    = "expire"
)

// ErrRecertDecided wraps the refusal of a decision on an item that is
// already decided: the first decision stands.
var ErrRecertDecided = errors.New("the flow is already decided in this campaign")

// ErrRecertClosed wraps the refusal of a change to a closed campaign.
var ErrRecertClosed = errors.New("the campaign is closed")

// CreateRecertCampaign stores c (ID, CreatedAt and Status are set here)
// with one pending item per entry of items, and audits it (recert.start),
// in one transaction.
func (s *Store) CreateRecertCampaign(ctx context.Context, c *RecertCampaign, items []RecertItem) error {
	if len(items) == 0 {
		return errors.New("a recertification campaign needs at least one flow")
	}
	c.ID, c.CreatedAt, c.Status, c.ClosedBy, c.ClosedAt = 0, s.Now(), RecertOpen, "", nil
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		for i := range items {
			it := &items[i]
			it.ID, it.CampaignID, it.Decision, it.DecidedBy, it.DecidedAt, it.Comment = 0, c.ID, RecertPending, "", nil, ""
		}
		if err := tx.Create(&items).Error; err != nil {
			return err
		}
		_, err := s.Audit(tx, AuditEntry{Actor: c.CreatedBy, Action: "recert.start", Object: fmt.Sprintf("campaign %d", c.ID),
			Detail: map[string]any{"name": c.Name, "due_at": c.DueAt, "policy_hash": c.PolicyHash, "flows": len(items)}})
		return err
	})
}

// RecertCampaigns lists the campaigns, newest first.
func (s *Store) RecertCampaigns(ctx context.Context) ([]RecertCampaign, error) {
	var out []RecertCampaign
	err := s.DB.WithContext(ctx).Order("id DESC").Find(&out).Error
	return out, err
}

// RecertCampaignsBetween lists, oldest first, the campaigns that were open
// at some time in [since, until]: created by until and not closed before
// since. A zero since means the beginning of the records.
func (s *Store) RecertCampaignsBetween(ctx context.Context, since, until time.Time) ([]RecertCampaign, error) {
	q := s.DB.WithContext(ctx).Where("created_at <= ?", until)
	if !since.IsZero() {
		q = q.Where("closed_at IS NULL OR closed_at >= ?", since)
	}
	var out []RecertCampaign
	err := q.Order("id").Find(&out).Error
	return out, err
}

// RecertCampaign returns campaign id and its items (by flow name), or an
// error wrapping ErrNotFound.
func (s *Store) RecertCampaign(ctx context.Context, id uint64) (*RecertCampaign, []RecertItem, error) {
	db := s.DB.WithContext(ctx)
	var c RecertCampaign
	if err := db.First(&c, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, nil, fmt.Errorf("recertification campaign %d: %w", id, ErrNotFound)
		}
		return nil, nil, err
	}
	var items []RecertItem
	if err := db.Where("campaign_id = ?", id).Order("flow").Find(&items).Error; err != nil {
		return nil, nil, err
	}
	return &c, items, nil
}

// DecideRecertItem records actor's decision (RecertRecertify or
// RecertExpire) on flow in campaign id and audits it (recert.decide), in
// one transaction. The update is conditional on the item being pending and
// the campaign open, so of two people deciding at once one wins and the
// other gets ErrRecertDecided; a closed campaign gives ErrRecertClosed, an
// unknown campaign or flow ErrNotFound.
func (s *Store) DecideRecertItem(ctx context.Context, id uint64, flow, decision, actor, comment string) (*RecertItem, error) {
	if decision != RecertRecertify && decision != RecertExpire {
		return nil, fmt.Errorf("decision %q: want %s or %s", decision, RecertRecertify, RecertExpire)
	}
	var out RecertItem
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.Now()
		open := tx.Model(&RecertCampaign{}).Select("id").Where("id = ? AND status = ?", id, RecertOpen)
		res := tx.Model(&RecertItem{}).
			Where("campaign_id = ? AND flow = ? AND decision = ? AND campaign_id IN (?)", id, flow, RecertPending, open).
			Updates(map[string]any{"decision": decision, "decided_by": actor, "decided_at": now, "comment": comment})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return whyNotDecided(tx, id, flow)
		}
		if err := tx.Where("campaign_id = ? AND flow = ?", id, flow).First(&out).Error; err != nil {
			return err
		}
		_, err := s.Audit(tx, AuditEntry{Actor: actor, Action: "recert.decide", Object: fmt.Sprintf("campaign %d flow %s", id, flow),
			Detail: map[string]any{"decision": decision, "comment": comment, "owner": out.Owner}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// whyNotDecided explains a conditional update that changed nothing.
func whyNotDecided(tx *gorm.DB, id uint64, flow string) error {
	var c RecertCampaign
	if err := tx.First(&c, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("recertification campaign %d: %w", id, ErrNotFound)
		}
		return err
	}
	if c.Status != RecertOpen {
		return fmt.Errorf("recertification campaign %d: %w", id, ErrRecertClosed)
	}
	var it RecertItem
	if err := tx.Where("campaign_id = ? AND flow = ?", id, flow).First(&it).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("flow %q is not in recertification campaign %d: %w", flow, id, ErrNotFound)
		}
		return err
	}
	at := ""
	if it.DecidedAt != nil {
		at = " at " + it.DecidedAt.UTC().Format(time.RFC3339)
	}
	return fmt.Errorf("flow %q in campaign %d: %w (%s by %s%s)", flow, id, ErrRecertDecided, it.Decision, it.DecidedBy, at)
}

// CloseRecertCampaign closes open campaign id and audits it (recert.close)
// with detail (the caller's tally), in one transaction; a closed campaign
// gives ErrRecertClosed.
func (s *Store) CloseRecertCampaign(ctx context.Context, id uint64, actor string, detail map[string]any) (*RecertCampaign, error) {
	var out RecertCampaign
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.Now()
		res := tx.Model(&RecertCampaign{}).Where("id = ? AND status = ?", id, RecertOpen).
			Updates(map[string]any{"status": RecertClosed, "closed_by": actor, "closed_at": now})
		if res.Error != nil {
			return res.Error
		}
		if err := tx.First(&out, id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("recertification campaign %d: %w", id, ErrNotFound)
			}
			return err
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("recertification campaign %d: %w", id, ErrRecertClosed)
		}
		_, err := s.Audit(tx, AuditEntry{Actor: actor, Action: "recert.close", Object: fmt.Sprintf("campaign %d", id), Detail: detail})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
