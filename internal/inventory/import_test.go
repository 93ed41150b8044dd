package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
	"gorm.io/gorm"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

const exampleInventory = "../../examples/hospital/inventory.csv"

// forEachDB runs fn on a fresh SQLite store and a fresh PostgreSQL store.
func forEachDB(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			url := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
			if d == store.Postgres {
				url = pgtest.URL(t)
			}
			st, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, st)
		})
	}
}

// snapshot is a checksum of every column of every device row plus the
// number of audit events: equal snapshots mean nothing was changed.
func snapshot(t *testing.T, st *store.Store) string {
	t.Helper()
	var rows []store.Device
	if err := st.DB.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var audits int64
	st.DB.Model(&store.AuditEvent{}).Count(&audits)
	b, _ := json.Marshal(rows)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d devices, %d audit events, sha256 %s", len(rows), audits, hex.EncodeToString(sum[:8]))
}

func writeCSV(t *testing.T, rows ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "inv.csv")
	content := "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustImport(t *testing.T, st *store.Store, path string, replace bool) ImportResult {
	t.Helper()
	res, err := ImportFile(context.Background(), st, path, "", ImportOptions{Replace: replace, Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestImportExample(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		res := mustImport(t, st, exampleInventory, false)
		if res.Added < 300 || res.Updated+res.Unchanged+res.Removed+res.Revived != 0 {
			t.Fatalf("first import: %+v", res)
		}
		again := mustImport(t, st, exampleInventory, true)
		if again != (ImportResult{Unchanged: res.Added}) {
			t.Fatalf("re-import: %+v, want all %d unchanged", again, res.Added)
		}
		d, err := Get(context.Background(), st, "PUMP-3W-01")
		if err != nil || d.IP != "10.61.210.11" || d.MAC != "00:1a:2b:3c:4d:01" || d.Criticality != "life_critical" || d.Switch != "access-3w" {
			t.Fatalf("pump-3w-01: %+v, %v", d, err)
		}
		evs, _ := st.ListAudit(context.Background(), 0)
		if len(evs) != 2 || evs[1].Action != "inventory.import" || evs[1].Actor != "tester" || !strings.Contains(evs[1].Detail, `"added":`) || !strings.Contains(evs[1].Detail, "sha256") {
			t.Fatalf("audit events: %+v", evs)
		}
		if _, brk, err := st.VerifyAudit(context.Background()); brk != nil || err != nil {
			t.Fatal(brk, err)
		}
	})
}

func TestImportMergeReplaceRevive(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mustImport(t, st, writeCSV(t,
			"a,00:00:00:00:00:0a,10.0.0.1,pump,BD,,,life_critical,main,,,",
			"b,00:00:00:00:00:0b,10.0.0.2,pump,BD,,,life_critical,main,,,",
			"c,00:00:00:00:00:0c,10.0.0.3,pump,BD,,,life_critical,main,,,",
		), false)

		// Merge: b changes, d is new, c is left alone.
		res := mustImport(t, st, writeCSV(t,
			"b,00:00:00:00:00:0b,10.0.0.2,pump,BD,,13.0,life_critical,main,,,",
			"d,,10.0.0.4,monitor,Philips,,,high,main,,,",
		), false)
		if res != (ImportResult{Added: 1, Updated: 1}) {
			t.Fatalf("merge: %+v", res)
		}
		if rows, _ := List(ctx, st, ListFilter{}); len(rows) != 4 {
			t.Fatalf("after merge %d active devices, want 4", len(rows))
		}

		// Replace: only a and d remain active; b and c are removed, kept.
		res = mustImport(t, st, writeCSV(t,
			"a,00:00:00:00:00:0a,10.0.0.1,pump,BD,,,life_critical,main,,,",
			"d,,10.0.0.4,monitor,Philips,,,high,main,,,",
		), true)
		if res != (ImportResult{Unchanged: 2, Removed: 2}) {
			t.Fatalf("replace: %+v", res)
		}
		rows, _ := List(ctx, st, ListFilter{})
		all, _ := List(ctx, st, ListFilter{IncludeRemoved: true})
		if len(rows) != 2 || len(all) != 4 {
			t.Fatalf("after replace: %d active, %d in all; want 2 and 4", len(rows), len(all))
		}

		// A removed device's address is free for a new device; the removed
		// device comes back when listed again.
		res = mustImport(t, st, writeCSV(t, "e,00:00:00:00:00:0c,10.0.0.3,pump,BD,,,life_critical,main,,,"), false)
		if res.Added != 1 {
			t.Fatalf("reuse of a removed device's address: %+v", res)
		}
		res = mustImport(t, st, writeCSV(t, "c,00:00:00:00:00:1c,10.0.0.13,pump,BD,,,life_critical,main,,,"), false)
		if res != (ImportResult{Revived: 1}) {
			t.Fatalf("revive: %+v", res)
		}
		if c, _ := Get(ctx, st, "c"); c.RemovedAt != nil || c.IP != "10.0.0.13" {
			t.Fatalf("revived c: %+v", c)
		}
	})
}

func TestImportSwapsAddresses(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		mustImport(t, st, writeCSV(t,
			"a,00:00:00:00:00:0a,10.0.0.1,pump,BD,,,low,main,,,",
			"b,00:00:00:00:00:0b,10.0.0.2,pump,BD,,,low,main,,,",
		), false)
		res := mustImport(t, st, writeCSV(t,
			"a,00:00:00:00:00:0b,10.0.0.2,pump,BD,,,low,main,,,",
			"b,00:00:00:00:00:0a,10.0.0.1,pump,BD,,,low,main,,,",
		), false)
		if res.Updated != 2 {
			t.Fatalf("swap: %+v", res)
		}
		a, _ := Get(context.Background(), st, "a")
		if a.IP != "10.0.0.2" || a.MAC != "00:00:00:00:00:0b" {
			t.Fatalf("a after swap: %+v", a)
		}
	})
}

