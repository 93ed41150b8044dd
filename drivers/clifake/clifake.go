// Package clifake is the SSH harness shared by the fakes of network
// operating systems (drivers/ciscoiosxe/iosxefake, drivers/aristaeos/eosfake,
// drivers/juniperjunos/junosfake): a github.com/gliderlabs/ssh server on
// 127.0.0.1 with a fresh ed25519 host key, password and public-key login
// for one user, the known_hosts line pinning that key, cutting a session's
// TCP connection (the fakes' dropped-link fault), the client side the
// fakes' tests use (a PTY shell, a client key), and the clock their commit
// timers run on (clock.go).
//
// It holds only transport and time: prompts, grammar, errors, paging and commit
// logic belong to each OS's fake. Like the fakes it serves, it is for
// tests and the example lab only: it takes a TB (what it needs of a
// testing.TB), only _test.go files and the fake packages import it, and
// ward's binary never links it (TestWardDoesNotLinkTheFakes). The lab's
// program examples/lab/netfakes serves the fakes on the lab's management
// addresses with persistent host keys (StartAt).
package clifake

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"
	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/transport"
	"github.com/scrapli/scrapligo/util"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Auth is who may log in: User with Password (if not empty) and/or with
// any of AuthorizedKeys.
type Auth struct {
	User           string
	Password       string
	AuthorizedKeys []gossh.PublicKey
}

// Server is a running SSH server for a fake device.
type Server struct {
	addr    string
	hostKey gossh.PublicKey
	srv     *ssh.Server
	ln      net.Listener
	once    sync.Once
}

// TB is what the harness and the fakes' Start functions need of a
// testing.TB, which satisfies it. A program serving fakes (the example
// lab's netfakes) implements it itself: Fatal and Fatalf must not return
// (testing's stop the test's goroutine; a program may panic and recover
// around Start), and Cleanup's functions run, last added first, when the
// fake is to stop. It is an interface of its own rather than testing.TB
// because testing.TB cannot be implemented outside package testing (it has
// an unexported method), and a struct embedding a nil testing.TB would
// panic on whichever method it forgot.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

var _ TB = testing.TB(nil)

// Endpoint is where a server listens and with which host key.
type Endpoint struct {
	// Listen is host:port; "" is 127.0.0.1 on a free port.
	Listen string
	// HostKey is the server's host key; nil is a fresh ed25519 key.
	HostKey gossh.Signer
}

// Start serves handler on 127.0.0.1 (a free port) with a fresh ed25519
// host key until Close or the end of the test. name (the fake's package)
// prefixes the test failures it reports.
func Start(t TB, name string, auth Auth, handler ssh.Handler) *Server {
	t.Helper()
	return StartAt(t, name, Endpoint{}, auth, handler)
}

// StartAt is Start on the address and with the host key of at.
func StartAt(t TB, name string, at Endpoint, auth Auth, handler ssh.Handler) *Server {
	t.Helper()
	signer := at.HostKey
	if signer == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("%s: host key: %v", name, err)
		}
		if signer, err = gossh.NewSignerFromKey(priv); err != nil {
			t.Fatalf("%s: host key: %v", name, err)
		}
	}
	listen := at.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	s := &Server{hostKey: signer.PublicKey(), srv: &ssh.Server{Handler: handler}}
	s.srv.AddHostKey(signer)
	if auth.Password != "" {
		s.srv.PasswordHandler = func(ctx ssh.Context, pw string) bool {
			return ctx.User() == auth.User && pw == auth.Password
		}
	}
	if len(auth.AuthorizedKeys) > 0 {
		s.srv.PublicKeyHandler = func(ctx ssh.Context, key ssh.PublicKey) bool {
			if ctx.User() != auth.User {
				return false
			}
			for _, k := range auth.AuthorizedKeys {
				if ssh.KeysEqual(k, key) {
					return true
				}
			}
			return false
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatalf("%s: listen on %s: %v", name, listen, err)
	}
	s.addr, s.ln = ln.Addr().String(), ln
	go s.srv.Serve(ln)
	t.Cleanup(s.Close)
	return s
}

