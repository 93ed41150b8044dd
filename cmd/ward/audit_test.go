package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/internal/store/pgtest"
)

// auditEvents writes n audit events through the CLI: an import, then
// removals.
func auditEvents(t *testing.T, db string, devices ...string) {
	t.Helper()
	if len(devices) == 0 {
		if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
			t.Fatalf("import: %s", errs)
		}
	}
	for _, d := range devices {
		if code, _, errs := runWard(t, "inventory", "rm", d, "-db", db); code != 0 {
			t.Fatalf("rm %s: %s", d, errs)
		}
	}
}

// tamper runs SQL on the database with the append-only triggers off, as
// someone with write access to it could.
func tamper(t *testing.T, db string, sql ...string) {
	t.Helper()
	st, ok := (&cli{stdout: os.Stdout, stderr: os.Stderr}).openStore(t.Context(), db)
	if !ok {
		t.Fatal("open")
	}
	defer st.Close()
	off := []string{"DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"}
	if st.Dialect() == store.Postgres {
		off = []string{"ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"}
	}
	for _, q := range append(off, sql...) {
		if err := st.DB.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditCheckpointAndVerify(t *testing.T) {
	for name, db := range map[string]string{
		"sqlite":   "sqlite://" + filepath.Join(t.TempDir(), "ward.db"),
		"postgres": pgtest.URL(t),
	} {
		t.Run(name, func(t *testing.T) {
			creds := t.TempDir()
			t.Setenv("WARD_CREDENTIALS_DIR", creds)
			auditEvents(t, db)
			auditEvents(t, db, "pump-3w-01", "pump-3w-02", "pump-3w-03")

			// The key was made on first use, in the credential store, 0600.
			info, err := os.Stat(filepath.Join(creds, "audit.key"))
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("audit key: %v %v", info, err)
			}

			cpFile := filepath.Join(t.TempDir(), "head.json")
			code, out, errs := runWard(t, "audit", "checkpoint", "-o", cpFile, "-db", db)
			if code != 0 || !strings.Contains(out, "event 4") {
				t.Fatalf("checkpoint: exit %d\n%s%s", code, out, errs)
			}
			var doc map[string]any
			b, _ := os.ReadFile(cpFile)
			if err := json.Unmarshal(b, &doc); err != nil || doc["seq"] != float64(4) || doc["events"] != float64(4) || doc["mac"] == "" {
				t.Fatalf("checkpoint document: %v\n%s", err, b)
			}

			// Intact, and still intact with more events since.
			auditEvents(t, db, "pump-3w-04")
			code, out, errs = runWard(t, "audit", "verify", "-checkpoint", cpFile, "-db", db)
			if code != 0 || !strings.Contains(out, "Audit log head: event 5, hash ") || !strings.Contains(out, "matches it") || !strings.Contains(out, "Every event is keyed") {
				t.Fatalf("verify intact: exit %d\n%s%s", code, out, errs)
			}

			// A checkpoint edited to hide what follows is refused.
			edited := strings.Replace(string(b), `"seq": 4`, `"seq": 2`, 1)
			editedFile := filepath.Join(t.TempDir(), "edited.json")
			os.WriteFile(editedFile, []byte(edited), 0o644)
			if code, _, errs := runWard(t, "audit", "verify", "-checkpoint", editedFile, "-db", db); code != 1 || !strings.Contains(errs, "signature does not match") {
				t.Fatalf("edited checkpoint: exit %d\n%s", code, errs)
			}

			// The tail cut back to event 2: the chain left is valid, so
			// only the checkpoint can tell.
			tamper(t, db, "DELETE FROM audit_events WHERE seq > 2")
			code, out, _ = runWard(t, "audit", "verify", "-db", db)
			if code != 0 || !strings.Contains(out, "only caught against a checkpoint") {
				t.Fatalf("verify without the checkpoint: exit %d\n%s", code, out)
			}
			code, out, errs = runWard(t, "audit", "verify", "-checkpoint", cpFile, "-db", db)
			if code != 1 || !strings.Contains(out, "Audit log head: event 2") || !strings.Contains(errs, "audit event 3") || !strings.Contains(errs, "events 3 to 4 are gone") {
				t.Fatalf("verify after truncation: exit %d\n%s%s", code, out, errs)
			}
			// The checkpoint, not the database, remembers the head: a
			// second verify still catches the cut.
			if code, _, _ := runWard(t, "audit", "verify", "-checkpoint", cpFile, "-db", db); code != 1 {
				t.Fatal("the cut is forgotten on a second verify")
			}
		})
	}
}

// TestAuditKeyLost: a lost or replaced audit key stops Ward from writing
// onto the log (a new key would break it) and verify says which key.
func TestAuditKeyLost(t *testing.T) {
	creds := t.TempDir()
	t.Setenv("WARD_CREDENTIALS_DIR", creds)
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	auditEvents(t, db)
	keyFile := filepath.Join(creds, "audit.key")
	if err := os.Rename(keyFile, keyFile+".saved"); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runWard(t, "audit", "verify", "-db", db)
	if code != 1 || !strings.Contains(errs, "No audit key at "+keyFile) {
		t.Fatalf("verify without the key: exit %d\n%s", code, errs)
	}
	// A command that writes makes a new key, then refuses to write with it.
	code, _, errs = runWard(t, "inventory", "rm", "pump-3w-01", "-db", db)
	if code != 1 || !strings.Contains(errs, "created the audit key") || !strings.Contains(errs, "put back the audit.key") {
		t.Fatalf("write with a new key: exit %d\n%s", code, errs)
	}
	code, _, errs = runWard(t, "audit", "verify", "-db", db)
	if code != 1 || !strings.Contains(errs, "audit event 1") || !strings.Contains(errs, "was written with audit key") {
		t.Fatalf("verify with the wrong key: exit %d\n%s", code, errs)
	}
	// With the key back, all is well.
	if err := os.Rename(keyFile+".saved", keyFile); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runWard(t, "audit", "verify", "-db", db); code != 0 {
		t.Fatalf("verify with the key restored: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runWard(t, "inventory", "rm", "pump-3w-01", "-db", db); code != 0 {
		t.Fatalf("write with the key restored: %s", errs)
	}
}

// TestAuditKeyFromEnv: WARD_AUDIT_KEY puts the key somewhere of its own.
func TestAuditKeyFromEnv(t *testing.T) {
	creds := t.TempDir()
	t.Setenv("WARD_CREDENTIALS_DIR", creds)
	keyFile := filepath.Join(t.TempDir(), "keys", "ward-audit.key")
	t.Setenv("WARD_AUDIT_KEY", keyFile)
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	auditEvents(t, db)
	if _, err := os.Stat(keyFile); err != nil {
		t.Fatalf("key not at WARD_AUDIT_KEY: %v", err)
	}
	if _, err := os.Stat(filepath.Join(creds, "audit.key")); err == nil {
		t.Fatal("a key was made in the credential store too")
	}
	if code, out, errs := runWard(t, "audit", "verify", "-db", db); code != 0 || !strings.Contains(out, keyFile) {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
}

// TestAuditVerifyUnkeyedEvents: a database from before the log was keyed
// is reported as such, never as keyed.
func TestAuditVerifyUnkeyedEvents(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	// Only a test binary may write unkeyed events: they stand in for a
	// database an older Ward wrote.
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := st.AppendAudit(t.Context(), store.AuditEntry{Actor: "old ward", Action: "test.legacy"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, out, errs := runWard(t, "audit", "verify", "-db", db)
	if code != 0 || !strings.Contains(errs, "WARNING: no event is keyed") || strings.Contains(out, "keyed with") {
		t.Fatalf("all unkeyed: exit %d\n%s%s", code, out, errs)
	}
	auditEvents(t, db)
	code, out, errs = runWard(t, "audit", "verify", "-db", db)
	if code != 0 || !strings.Contains(out, "Events 1 to 2 are unkeyed") || !strings.Contains(out, "Event 3 is keyed") || strings.Contains(errs, "WARNING") {
		t.Fatalf("unkeyed then keyed: exit %d\n%s%s", code, out, errs)
	}
}
