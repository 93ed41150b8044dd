package sshsession

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/sshsession/sshtest"
	"golang.org/x/crypto/ssh"
)

func dial(t *testing.T, srv *sshtest.Server, knownHosts string) (*Session, error) {
	t.Helper()
	return Dial(context.Background(), Target{Name: "core-fw", Address: srv.Host, Port: srv.Port, Username: srv.User,
		KnownHosts: knownHosts, Timeout: 5 * time.Second}, Credential{PrivateKey: srv.ClientKey})
}

func TestRunAgainstOpenSSH(t *testing.T) {
	srv := sshtest.Start(t)
	s, err := dial(t, srv, srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	out, err := s.Run(ctx, "echo hello; echo world")
	if err != nil || out != "hello\nworld" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	out, err = s.Run(ctx, "echo 'it failed' >&2; exit_code() { return 3; }; exit_code")
	var ee *drivers.ExitError
	if !errors.As(err, &ee) || ee.Status != 3 || !strings.Contains(out, "it failed") {
		t.Fatalf("failing command: out %q err %v", out, err)
	}
	// The session survives a failed command, and a long line goes through
	// intact (readline is off, so the tty echoes it as typed).
	long := strings.Repeat("x", 3000)
	out, err = s.Run(ctx, "printf '%s' '"+long+"' | wc -c")
	if err != nil || strings.TrimSpace(out) != "3000" {
		t.Fatalf("long command: %q %v", out, err)
	}
	// Output that looks like a shell prompt does not end the read early.
	out, err = s.Run(ctx, "printf 'root@host:~# \\nafter\\n'")
	if err != nil || !strings.HasSuffix(out, "after") {
		t.Fatalf("prompt-like output: %q %v", out, err)
	}
	if _, err := s.Run(ctx, "echo a\necho b"); err == nil {
		t.Fatal("a multi-line command must be refused")
	}
}

func TestHostKeyPinning(t *testing.T) {
	srv := sshtest.Start(t)
	dir := t.TempDir()

	// Unknown host: refused, pointing at ward target trust.
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	_, err := dial(t, srv, empty)
	var he *HostKeyError
	if !errors.As(err, &he) || he.Mismatch || !strings.Contains(err.Error(), "ward target trust core-fw") {
		t.Fatalf("unknown host: %v", err)
	}

	// A different key on file for the address: a mismatch naming the line.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewPublicKey(pub)
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(wrong, []byte(fmt.Sprintf("# comment\n[127.0.0.1]:%d %s", srv.Port, ssh.MarshalAuthorizedKey(other))), 0o600)
	_, err = dial(t, srv, wrong)
	if !errors.As(err, &he) || !he.Mismatch || len(he.Lines) != 1 || he.Lines[0] != 2 ||
		!strings.Contains(err.Error(), "host key mismatch for 127.0.0.1:") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("mismatch: %v", err)
	}

	if _, err := dial(t, srv, ""); err == nil {
		t.Fatal("dialing without known_hosts must be refused")
	}
}

func TestDroppedConnection(t *testing.T) {
	srv := sshtest.Start(t)
	s, err := dial(t, srv, srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := s.Run(ctx, "echo still here"); err == nil {
		t.Fatal("Run on a dropped connection succeeded")
	}
	if time.Since(start) > 6*time.Second {
		t.Fatalf("Run on a dropped connection took %s", time.Since(start))
	}
}

// TestFirstCommandAfterDial: input typed before the login shell's readline
// starts used to be echoed twice and garble the first command, about one
// dial in twenty against bash.
func TestFirstCommandAfterDial(t *testing.T) {
	srv := sshtest.Start(t)
	for i := range 10 {
		s, err := dial(t, srv, srv.KnownHosts)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		out, err := s.Run(context.Background(), "echo ready-"+fmt.Sprint(i))
		s.Close()
		if err != nil || out != fmt.Sprint("ready-", i) {
			t.Fatalf("dial %d: first command: %q %v", i, out, err)
		}
	}
}
