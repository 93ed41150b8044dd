package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestDeviceQueries: the inventory's Store methods on SQLite and
// PostgreSQL — an import's writes in the order the unique indexes need,
// filters, a search whose % and _ are literal, paging with the total, a
// name in any case, removal audited, and the active quarantine.
func TestDeviceQueries(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *Store, _ string) {
		ctx := context.Background()
		dev := func(name, ip, mac, class string) Device {
			return Device{Name: name, NameKey: strings.ToLower(name), IP: ip, MAC: mac, Class: class, Criticality: "low", Labels: map[string]string{}}
		}
		err := st.ImportInventory(ctx, func(tx *InventoryTx) error {
			c := InventoryChange{At: tx.Now()}
			for i := range 7 {
				c.Insert = append(c.Insert, dev(fmt.Sprintf("Pump-%02d", i), fmt.Sprintf("10.0.0.%d", i+1), fmt.Sprintf("00:00:00:00:00:%02d", i), "infusion_pump"))
			}
			c.Insert = append(c.Insert, dev("odd%_name", "10.0.1.1", "", "printer"))
			if err := tx.Write(c); err != nil {
				return err
			}
			return tx.Audit(AuditEntry{Actor: "t", Action: "inventory.import", Object: "test"})
		})
		if err != nil {
			t.Fatal(err)
		}

		// Pump-00 and Pump-01 swap addresses in one import: the unique
		// indexes on active IPs and MACs hold only because Write parks the
		// moved addresses first.
		err = st.ImportInventory(ctx, func(tx *InventoryTx) error {
			rows, err := tx.Devices()
			if err != nil {
				return err
			}
			byName := map[string]*Device{}
			for i := range rows {
				byName[rows[i].Name] = &rows[i]
			}
			a, b := *byName["Pump-00"], *byName["Pump-01"]
			a.IP, b.IP, a.MAC, b.MAC = b.IP, a.IP, b.MAC, a.MAC
			return tx.Write(InventoryChange{At: tx.Now(), Update: []*Device{&a, &b}, Remove: []uint64{byName["Pump-06"].ID}})
		})
		if err != nil {
			t.Fatalf("swapping addresses: %v", err)
		}
		if d, err := st.FindDevice(ctx, "pump-00"); err != nil || d.IP != "10.0.0.2" || d.Name != "Pump-00" {
			t.Fatalf("FindDevice(pump-00) = %+v, %v; want Pump-00 at 10.0.0.2", d, err)
		}

		rows, total, err := st.ListDevices(ctx, DeviceFilter{Class: "infusion_pump", Limit: 4, Offset: 4})
		if err != nil || total != 6 || len(rows) != 2 || rows[0].Name != "Pump-04" {
			t.Fatalf("page 2 of the active pumps: %d rows (first %v), total %d, %v", len(rows), rows, total, err)
		}
		if _, total, _ := st.ListDevices(ctx, DeviceFilter{Class: "infusion_pump", IncludeRemoved: true}); total != 7 {
			t.Errorf("with removed: %d pumps, want 7", total)
		}
		for term, want := range map[string][]string{"%_": {"odd%_name"}, "_": {"odd%_name"}, "10.0.0.2": {"Pump-00"}, "00:00:00:00:00:01": {"Pump-00"}, "PUMP-0": {"Pump-00", "Pump-01", "Pump-02", "Pump-03", "Pump-04", "Pump-05"}} {
			rows, _, err := st.ListDevices(ctx, DeviceFilter{Search: term})
			var got []string
			for _, r := range rows {
				got = append(got, r.Name)
			}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("search %q: %v, %v; want %v", term, got, err, want)
			}
		}

		if err := st.RemoveDevice(ctx, "PUMP-05", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := st.RemoveDevice(ctx, "pump-05", "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("removing twice: %v, want ErrNotFound", err)
		}
		if d, err := st.FindDevice(ctx, "pump-05"); err != nil || d.RemovedAt == nil {
			t.Errorf("a removed device is still found, marked removed: %+v, %v", d, err)
		}
		if _, err := st.FindDevice(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("FindDevice(nope): %v", err)
		}
		events, err := st.ListAuditEvents(ctx, AuditQuery{Limit: 1, Action: "inventory.remove"})
		if err != nil || len(events) != 1 || events[0].Actor != "alice" || events[0].Object != "Pump-05" {
			t.Errorf("audit of the removal: %+v, %v", events, err)
		}

		d, _ := st.FindDevice(ctx, "pump-01")
		if q, err := st.DeviceActiveQuarantine(ctx, d.ID); q != nil || err != nil {
			t.Errorf("no quarantine yet: %+v, %v", q, err)
		}
		if err := st.DB.Create(&Quarantine{DeviceID: d.ID, Level: "isolate", Status: QuarantineActive, CreatedBy: "t"}).Error; err != nil {
			t.Fatal(err)
		}
		if q, err := st.DeviceActiveQuarantine(ctx, d.ID); err != nil || q == nil || q.Level != "isolate" {
			t.Errorf("active quarantine: %+v, %v", q, err)
		}
	})
}
