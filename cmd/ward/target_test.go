package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers/sshsession"
	"github.com/wardnet/ward/drivers/sshsession/sshtest"
)

func TestTargetTrust(t *testing.T) {
	srv := sshtest.Start(t)
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	pol := filepath.Join(dir, "policy")
	os.Mkdir(pol, 0o755)
	os.WriteFile(filepath.Join(pol, "targets.hcl"), []byte(fmt.Sprintf(`target "core-fw" {
  driver      = "linux_nftables"
  address     = "127.0.0.1"
  port        = %d
  username    = %q
  credential  = "core-fw"
  known_hosts = %q
  role        = "firewall"
}
`, srv.Port, srv.User, kh)), 0o644)
	db := "sqlite://" + filepath.Join(dir, "ward.db")

	// Declining changes nothing.
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader("n\n"), stdout: &out, stderr: &errb}
	if code := c.run([]string{"target", "trust", "core-fw", "-policy", pol, "-db", db}); code != 1 {
		t.Fatalf("declined: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Fatal("known_hosts written although the key was declined")
	}
	if !strings.Contains(out.String(), "SHA256:") {
		t.Fatalf("no fingerprint shown:\n%s", out.String())
	}

	// Accepting records it; a session can then connect with the key pinned.
	out.Reset()
	c = &cli{stdin: strings.NewReader("yes\n"), stdout: &out, stderr: &errb}
	if code := c.run([]string{"target", "trust", "core-fw", "-policy", pol, "-db", db}); code != 0 {
		t.Fatalf("accepted: exit %d\n%s%s", code, out.String(), errb.String())
	}
	s, err := sshsession.Dial(context.Background(), sshsession.Target{Name: "core-fw", Address: "127.0.0.1", Port: srv.Port,
		Username: srv.User, KnownHosts: kh, Timeout: 5 * time.Second}, sshsession.Credential{PrivateKey: srv.ClientKey})
	if err != nil {
		t.Fatalf("dial after trust: %v", err)
	}
	s.Close()
	if code, out, _ := runWard(t, "target", "trust", "core-fw", "-policy", pol, "-db", db); code != 0 || !strings.Contains(out, "already trusted") {
		t.Fatalf("second trust: exit %d %s", code, out)
	}
	if _, out, _ := runWard(t, "audit", "-db", db); !strings.Contains(out, "target.trust") {
		t.Fatalf("audit lacks target.trust:\n%s", out)
	}
}
