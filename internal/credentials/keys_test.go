package credentials

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	s := Source{Dir: filepath.Join(t.TempDir(), "not-yet")}
	key, created, err := s.LoadOrCreateKey(AuditKey)
	if err != nil || !created || len(key) != KeySize {
		t.Fatalf("first use: key %d bytes, created %v, err %v", len(key), created, err)
	}
	info, err := os.Stat(s.KeyPath(AuditKey))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", info, err)
	}
	b, _ := os.ReadFile(s.KeyPath(AuditKey))
	if got, _ := hex.DecodeString(strings.TrimSpace(string(b))); !bytes.Equal(got, key) {
		t.Fatalf("file holds %q, not the key returned", b)
	}
	again, created, err := s.LoadOrCreateKey(AuditKey)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second use must read the same key: created %v, err %v", created, err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestLoadOrCreateKeyConcurrent starts many creators on an empty directory:
// exactly one creates, and every one ends up with that key.
func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	for round := range 20 {
		s := Source{Dir: t.TempDir()}
		const n = 16
		keys := make([][]byte, n)
		creators := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { keys[i], creators[i], errs[i] = s.LoadOrCreateKey(AuditKey) })
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: %v", round, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: two processes hold different keys", round)
			}
			if creators[i] {
				created++
			}
		}
		if created != 1 {
			t.Fatalf("round %d: %d creators, want exactly 1", round, created)
		}
	}
}

func TestLoadKeyRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	s := Source{Dir: dir}
	good := strings.Repeat("ab", KeySize) + "\n"
	os.WriteFile(filepath.Join(dir, "loose.key"), []byte(good), 0o644)
	os.WriteFile(filepath.Join(dir, "short.key"), []byte("abcd\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "nothex.key"), []byte(strings.Repeat("zz", KeySize)), 0o600)
	for name, want := range map[string]string{"loose.key": "chmod 600", "short.key": "hex digits", "nothex.key": "hex digits"} {
		if _, err := s.LoadKey(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", name, err, want)
		}
		// A bad key is never replaced by a fresh one: what it signed
		// would then fail to verify for a reason nobody sees.
		if _, _, err := s.LoadOrCreateKey(name); err == nil {
			t.Errorf("%s: LoadOrCreateKey replaced or accepted a bad key file", name)
		}
	}
	if _, err := s.LoadKey("missing.key"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key: err %v, want os.ErrNotExist", err)
	}
}

// TestLoadRefusesWardKeys: a target naming the audit key as its credential
// would have Ward send the key to that host as a password.
func TestLoadRefusesWardKeys(t *testing.T) {
	s := Source{Dir: t.TempDir()}
	if _, _, err := s.LoadOrCreateKey(AuditKey); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Load(AuditKey); err == nil || !strings.Contains(err.Error(), "Ward's own key") {
		t.Fatalf("Load(%q) = %+v, %v; want a refusal", AuditKey, c, err)
	}
}
