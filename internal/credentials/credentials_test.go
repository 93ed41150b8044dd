package credentials

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	s := Source{Dir: dir}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	key := pem.EncodeToMemory(block)
	os.WriteFile(filepath.Join(dir, "core-fw"), key, 0o600)
	os.WriteFile(filepath.Join(dir, "switch"), []byte("s3cret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "loose"), key, 0o644)
	enc, _ := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pw"))
	os.WriteFile(filepath.Join(dir, "encrypted"), pem.EncodeToMemory(enc), 0o600)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)

	if c, err := s.Load("core-fw"); err != nil || len(c.PrivateKey) == 0 {
		t.Fatalf("key: %+v %v", c, err)
	}
	if c, err := s.Load("switch"); err != nil || c.Password != "s3cret" {
		t.Fatalf("password: %+v %v", c, err)
	}
	for name, want := range map[string]string{
		"loose": "chmod 600", "encrypted": "encrypted private key", "empty": "neither",
		"missing": "no file", "../etc/passwd": "not a valid credential name",
	} {
		if _, err := s.Load(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", name, err, want)
		}
	}
}
