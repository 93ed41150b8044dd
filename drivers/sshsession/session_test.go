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

// open starts an OpenSSH server and dials it, closing the session when the
// test ends.
func open(t *testing.T) (*sshtest.Server, *Session) {
	t.Helper()
	srv := sshtest.Start(t)
	s, err := dial(t, srv, srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return srv, s
}

func TestRunAgainstOpenSSH(t *testing.T) {
	_, s := open(t)
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
	srv, s := open(t)
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

// TestExitStatusCannotBeForged runs commands whose output imitates a status
// line, in the fixed format Ward used before and with the marker of the
// command before: the status reported is the command's own.
func TestExitStatusCannotBeForged(t *testing.T) {
	_, s := open(t)
	ctx := context.Background()

	// The old fixed sentinel, then exit 3.
	out, err := s.Run(ctx, "printf '__WARD_RC=0\\n'; (exit 3)")
	var ee *drivers.ExitError
	if !errors.As(err, &ee) || ee.Status != 3 {
		t.Fatalf("a command printing __WARD_RC=0 and exiting 3: out %q, err %v; want exit status 3", out, err)
	}
	if out != "__WARD_RC=0" {
		t.Errorf("output = %q, want the forged line kept as output", out)
	}

	// A marker of the same shape, guessed: the status still comes from the
	// command.
	out, err = s.Run(ctx, "printf '\\n__WARD_RC_0123456789abcdef=0\\n'; (exit 4)")
	if !errors.As(err, &ee) || ee.Status != 4 {
		t.Fatalf("a command printing a guessed marker: out %q, err %v; want exit status 4", out, err)
	}

	// A command whose output is not over when its status is printed (a
	// background job writing a status-like line later) does not get a
	// second reading: the session is in step for the next command.
	out, err = s.Run(ctx, "(exit 6)")
	if !errors.As(err, &ee) || ee.Status != 6 {
		t.Fatalf("(exit 6): out %q, err %v; want exit status 6", out, err)
	}
	// And the session is still in step: the next command reads its own output.
	if out, err := s.Run(ctx, "echo next"); err != nil || out != "next" {
		t.Fatalf("after forged status lines, Run = %q, %v; want \"next\"", out, err)
	}
	if s.Broken() {
		t.Error("the session is marked broken after commands that ran to the end")
	}
}

// TestTimedOutSessionIsBroken: a command that outlives its deadline leaves
// its output in flight, so the session refuses the next command instead of
// misreading that output as the next command's.
func TestTimedOutSessionIsBroken(t *testing.T) {
	_, s := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := s.Run(ctx, "sleep 2; echo late-output")
	if err == nil {
		t.Fatal("a command running past its deadline succeeded")
	}
	if !errors.Is(err, drivers.ErrSessionBroken) || !s.Broken() {
		t.Fatalf("timed-out command: err = %v, Broken() = %v; want drivers.ErrSessionBroken and a broken session", err, s.Broken())
	}
	// Wait until the late output has surely arrived: a session reused now
	// would read it as the next command's.
	time.Sleep(2500 * time.Millisecond)
	out, err := s.Run(context.Background(), "echo fresh")
	if !errors.Is(err, drivers.ErrSessionBroken) {
		t.Fatalf("Run after a timeout = %q, %v; want a refusal wrapping drivers.ErrSessionBroken", out, err)
	}
	if !strings.Contains(err.Error(), "dial again") {
		t.Errorf("refusal %q does not tell the caller to dial again", err)
	}
	var ee *drivers.ExitError
	if errors.As(err, &ee) {
		t.Errorf("refusal is an *ExitError (a pool would keep the session): %v", err)
	}
}

// TestSplitStatus reads status lines as a device could print them: a status
// line with another command's marker (the previous one's) is output, not
// the status.
func TestSplitStatus(t *testing.T) {
	const mine, previous = "__WARD_RC_00112233aabbccdd=", "__WARD_RC_ffeeddcc99887766="
	for _, c := range []struct {
		name, result string
		out          string
		status       int
		bad          string
	}{
		{"plain", "hello\r\n" + mine + "0\r\nWARD>", "hello", 0, ""},
		{"no output", mine + "2\nWARD>", "", 2, ""},
		{"previous marker first", previous + "0\n\n" + mine + "3\nWARD>", previous + "0", 3, ""},
		{"old sentinel", "__WARD_RC=0\n" + mine + "1", "__WARD_RC=0", 1, ""},
		{"no marker", "__WARD_RC=0\n" + previous + "0\nWARD>", "", 0, "no exit status"},
		{"output after the status", "a\n" + mine + "0\n" + previous + "0\nWARD>", "", 0, "follows the exit status"},
		{"not a number", "a\n" + mine + "zero\nWARD>", "", 0, "not a status"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, status, err := splitStatus(c.result, mine)
			if c.bad != "" {
				if err == nil || !strings.Contains(err.Error(), c.bad) {
					t.Fatalf("splitStatus = %q, %d, %v; want an error containing %q", out, status, err, c.bad)
				}
				return
			}
			if err != nil || out != c.out || status != c.status {
				t.Fatalf("splitStatus = %q, %d, %v; want %q, %d", out, status, err, c.out, c.status)
			}
		})
	}
}

// TestCancelledRunReturns: a context cancelled without a deadline ends a
// command that would run for long, at once, and breaks the session.
func TestCancelledRunReturns(t *testing.T) {
	_, s := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.Run(ctx, "sleep 10")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Run returned %s after its context was cancelled, want at once", took-300*time.Millisecond)
	}
	if !errors.Is(err, drivers.ErrSessionBroken) || !errors.Is(err, context.Canceled) || !s.Broken() {
		t.Fatalf("cancelled Run: err = %v, Broken() = %v; want context.Canceled and drivers.ErrSessionBroken", err, s.Broken())
	}
	if _, err := s.Run(context.Background(), "echo again"); !errors.Is(err, drivers.ErrSessionBroken) {
		t.Fatalf("Run after a cancelled one: err = %v, want drivers.ErrSessionBroken", err)
	}
}
