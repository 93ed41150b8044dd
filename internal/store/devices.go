package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The inventory's queries: devices listed, found, removed, and imported in
// one transaction (internal/inventory decides what an import changes; the
// store writes it).

// DeviceFilter selects devices for ListDevices.
type DeviceFilter struct {
	IncludeRemoved bool
	// Exact matches, each when not empty.
	Class, Criticality, Site, Vendor, Switch string
	// Search matches part of a device's name (any case), IP or MAC.
	Search string
	// Limit and Offset page the devices, ordered by name; Limit 0 lists
	// them all.
	Limit, Offset int
}

// ListDevices returns the devices f selects, ordered by name (any case),
// and how many it selects in all, whatever the page.
func (s *Store) ListDevices(ctx context.Context, f DeviceFilter) ([]Device, int, error) {
	q := s.DB.WithContext(ctx).Model(&Device{})
	if !f.IncludeRemoved {
		q = q.Where("removed_at IS NULL")
	}
	for col, v := range map[string]string{"class": f.Class, "criticality": f.Criticality, "site": f.Site, "vendor": f.Vendor, "switch": f.Switch} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if term := strings.ToLower(strings.TrimSpace(f.Search)); term != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(term) + "%"
		q = q.Where(`name_key LIKE ? ESCAPE '\' OR ip LIKE ? ESCAPE '\' OR mac LIKE ? ESCAPE '\'`, like, like, like)
	}
	var rows []Device
	if f.Limit <= 0 {
		if err := q.Order("name_key").Find(&rows).Error; err != nil {
			return nil, 0, fmt.Errorf("listing devices: %w", err)
		}
		return rows, len(rows), nil
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("counting devices: %w", err)
	}
	if err := q.Order("name_key").Limit(f.Limit).Offset(f.Offset).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("listing devices: %w", err)
	}
	return rows, int(total), nil
}

// FindDevice returns the device of this name (any case), removed or not,
// or ErrNotFound.
func (s *Store) FindDevice(ctx context.Context, name string) (*Device, error) {
	var rows []Device
	if err := s.DB.WithContext(ctx).Where("name_key = ?", strings.ToLower(name)).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading device %q: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("device %q: %w", name, ErrNotFound)
	}
	return &rows[0], nil
}

// RemoveDevice marks the active device of this name (any case) removed —
// it stays for history — and audits it, in one transaction; ErrNotFound
// when no active device has the name.
func (s *Store) RemoveDevice(ctx context.Context, name, actor string) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row Device
		err := tx.Where("name_key = ? AND removed_at IS NULL", strings.ToLower(name)).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("device %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading device %q: %w", name, err)
		}
		now := s.Now()
		if err := tx.Model(&row).Updates(map[string]any{"removed_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("removing device %q: %w", name, err)
		}
		_, err = s.Audit(tx, AuditEntry{Actor: actor, Action: "inventory.remove", Object: row.Name,
			Detail: map[string]string{"ip": row.IP, "mac": row.MAC}})
		return err
	})
}

// DeviceActiveQuarantine returns the device's active quarantine, or nil.
func (s *Store) DeviceActiveQuarantine(ctx context.Context, deviceID uint64) (*Quarantine, error) {
	var rows []Quarantine
	if err := s.DB.WithContext(ctx).Where("device_id = ? AND status = ?", deviceID, QuarantineActive).Order("id DESC").Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the active quarantine of device #%d: %w", deviceID, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// InventoryTx is one all-or-nothing change to the inventory.
type InventoryTx struct {
	s  *Store
	tx *gorm.DB
}

// ImportInventory runs fn in one transaction: either everything it writes
// is stored, or nothing is.
func (s *Store) ImportInventory(ctx context.Context, fn func(*InventoryTx) error) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(&InventoryTx{s: s, tx: tx})
	})
}

// Now is the store's clock.
func (t *InventoryTx) Now() time.Time { return t.s.Now() }

// Devices returns every stored device, removed ones included.
func (t *InventoryTx) Devices() ([]Device, error) {
	var rows []Device
	if err := t.tx.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reading the inventory: %w", err)
	}
	return rows, nil
}

// InventoryChange is what one import writes.
type InventoryChange struct {
	Remove []uint64  // ids of active devices to mark removed
	Update []*Device // stored devices (ID set) to overwrite, keeping CreatedAt
	Insert []Device  // new devices
	At     time.Time // removed_at and updated_at of the removals
}

// importBatch is how many rows one statement carries on PostgreSQL, well
// under its limit on bound parameters. The pure-Go SQLite driver matches
// each parameter to its argument by a linear scan, so its cost grows with
// the square of the batch: small batches are much faster there.
const (
	importBatch = 1000
	sqliteBatch = 50
)

// Write stores c in the order the unique indexes on active IPs and MACs
// need: addresses are freed (removals, then moved addresses parked on
// placeholders) before they are taken (updates, then inserts).
func (t *InventoryTx) Write(c InventoryChange) error {
	for start := 0; start < len(c.Remove); start += importBatch {
		ids := c.Remove[start:min(start+importBatch, len(c.Remove))]
		if err := t.tx.Model(&Device{}).Where("id IN ?", ids).
			Updates(map[string]any{"removed_at": c.At, "updated_at": c.At}).Error; err != nil {
			return fmt.Errorf("marking %d devices removed: %w", len(ids), err)
		}
	}
	for _, u := range c.Update {
		if err := t.tx.Model(&Device{}).Where("id = ?", u.ID).
			Updates(map[string]any{"ip": fmt.Sprintf("moving:%d", u.ID), "mac": fmt.Sprintf("moving:%d", u.ID)}).Error; err != nil {
			return fmt.Errorf("device %s: %w", u.Name, err)
		}
	}
	for _, u := range c.Update {
		if err := t.tx.Select("*").Omit("created_at").Save(u).Error; err != nil {
			return fmt.Errorf("device %s: %w", u.Name, err)
		}
	}
	if len(c.Insert) > 0 {
		batch := importBatch
		if t.s.Dialect() == SQLite {
			batch = sqliteBatch
		}
		if err := t.tx.CreateInBatches(c.Insert, batch).Error; err != nil {
			return fmt.Errorf("adding %d devices: %w", len(c.Insert), err)
		}
	}
	return nil
}

// Audit appends e to the audit log in this transaction.
func (t *InventoryTx) Audit(e AuditEntry) error {
	_, err := t.s.Audit(t.tx, e)
	return err
}
