// Package sshtest starts a throwaway OpenSSH sshd on loopback for tests:
// fresh host and client keys, a known_hosts file pinning the host key, and
// the current user allowed in with the client key. Without an sshd binary
// it skips the test, except with CI=true, where it fails.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/testenv"
	"golang.org/x/crypto/ssh"
)

// Server is a running sshd.
type Server struct {
	Host       string
	Port       int
	User       string
	KnownHosts string // path: pins the host key for Host:Port
	ClientKey  []byte // OpenSSH private key authorised for User
	HostKey    ssh.PublicKey
	cmd        *exec.Cmd
}

// Start runs sshd until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil {
		testenv.Unavailable(t, "OpenSSH sshd is not installed (Debian package openssh-server): %v", err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostPub, hostKeyFile := writeKey(t, dir, "host_key")
	clientPub, clientKeyFile := writeKey(t, dir, "client_key")
	authorized := filepath.Join(dir, "authorized_keys")
	os.WriteFile(authorized, ssh.MarshalAuthorizedKey(clientPub), 0o600)
	port := freePort(t)
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(strings.Join([]string{
		"ListenAddress 127.0.0.1:" + strconv.Itoa(port),
		"HostKey " + hostKeyFile,
		"AuthorizedKeysFile " + authorized,
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"UsePAM no",
		"StrictModes no",
		"PrintMotd no",
		"LogLevel ERROR",
	}, "\n")+"\n"), 0o600)
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
	logFile, _ := os.Create(filepath.Join(dir, "sshd.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			t.Fatalf("sshd did not start listening: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	kh := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(hostPub))
	os.WriteFile(kh, []byte(line), 0o600)
	key, _ := os.ReadFile(clientKeyFile)
	return &Server{Host: "127.0.0.1", Port: port, User: u.Username, KnownHosts: kh, ClientKey: key, HostKey: hostPub, cmd: cmd}
}

// Stop kills sshd and the per-connection processes it forked, so every
// session drops, as a cut link would.
func (s *Server) Stop() {
	exec.Command("pkill", "-KILL", "-P", strconv.Itoa(s.cmd.Process.Pid)).Run()
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

func writeKey(t testing.TB, dir, name string) (ssh.PublicKey, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	return sshPub, path
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
