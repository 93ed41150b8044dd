package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/store/pgtest"
)

const exampleInventory = "../../examples/hospital/inventory.csv"

func TestMain(m *testing.M) {
	// Commands that open a store create the audit key on first use: in a
	// directory of this run's own, never under /etc (tests that need
	// another directory set theirs).
	creds, err := os.MkdirTemp("", "ward-test-credentials-")
	if err != nil {
		panic(err)
	}
	os.Setenv("WARD_CREDENTIALS_DIR", creds)
	os.Unsetenv("WARD_AUDIT_KEY")
	code := m.Run()
	pgtest.StopShared()
	os.RemoveAll(creds)
	os.Exit(code)
}

func TestInventoryAndAuditCommands(t *testing.T) {
	urls := map[string]string{
		"sqlite":   "sqlite://" + filepath.Join(t.TempDir(), "ward.db"),
		"postgres": pgtest.URL(t),
	}
	for name, db := range urls {
		t.Run(name, func(t *testing.T) {
			t.Setenv("WARD_ACTOR", "alice")
			code, out, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db)
			if code != 0 || !strings.Contains(out, "432 added") {
				t.Fatalf("import: exit %d\n%s%s", code, out, errs)
			}

			code, out, _ = runWard(t, "inventory", "list", "--db", db, "-class", "infusion_pump", "-json")
			var devs []map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &devs) != nil || len(devs) == 0 {
				t.Fatalf("list -json: exit %d, %d devices\n%s", code, len(devs), out)
			}
			for _, d := range devs {
				if d["class"] != "infusion_pump" {
					t.Fatalf("-class filter let through %v", d)
				}
			}

			code, out, errs = runWard(t, "inventory", "list", "-db", db, "-zone", "infusion_pumps", "-policy", examplePolicy, "-json")
			var pumps []map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &pumps) != nil || len(pumps) < 50 {
				t.Fatalf("list -zone: exit %d, %d devices\n%s%s", code, len(pumps), out, errs)
			}
			for _, d := range pumps {
				if d["class"] != "infusion_pump" {
					t.Fatalf("-zone infusion_pumps listed %v", d["name"])
				}
			}
			if code, _, errs := runWard(t, "inventory", "list", "-db", db, "-zone", "nope", "-policy", examplePolicy); code != 1 || !strings.Contains(errs, `no zone "nope"`) {
				t.Fatalf("unknown zone: exit %d %s", code, errs)
			}

			code, out, _ = runWard(t, "inventory", "show", "pump-3w-01", "-db", db)
			if code != 0 || !strings.Contains(out, "10.61.210.11") || !strings.Contains(out, "Alaris 8015") {
				t.Fatalf("show: exit %d\n%s", code, out)
			}

			// A bad file: every problem listed, nothing imported.
			bad := filepath.Join(t.TempDir(), "bad.csv")
			os.WriteFile(bad, []byte("name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port\n"+
				"x,zz,10.0.0.1,pump,BD,,,low,main,,,\ny,,10.0.0.999,pump,BD,,,low,main,,,\n"), 0o644)
			code, _, errs = runWard(t, "inventory", "import", bad, "-db", db, "-replace")
			if code != 1 || !strings.Contains(errs, "line 2") || !strings.Contains(errs, "line 3") || !strings.Contains(errs, "Nothing was imported") {
				t.Fatalf("bad import: exit %d\n%s", code, errs)
			}

			if code, _, errs := runWard(t, "inventory", "rm", "pump-3w-01", "-db", db); code != 0 {
				t.Fatalf("rm: exit %d %s", code, errs)
			}
			if code, _, errs := runWard(t, "inventory", "rm", "no-such-device", "-db", db); code != 1 || !strings.Contains(errs, "not found") {
				t.Fatalf("rm unknown: exit %d %s", code, errs)
			}

			code, out, _ = runWard(t, "audit", "-db", db)
			if code != 0 || !strings.Contains(out, "inventory.import") || !strings.Contains(out, "inventory.remove") || !strings.Contains(out, "alice") {
				t.Fatalf("audit: exit %d\n%s", code, out)
			}
			code, out, _ = runWard(t, "audit", "verify", "-db", db)
			if code != 0 || !strings.Contains(out, "2 events") {
				t.Fatalf("audit verify: exit %d\n%s", code, out)
			}
		})
	}
}

func TestAuditVerifyNamesTamperedEvent(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ward.db")
	url := "sqlite://" + db
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", url); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := runWard(t, "inventory", "rm", "pump-3w-02", "-db", url); code != 0 {
		t.Fatal(errs)
	}
	st, ok := (&cli{stdout: os.Stdout, stderr: os.Stderr}).openStore(t.Context(), url)
	if !ok {
		t.Fatal("open")
	}
	for _, q := range []string{"DROP TRIGGER audit_events_no_update", "UPDATE audit_events SET object = 'pump-3w-03' WHERE seq = 2"} {
		if err := st.DB.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, _, errs := runWard(t, "audit", "verify", "-db", url)
	if code != 1 || !strings.Contains(errs, "audit event 2") || !strings.Contains(errs, "inventory.remove") || !strings.Contains(errs, "changed after it was written") {
		t.Fatalf("verify after tampering: exit %d\n%s", code, errs)
	}
}

func TestBadDatabaseURL(t *testing.T) {
	code, _, errs := runWard(t, "inventory", "list", "-db", "mysql://nope")
	if code != 1 || !strings.Contains(errs, "sqlite://PATH or postgres://") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestInventoryExportEscapesFormulas(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	in := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(in, []byte("name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port,ward\n"+
		`evil,,10.0.0.66,pump,"=cmd|' /C calc'!A0",,,low,main,,,,3 West`+"\n"), 0o644)
	if code, _, errs := runWard(t, "inventory", "import", in, "-db", url); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := runWard(t, "inventory", "export", "-db", url)
	if code != 0 {
		t.Fatal(errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port,ward") {
		t.Fatalf("export:\n%s", out)
	}
	if !strings.Contains(lines[1], `,'=cmd|' /C calc'!A0,`) || !strings.HasSuffix(lines[1], ",3 West") {
		t.Fatalf("formula cell not escaped, or label lost:\n%s", lines[1])
	}
}
