package credentials

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AuditKey names the secret that keys Ward's audit chain and signs its
// checkpoints (see internal/store/audit.go).
const AuditKey = "audit.key"

// PlanSigningKey names the secret that seeds the Ed25519 key signing saved
// plans (see internal/plan/sign.go).
const PlanSigningKey = "plan-signing.key"

// KeySize is the length of the keys Ward creates: 256 bits.
const KeySize = 32

// wardKey reports whether name is one of Ward's own keys rather than a
// target's credential. Load refuses those names, so that a policy author
// cannot name a key as a target's credential and have Ward send it to a
// host of their choosing as an SSH password.
func wardKey(name string) bool {
	switch name {
	case AuditKey, PlanSigningKey:
		return true
	}
	return false
}

// KeyPath is where the key called name lives.
func (s Source) KeyPath(name string) string { return filepath.Join(s.Dir, name) }

// LoadKey reads the key called name: KeySize bytes written as hex on one
// line, in a file readable by its owner only. A missing file is an error
// wrapping os.ErrNotExist.
func (s Source) LoadKey(name string) ([]byte, error) {
	path := s.KeyPath(name)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("key %s: %w; restore it from your backup of %s", path, os.ErrNotExist, s.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key %s is accessible to other users (mode %04o); run chmod 600 %s", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("key %s does not hold %d bytes written as %d hex digits; restore it from backup (a new key cannot check what the old one signed)", path, KeySize, 2*KeySize)
	}
	return key, nil
}

// LoadOrCreateKey reads the key called name, creating it with KeySize
// random bytes when it does not exist. Creation is atomic and never
// replaces a file: the key is written to a temporary file and hard-linked
// into place, so of two processes starting at once one wins and both read
// its key. The directory is created (mode 0700) if needed. It reports
// whether the key was created.
func (s Source) LoadOrCreateKey(name string) (key []byte, created bool, err error) {
	key, err = s.LoadKey(name)
	if !errors.Is(err, os.ErrNotExist) {
		return key, false, err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("creating key %s: %w", s.KeyPath(name), err)
	}
	fresh := make([]byte, KeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, false, fmt.Errorf("creating key %s: %w", s.KeyPath(name), err)
	}
	tmp, err := os.CreateTemp(s.Dir, "."+name+".new-*")
	if err != nil {
		return nil, false, fmt.Errorf("creating key %s: %w", s.KeyPath(name), err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; Chmod keeps that true
	// whatever the umask.
	_, err = tmp.WriteString(hex.EncodeToString(fresh) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("creating key %s: %w", s.KeyPath(name), err)
	}
	switch err := os.Link(tmp.Name(), s.KeyPath(name)); {
	case err == nil:
		return fresh, true, nil
	case errors.Is(err, os.ErrExist):
		// Another process created it first: its key is the key.
		key, err := s.LoadKey(name)
		return key, false, err
	default:
		return nil, false, fmt.Errorf("creating key %s: %w", s.KeyPath(name), err)
	}
}
