package clifake

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// echo is a fake device: it needs a PTY, answers each line with "got
// LINE", and cuts the connection on the line "cut".
func echo(s ssh.Session) {
	if !NeedPTY(s, "no pty, no shell\r\n") {
		return
	}
	r := bufio.NewReader(s)
	for {
		line, err := r.ReadString('\r')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "cut" {
			Cut(s)
			return
		}
		fmt.Fprintf(s, "got %s\r\n", line)
	}
}

func dialWith(t *testing.T, srv *Server, knownHostsFile, user string, auth gossh.AuthMethod) (*gossh.Client, error) {
	t.Helper()
	hk, err := knownhosts.New(knownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	return gossh.Dial("tcp", srv.Addr(), &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{auth}, HostKeyCallback: hk, Timeout: 5 * time.Second})
}

func TestLoginOnlyAsTheUserWithItsPasswordOrKey(t *testing.T) {
	pub, keyPEM := ClientKey(t)
	srv := Start(t, "clifake", Auth{User: "ward", Password: "pw", AuthorizedKeys: []gossh.PublicKey{pub}}, echo)
	kh := srv.WriteKnownHosts(t)
	signer, err := gossh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatalf("ClientKey's PEM does not parse: %v", err)
	}
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") || srv.Host() != "127.0.0.1" || srv.Port() == 0 {
		t.Fatalf("not on 127.0.0.1 with a port: %q, %q, %d", srv.Addr(), srv.Host(), srv.Port())
	}
	_, other := ClientKey(t)
	otherSigner, _ := gossh.ParsePrivateKey(other)
	for _, c := range []struct {
		user string
		auth gossh.AuthMethod
		ok   bool
	}{
		{"ward", gossh.Password("pw"), true},
		{"ward", gossh.PublicKeys(signer), true},
		{"ward", gossh.Password("wrong"), false},
		{"root", gossh.Password("pw"), false},
		{"root", gossh.PublicKeys(signer), false},
		{"ward", gossh.PublicKeys(otherSigner), false},
	} {
		c2, err := dialWith(t, srv, kh, c.user, c.auth)
		if (err == nil) != c.ok {
			t.Errorf("login as %s: error %v, want success %v", c.user, err, c.ok)
		}
		if c2 != nil {
			c2.Close()
		}
	}
}

func TestPasswordOffWithoutPassword(t *testing.T) {
	pub, _ := ClientKey(t)
	srv := Start(t, "clifake", Auth{User: "ward", AuthorizedKeys: []gossh.PublicKey{pub}}, echo)
	if c, err := dialWith(t, srv, srv.WriteKnownHosts(t), "ward", gossh.Password("")); err == nil {
		c.Close()
		t.Fatal("an empty password logged in to a key-only server")
	}
}

func TestKnownHostsPinsTheHostKey(t *testing.T) {
	srv := Start(t, "clifake", Auth{User: "ward", Password: "pw"}, echo)
	other := Start(t, "clifake", Auth{User: "ward", Password: "pw"}, echo)
	// The form OpenSSH writes for a non-default port, built here by hand.
	want := fmt.Sprintf("[127.0.0.1]:%d %s", srv.Port(), strings.TrimSpace(string(gossh.MarshalAuthorizedKey(srv.HostKey()))))
	if got := srv.KnownHostsLine(); got != want {
		t.Fatalf("known_hosts line\n got %q\nwant %q", got, want)
	}
	data, err := os.ReadFile(srv.WriteKnownHosts(t))
	if err != nil || string(data) != want+"\n" {
		t.Fatalf("known_hosts file: %q, %v", data, err)
	}
	// The other server's key at this address must be refused.
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	line := strings.Replace(other.KnownHostsLine(), other.Addr(), srv.Addr(), 1)
	line = strings.Replace(line, fmt.Sprintf("]:%d ", other.Port()), fmt.Sprintf("]:%d ", srv.Port()), 1)
	os.WriteFile(wrong, []byte(line+"\n"), 0o600)
	if c, err := dialWith(t, srv, wrong, "ward", gossh.Password("pw")); err == nil {
		c.Close()
		t.Fatal("connected although known_hosts pins another key")
	}
}

