// Package credentials resolves the credential names that targets carry in
// the policy (credential = "core-fw") to secrets kept outside it: one file
// per credential in a directory (WARD_CREDENTIALS_DIR, default
// /etc/ward/credentials), holding an SSH private key or a password, readable
// by its owner only.
package credentials

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// DefaultDir is where credentials live unless WARD_CREDENTIALS_DIR says
// otherwise.
const DefaultDir = "/etc/ward/credentials"

// Credential is a resolved secret: a private key or a password.
type Credential struct {
	PrivateKey []byte
	Password   string
}

// Source is a directory of credential files.
type Source struct {
	Dir string
}

// FromEnv returns the source WARD_CREDENTIALS_DIR names, or the default.
func FromEnv() Source {
	if d := os.Getenv("WARD_CREDENTIALS_DIR"); d != "" {
		return Source{Dir: d}
	}
	return Source{Dir: DefaultDir}
}

// Load reads the credential called name. The file must not be readable or
// writable by group or others.
func (s Source) Load(name string) (Credential, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return Credential{}, fmt.Errorf("credential %q: not a valid credential name (a file name in %s)", name, s.Dir)
	}
	if wardKey(name) {
		return Credential{}, fmt.Errorf("credential %q: that file is Ward's own key, never a target's credential; name another file", name)
	}
	path := filepath.Join(s.Dir, name)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return Credential{}, fmt.Errorf("credential %q: no file %s; put the SSH private key (or password) for it there, mode 0600 (set WARD_CREDENTIALS_DIR to use another directory)", name, path)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("credential %q: %w", name, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return Credential{}, fmt.Errorf("credential %q: %s is accessible to other users (mode %04o); run chmod 600 %s", name, path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Credential{}, fmt.Errorf("credential %q: %w", name, err)
	}
	if _, err := ssh.ParseRawPrivateKey(b); err == nil {
		return Credential{PrivateKey: b}, nil
	} else if _, missing := err.(*ssh.PassphraseMissingError); missing {
		return Credential{}, fmt.Errorf("credential %q: %s is an encrypted private key; Ward needs it unencrypted (protect the file instead: mode 0600, owned by the ward user)", name, path)
	}
	if strings.Contains(string(b), "PRIVATE KEY") {
		return Credential{}, fmt.Errorf("credential %q: %s looks like a private key but does not parse", name, path)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" || strings.ContainsAny(pw, "\r\n") {
		return Credential{}, fmt.Errorf("credential %q: %s holds neither an SSH private key nor a one-line password", name, path)
	}
	return Credential{Password: pw}, nil
}