// Close stops listening and cuts every session; later calls do nothing.
// It closes the listener itself too: the server learns of it only once
// Serve, in its own goroutine, has begun, and a Close just after Start
// can come first.
func (s *Server) Close() {
	s.once.Do(func() {
		s.srv.Close()
		s.ln.Close()
	})
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return s.addr }

// Host is the host part of Addr.
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.addr); return h }

// Port is the TCP port of the server.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// HostKey is the server's host key.
func (s *Server) HostKey() gossh.PublicKey { return s.hostKey }

// KnownHostsLine is the known_hosts line pinning HostKey to Addr
// ("[127.0.0.1]:PORT ssh-ed25519 ...").
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, s.hostKey)
}

// WriteKnownHosts writes a known_hosts file holding KnownHostsLine into a
// test temporary directory and returns its path.
func (s *Server) WriteKnownHosts(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(s.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatalf("writing known_hosts for %s: %v", s.addr, err)
	}
	return path
}

// Blackhole listens on 127.0.0.1 and accepts TCP connections it never
// answers on, as a device whose sshd is wedged or whose packets are
// dropped once the handshake is done: an SSH client waits for the banner
// until its own timeout. It returns the listener's host:port; the
// listener and the connections it holds close when the test ends.
func Blackhole(t TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// Cut closes the TCP connection a session runs on, without a word, as a
// failed link would: the client sees the connection go, not an orderly
// end of the channel.
func Cut(s ssh.Session) {
	if c, ok := s.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
		c.Close()
	}
}

// ClientKey is a fresh ed25519 client key: its public half, for an
// AuthorizedKeys list, and its private half PEM-encoded (OpenSSH format),
// as a client reads it from a key file.
func ClientKey(t testing.TB) (gossh.PublicKey, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("client key: %v", err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatalf("client key: %v", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("client key: %v", err)
	}
	return sshPub, pem.EncodeToMemory(block)
}

// Shell logs in to addr as user with password, checking the host key
// against the known_hosts file, opens a shell on a rows x cols PTY and
// returns its input and output; the connection closes at the end of the
// test.
func Shell(t testing.TB, addr, knownHostsFile, user, password string, rows, cols int) (io.Writer, io.Reader) {
	t.Helper()
	hk, err := knownhosts.New(knownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{gossh.Password(password)}, HostKeyCallback: hk, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", rows, cols, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	return in, out
}

// NeedPTY reports whether the session asked for a PTY, as the fakes serve
// only interactive shells; if not, it writes refusal (the fake's own
// words) and ends the session with exit status 1.
func NeedPTY(s ssh.Session, refusal string) bool {
	if _, _, isPty := s.Pty(); isPty {
		return true
	}
	io.WriteString(s, refusal)
	s.Exit(1)
	return false
}

// Scrapli opens scrapligo's network driver with scrapligo's own definition
// of platform (e.g. "cisco_iosxe"), on its standard transport, to addr with
// the host key checked against knownHostsFile and 5s timeouts; opts add
// the login (user, password or key) and anything else, later options
// winning. The driver closes at the end of the test; an error is Open's.
func Scrapli(t testing.TB, platformName, addr, knownHostsFile string, opts ...util.Option) (*network.Driver, error) {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("scrapligo session to %q: %v", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("scrapligo session to %q: %v", addr, err)
	}
	all := append([]util.Option{
		options.WithTransportType(transport.StandardTransport),
		options.WithPort(port),
		options.WithSSHKnownHostsFile(knownHostsFile),
		options.WithTimeoutOps(5 * time.Second),
		options.WithTimeoutSocket(5 * time.Second),
	}, opts...)
	p, err := platform.NewPlatform(platformName, host, all...)
	if err != nil {
		t.Fatalf("scrapligo platform %s: %v", platformName, err)
	}
	d, err := p.GetNetworkDriver()
	if err != nil {
		t.Fatalf("scrapligo platform %s: %v", platformName, err)
	}
	if err := d.Open(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { d.Close() })
	return d, nil
}
