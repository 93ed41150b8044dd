package inventory

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/wardnet/ward/internal/store"
)

// ImportOptions says how Import treats the devices already stored.
type ImportOptions struct {
	// Replace marks stored devices missing from the file as removed (kept
	// for history). Without it the file is merged: devices it does not
	// list are left alone.
	Replace bool
	// Actor is recorded in the audit log: a user, a token name.
	Actor string
	// Source names the file, for the audit log and the devices' Source.
	Source string
	// SHA256 of the file, recorded in the audit log when given.
	SHA256 string
}

// ImportResult counts what an import did.
type ImportResult struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Revived   int `json:"revived"` // were removed, are listed again
	Unchanged int `json:"unchanged"`
	Removed   int `json:"removed"`
}

// Import writes devices (a whole file, already parsed) to the store in one
// transaction with its audit event: either every device is stored, or
// nothing changes. Conflicts with stored devices the file does not list
// (the same IP or MAC) are reported like parse errors, every one of them.
func Import(ctx context.Context, st *store.Store, devices []Device, opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	err := st.ImportInventory(ctx, func(tx *store.InventoryTx) error {
		existing, err := tx.Devices()
		if err != nil {
			return err
		}
		byKey := make(map[string]*store.Device, len(existing))
		for i := range existing {
			byKey[existing[i].NameKey] = &existing[i]
		}
		inFile := make(map[string]bool, len(devices))
		for _, d := range devices {
			inFile[strings.ToLower(d.Name)] = true
		}
		if !opts.Replace {
			if err := conflicts(devices, existing, inFile, opts.Source); err != nil {
				return err
			}
		}

		now := tx.Now()
		change := store.InventoryChange{At: now}
		for _, d := range devices {
			row := toRow(d, opts.Source)
			old, ok := byKey[row.NameKey]
			switch {
			case !ok:
				row.CreatedAt, row.UpdatedAt = now, now
				change.Insert = append(change.Insert, row)
				res.Added++
			case old.RemovedAt == nil && sameDevice(old, &row):
				res.Unchanged++
			default:
				if old.RemovedAt != nil {
					res.Revived++
				} else {
					res.Updated++
				}
				row.ID, row.CreatedAt, row.UpdatedAt = old.ID, old.CreatedAt, now
				change.Update = append(change.Update, &row)
			}
		}
		if opts.Replace {
			for _, e := range existing {
				if e.RemovedAt == nil && !inFile[e.NameKey] {
					change.Remove = append(change.Remove, e.ID)
				}
			}
			res.Removed = len(change.Remove)
		}
		if err := tx.Write(change); err != nil {
			return err
		}
		detail := map[string]any{"replace": opts.Replace, "devices": len(devices), "result": res}
		if opts.SHA256 != "" {
			detail["sha256"] = opts.SHA256
		}
		return tx.Audit(store.AuditEntry{Actor: opts.Actor, Action: "inventory.import", Object: opts.Source, Detail: detail})
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// conflicts reports file devices whose IP or MAC belongs to a stored,
// active device that the file does not list and a merge would keep.
func conflicts(devices []Device, existing []store.Device, inFile map[string]bool, source string) error {
	owner := map[string]string{}
	for _, e := range existing {
		if e.RemovedAt != nil || inFile[e.NameKey] {
			continue
		}
		owner["ip "+e.IP] = e.Name
		if e.MAC != "" {
			owner["mac "+e.MAC] = e.Name
		}
	}
	if len(owner) == 0 {
		return nil
	}
	perr := &ParseError{File: source}
	for _, d := range devices {
		for _, kv := range [][2]string{{"ip", addrText(d.IP)}, {"mac", d.MAC}} {
			if kv[1] == "" {
				continue
			}
			if other, taken := owner[kv[0]+" "+kv[1]]; taken {
				perr.Problems = append(perr.Problems, RowError{Line: d.Line, Device: d.Name, Field: kv[0], Value: kv[1],
					Reason: fmt.Sprintf("already belongs to stored device %s, which this file does not list; remove it first (ward inventory rm %s) or import with --replace", other, other)})
			}
		}
	}
	if len(perr.Problems) > 0 {
		return perr
	}
	return nil
}

func toRow(d Device, source string) store.Device {
	labels := map[string]string{}
	maps.Copy(labels, d.Labels)
	return store.Device{
		Name: d.Name, NameKey: strings.ToLower(d.Name), MAC: d.MAC, IP: addrText(d.IP),
		Class: d.Class, Vendor: d.Vendor, Model: d.Model, Firmware: d.Firmware, Criticality: d.Criticality,
		Site: d.Site, Location: d.Location, Switch: d.Switch, Port: d.Port, Labels: labels, Source: source,
	}
}

// sameDevice reports whether a stored row already says what row says.
func sameDevice(old, row *store.Device) bool {
	return old.Name == row.Name && old.MAC == row.MAC && old.IP == row.IP && old.Class == row.Class &&
		old.Vendor == row.Vendor && old.Model == row.Model && old.Firmware == row.Firmware &&
		old.Criticality == row.Criticality && old.Site == row.Site && old.Location == row.Location &&
		old.Switch == row.Switch && old.Port == row.Port && maps.Equal(old.Labels, row.Labels)
}

// FromRow converts a stored device back to the inventory model.
func FromRow(r store.Device) Device {
	ip, _ := netip.ParseAddr(r.IP)
	return Device{Name: r.Name, MAC: r.MAC, IP: ip, Class: r.Class, Vendor: r.Vendor, Model: r.Model,
		Firmware: r.Firmware, Criticality: r.Criticality, Site: r.Site, Location: r.Location,
		Switch: r.Switch, Port: r.Port, Labels: r.Labels}
}

// ListFilter narrows List.
type ListFilter struct {
	Class          string // exact class
	IncludeRemoved bool
}

// List returns stored devices ordered by name.
func List(ctx context.Context, st *store.Store, f ListFilter) ([]store.Device, error) {
	rows, _, err := st.ListDevices(ctx, store.DeviceFilter{Class: f.Class, IncludeRemoved: f.IncludeRemoved})
	return rows, err
}

// Active returns every stored device that is not removed, as devices.
func Active(ctx context.Context, st *store.Store) ([]Device, error) {
	rows, err := List(ctx, st, ListFilter{})
	if err != nil {
		return nil, err
	}
	devices := make([]Device, len(rows))
	for i, r := range rows {
		devices[i] = FromRow(r)
	}
	return devices, nil
}

// Get returns one stored device by name (any case), removed or not.
func Get(ctx context.Context, st *store.Store, name string) (*store.Device, error) {
	return st.FindDevice(ctx, name)
}

// Remove marks a device removed (it stays for history) and audits it.
func Remove(ctx context.Context, st *store.Store, name, actor string) error {
	err := st.RemoveDevice(ctx, name, actor)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w (ward inventory list shows the devices)", err)
	}
	return err
}

// ImportFile reads, parses and imports one inventory file. format may be
// empty to detect it from the name and contents. A file that does not parse
// is rejected whole, with every problem listed, and the store is untouched.
func ImportFile(ctx context.Context, st *store.Store, path string, format Format, opts ImportOptions) (ImportResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImportResult{}, err
	}
	defer f.Close()
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, h), 64<<10)
	if format == "" {
		head, _ := br.Peek(4096)
		format = DetectFormat(path, head)
	}
	devices, err := Parse(br, format)
	if err != nil {
		var perr *ParseError
		if errors.As(err, &perr) && perr.File == "" {
			perr.File = path
		}
		return ImportResult{}, err
	}
	// Hash the whole file even if the parser stopped before its end.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return ImportResult{}, err
	}
	if opts.Source == "" {
		opts.Source = filepath.Base(path)
	}
	opts.SHA256 = hex.EncodeToString(h.Sum(nil))
	return Import(ctx, st, devices, opts)
}