func TestShellNeedPTYAndCut(t *testing.T) {
	srv := Start(t, "clifake", Auth{User: "ward", Password: "pw"}, echo)
	kh := srv.WriteKnownHosts(t)

	// Without a PTY: the refusal and exit status 1.
	c, err := dialWith(t, srv, kh, "ward", gossh.Password("pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := c.NewSession()
	out, err := s.Output("")
	var exit *gossh.ExitError
	if string(out) != "no pty, no shell\r\n" || !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Fatalf("without a PTY: %q, %v", out, err)
	}

	// With one: the handler answers, and cut drops the connection.
	in, r := Shell(t, srv.Addr(), kh, "ward", "pw", 24, 80)
	io.WriteString(in, "hello\r")
	br := bufio.NewReader(r)
	if line, err := br.ReadString('\n'); err != nil || line != "got hello\r\n" {
		t.Fatalf("shell answered %q, %v", line, err)
	}
	io.WriteString(in, "bye\r")
	if line, err := br.ReadString('\n'); err != nil || line != "got bye\r\n" {
		t.Fatalf("shell answered %q, %v", line, err)
	}

	// cut closes the whole connection, not only the channel: the client
	// can open no other session on it afterwards.
	c2, err := dialWith(t, srv, kh, "ward", gossh.Password("pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s2, _ := c2.NewSession()
	s2.RequestPty("xterm", 24, 80, gossh.TerminalModes{})
	in2, _ := s2.StdinPipe()
	if err := s2.Shell(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in2, "cut\r")
	gone := make(chan error, 1)
	go func() { gone <- c2.Wait() }()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not cut within 5s")
	}
	if s3, err := c2.NewSession(); err == nil {
		s3.Close()
		t.Fatal("a new session opened on a cut connection")
	}
}

func TestCloseStopsTheServer(t *testing.T) {
	srv := Start(t, "clifake", Auth{User: "ward", Password: "pw"}, echo)
	kh := srv.WriteKnownHosts(t)
	srv.Close()
	srv.Close() // and again, as the test's cleanup will
	if c, err := dialWith(t, srv, kh, "ward", gossh.Password("pw")); err == nil {
		c.Close()
		t.Fatal("logged in after Close")
	}
}

// TestOnlyTestCodeImportsClifake: outside _test.go files only the fake
// devices (test-support packages named *fake) may import clifake, so the
// harness never ships in ward.
func TestOnlyTestCodeImportsClifake(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not at %s: %v", root, err)
	}
	const self = "github.com/wardnet/ward/drivers/clifake"
	fakes := 0 // files of the fakes that import it: proof the walk saw them
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "vendor" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return nil // another agent's half-written file is not this test's concern
		}
		for _, imp := range f.Imports {
			if strings.Trim(imp.Path.Value, `"`) != self {
				continue
			}
			if strings.HasSuffix(filepath.Base(filepath.Dir(path)), "fake") {
				fakes++
			} else {
				t.Errorf("%s imports %s, a test-only harness: use it from _test.go files or a *fake package", path, self)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fakes < 3 {
		t.Errorf("found %d files of the fakes importing clifake, want at least 3 (iosxefake, eosfake, junosfake): did the walk miss the tree?", fakes)
	}
}

// programTB is a TB as a program implements it: Fatal panics, Cleanup
// collects.
type programTB struct{ cleanups []func() }

func (p *programTB) Helper()                           {}
func (p *programTB) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (p *programTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (p *programTB) Cleanup(f func())                  { p.cleanups = append(p.cleanups, f) }

func TestStartAtListensWhereToldWithTheGivenHostKey(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	// A free port, learnt by listening on it and letting it go.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	p := &programTB{}
	srv := StartAt(p, "clifake", Endpoint{Listen: addr, HostKey: signer}, Auth{User: "ward", Password: "pw"}, echo)
	if srv.Addr() != addr {
		t.Fatalf("listening on %s, asked for %s", srv.Addr(), addr)
	}
	if !bytes.Equal(srv.HostKey().Marshal(), signer.PublicKey().Marshal()) {
		t.Fatal("the server's host key is not the one given")
	}
	// A known_hosts file written from the given key alone is accepted.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, signer.PublicKey())+"\n"), 0o600)
	c, err := dialWith(t, srv, kh, "ward", gossh.Password("pw"))
	if err != nil {
		t.Fatalf("login with the pinned given key: %v", err)
	}
	c.Close()

	// The program's cleanups stop the server.
	if len(p.cleanups) != 1 {
		t.Fatalf("%d cleanups registered, want 1", len(p.cleanups))
	}
	p.cleanups[0]()
	if c, err := dialWith(t, srv, kh, "ward", gossh.Password("pw")); err == nil {
		c.Close()
		t.Fatal("logged in after the cleanup ran")
	}

	// An address already taken is a Fatal naming it.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	func() {
		defer func() {
			r := recover()
			if msg, _ := r.(string); !strings.Contains(msg, busy.Addr().String()) {
				t.Fatalf("listening on a busy address: recovered %v, want a Fatal naming %s", r, busy.Addr())
			}
		}()
		StartAt(&programTB{}, "clifake", Endpoint{Listen: busy.Addr().String()}, Auth{User: "ward", Password: "pw"}, echo)
	}()
}

// TestWardDoesNotLinkTheFakes: the binary that ships depends on neither
// the harness nor the fakes (the example lab's netfakes program does,
// and it is not ward).
func TestWardDoesNotLinkTheFakes(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gobin, "list", "-deps", "github.com/wardnet/ward/cmd/ward").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/wardnet/ward/drivers") {
		t.Fatalf("go list -deps cmd/ward does not list the drivers package: not the list expected\n%s", out)
	}
	for _, p := range deps {
		if p == "github.com/wardnet/ward/drivers/clifake" || strings.HasSuffix(p, "fake") && strings.HasPrefix(p, "github.com/wardnet/ward/") {
			t.Errorf("cmd/ward depends on %s, a test and lab harness", p)
		}
	}
}
