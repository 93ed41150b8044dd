// Package localsession is a drivers.Session that runs each command with
// bash on this host, optionally inside a network namespace. It exists for
// tests and for the example lab, where a "device" is a network namespace on
// the same machine; production sessions reach real devices over SSH.
//
// Start with New:
//
//	s := localsession.New(localsession.Options{Netns: "ward-lab-fw"})
//	out, err := s.Run(ctx, "nft list tables")
package localsession

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
)

const waitDelay = 5 * time.Second

// Options configure a Session.
type Options struct {
	// Netns, when set, runs every command inside that network namespace
	// (ip netns exec NETNS bash -c COMMAND), which needs root.
	Netns string
	// MaxLine, when positive, refuses command lines longer than that, as
	// an interactive terminal on a real device would (its line holds 4096
	// characters): tests use it to prove drivers split long commands.
	MaxLine int
}

// Session runs commands on the local host. It holds no shell between
// commands, like an SSH exec channel: each Run is a new bash.
type Session struct {
	argv    []string // what runs before the command itself
	maxLine int
	closed  bool
}

// New returns a Session. It starts nothing: commands run on Run.
func New(o Options) *Session {
	argv := []string{"bash", "-c"}
	if o.Netns != "" {
		argv = append([]string{"ip", "netns", "exec", o.Netns}, argv...)
	}
	return &Session{argv: argv, maxLine: o.MaxLine}
}

// Run runs command with bash -c and returns its standard output and
// standard error, interleaved as the command wrote them. A command that
// exits non-zero returns a *drivers.ExitError holding that output.
func (s *Session) Run(ctx context.Context, command string) (string, error) {
	if s.closed {
		return "", fmt.Errorf("localsession: run %q: the session is closed", command)
	}
	if s.maxLine > 0 && len(command) > s.maxLine {
		return "", fmt.Errorf("localsession: a command line of %d characters is longer than the %d this session allows", len(command), s.maxLine)
	}
	argv := append(append([]string(nil), s.argv...), command)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	// A command that leaves a child holding the output open (a daemon it
	// started) must not make Run wait for that child.
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if err == nil {
		return out.String(), nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return out.String(), fmt.Errorf("localsession: run %q: %w", command, ctxErr)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() >= 0 {
		return out.String(), &drivers.ExitError{Command: command, Status: exit.ExitCode(), Output: out.String()}
	}
	return out.String(), fmt.Errorf("localsession: run %q with %s: %w", command, strings.Join(s.argv, " "), err)
}

// Close ends the session; later Runs fail.
func (s *Session) Close() error {
	s.closed = true
	return nil
}

var _ drivers.Session = (*Session)(nil)