// TestImportBadInputChangesNothing: every bad file is refused with a clear
// error naming the line, and the store is exactly as it was.
func TestImportBadInputChangesNothing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const header = "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port\n"
	big := filepath.Join(dir, "big.csv")
	{
		f, err := os.Create(big)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(header)
		n := 0
		for i := 0; n < 50<<20; i++ {
			line := fmt.Sprintf("dev-%06d,02:00:%02x:%02x:%02x:%02x,10.%d.%d.%d,infusion_pump,BD,Alaris 8015 large volume pump,12.1.2,life_critical,main,Ward 3 West room %d,access-3w,Gi1/0/%d\n",
				i, (i>>24)&255, (i>>16)&255, (i>>8)&255, i&255, (i>>16)&255, (i>>8)&255, i&255, i%40, i%48)
			n += len(line)
			f.WriteString(line)
		}
		f.WriteString("last-bad,zz:zz,10.255.255.255,pump,BD,,,low,main,,,\n")
		f.Close()
	}
	cases := []struct {
		name, path, want string
	}{
		{"wrong header", write("hdr.csv", "hostname,address\nx,10.0.0.1\n"), "header"},
		{"bad MAC", write("mac.csv", header+"x,00:11:22:33:44,10.0.0.9,pump,BD,,,low,main,,,\n"), "line 2"},
		{"bad IP", write("ip.csv", header+"x,,10.0.0.300,pump,BD,,,low,main,,,\n"), "line 2"},
		{"unknown criticality", write("crit.csv", header+"x,,10.0.0.9,pump,BD,,,extreme,main,,,\n"), "line 2"},
		{"duplicate MAC", write("dup.csv", header+"x,00:11:22:33:44:55,10.0.0.9,pump,BD,,,low,main,,,\ny,00:11:22:33:44:55,10.0.0.10,pump,BD,,,low,main,,,\n"), "line 3"},
		{"empty file", write("empty.csv", ""), "no devices"},
		{"non-UTF-8", write("latin1.csv", header+"caf\xe9,,10.0.0.9,pump,BD,,,low,main,,,\n"), "line 2"},
		{"50 MB with one bad row at the end", big, "last-bad"},
		{"IP held by a device the file does not list", write("conflict.csv", header+"newcomer,,10.61.210.11,pump,BD,,,low,main,,,\n"), "pump-3w-01"},
	}
	forEachDB(t, func(t *testing.T, st *store.Store) {
		mustImport(t, st, exampleInventory, false)
		before := snapshot(t, st)
		for _, tc := range cases {
			_, err := ImportFile(context.Background(), st, tc.path, "", ImportOptions{Actor: "tester"})
			var perr *ParseError
			if err == nil || !errors.As(err, &perr) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err = %v; want a ParseError mentioning %q", tc.name, err, tc.want)
			}
			if after := snapshot(t, st); after != before {
				t.Errorf("%s: store changed: %s -> %s", tc.name, before, after)
			}
		}
	})
}

func TestImportFormulaCellStoredAsText(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		const formula = `=cmd|' /C calc'!A0`
		mustImport(t, st, writeCSV(t, `evil,,10.0.0.66,pump,"`+formula+`",,,low,main,,,`), false)
		d, err := Get(context.Background(), st, "evil")
		if err != nil || d.Vendor != formula {
			t.Fatalf("vendor stored as %q (%v), want the text %q", d.Vendor, err, formula)
		}
	})
}

// TestImportRollsBackOnDatabaseFailure: a failure in the middle of writing
// leaves the previous state intact.
func TestImportRollsBackOnDatabaseFailure(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		mustImport(t, st, writeCSV(t, "a,,10.0.0.1,pump,BD,,,low,main,,,"), false)
		before := snapshot(t, st)
		calls := 0
		if err := st.DB.Callback().Create().After("gorm:create").Register("test:fail", func(db *gorm.DB) {
			if _, ok := db.Statement.Model.(*store.AuditEvent); ok {
				return
			}
			if calls++; calls == 1 {
				db.AddError(errors.New("disk full"))
			}
		}); err != nil {
			t.Fatal(err)
		}
		defer st.DB.Callback().Create().Remove("test:fail")
		_, err := ImportFile(context.Background(), st, exampleInventory, "", ImportOptions{Replace: true, Actor: "tester"})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("err = %v, want the injected failure", err)
		}
		if after := snapshot(t, st); after != before {
			t.Fatalf("store changed by a failed import: %s -> %s", before, after)
		}
	})
}

func TestRemove(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mustImport(t, st, writeCSV(t, "a,,10.0.0.1,pump,BD,,,low,main,,,"), false)
		if err := Remove(ctx, st, "A", "tester"); err != nil {
			t.Fatal(err)
		}
		if err := Remove(ctx, st, "a", "tester"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second remove: %v, want ErrNotFound", err)
		}
		if d, err := Get(ctx, st, "a"); err != nil || d.RemovedAt == nil {
			t.Fatalf("removed device is kept with RemovedAt: %+v %v", d, err)
		}
		evs, _ := st.ListAudit(ctx, 1)
		if evs[0].Action != "inventory.remove" || evs[0].Object != "a" {
			t.Fatalf("audit: %+v", evs[0])
		}
	})
}
