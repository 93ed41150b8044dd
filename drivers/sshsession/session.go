// Package sshsession is the drivers.Session Ward uses in production: an
// interactive shell over SSH with scrapligo's standard transport (Go's
// crypto/ssh), the target's host key checked against its known_hosts file
// and never ignored, and a Linux platform definition (ward_linux.yaml).
package sshsession

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/scrapli/scrapligo/driver/generic"
	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/transport"
	"github.com/scrapli/scrapligo/util"
	"github.com/wardnet/ward/drivers"
	"golang.org/x/crypto/ssh/knownhosts"
)

//go:embed ward_linux.yaml
var linuxPlatform []byte

// prompt is the fixed shell prompt Ward sets once logged in.
const prompt = "WARD> "

var promptPattern = regexp.MustCompile(`(?m)^WARD> $`)

// Target is where to connect.
type Target struct {
	Name       string // for messages: the policy's target name
	Address    string
	Port       int
	Username   string
	KnownHosts string // path of the known_hosts file that pins the host key
	Timeout    time.Duration
}

// Credential authenticates the session: a private key, or a password.
type Credential struct {
	PrivateKey []byte
	Passphrase string
	Password   string
}

// Session is an open shell on a target. A command that times out, is cut
// or prints output Run cannot read leaves the session broken: its output
// may still arrive and be taken for the next command's, so every later Run
// fails with drivers.ErrSessionBroken and the caller must dial again.
type Session struct {
	target Target
	d      *generic.Driver
	broken error // why the session is broken; nil while it is usable
}

var _ drivers.Session = (*Session)(nil)

// HostKeyError is a host key that is unknown or does not match known_hosts.
type HostKeyError struct {
	Target, Addr, KnownHosts string
	Mismatch                 bool
	Lines                    []int // known_hosts lines holding the expected key(s)
}

func (e *HostKeyError) Error() string {
	if e.Mismatch {
		lines := make([]string, len(e.Lines))
		for i, l := range e.Lines {
			lines[i] = strconv.Itoa(l)
		}
		return fmt.Sprintf("target %q: host key mismatch for %s (known_hosts %s line %s); if the device was replaced, run ward target trust %s",
			e.Target, e.Addr, e.KnownHosts, strings.Join(lines, ","), e.Target)
	}
	return fmt.Sprintf("target %q: the host key of %s is not in known_hosts %s; check it out of band, then run ward target trust %s",
		e.Target, e.Addr, e.KnownHosts, e.Target)
}

// Options are the scrapligo options every Ward session dials with: the
// standard transport, the host key pinned by t.KnownHosts, t's timeouts
// and the credential. t must have its port and timeout set.
func Options(t Target, c Credential) ([]util.Option, error) {
	opts := []util.Option{
		options.WithTransportType(transport.StandardTransport),
		options.WithPort(t.Port),
		options.WithAuthUsername(t.Username),
		options.WithSSHKnownHostsFile(t.KnownHosts),
		options.WithTimeoutSocket(t.Timeout),
		options.WithTimeoutOps(t.Timeout),
	}
	switch {
	case len(c.PrivateKey) > 0:
		opts = append(opts, options.WithStandardTransportPrivateKeyBytes(c.PrivateKey, c.Passphrase))
	case c.Password != "":
		opts = append(opts, options.WithAuthPassword(c.Password))
	default:
		return nil, fmt.Errorf("target %q: the credential holds neither a private key nor a password", t.Name)
	}
	return opts, nil
}

// Dial connects, logs in and prepares the shell.
func Dial(ctx context.Context, t Target, c Credential) (*Session, error) {
	if t.KnownHosts == "" {
		return nil, fmt.Errorf("target %q: no known_hosts file; Ward never connects without a pinned host key", t.Name)
	}
	if t.Port == 0 {
		t.Port = 22
	}
	if t.Timeout == 0 {
		t.Timeout = 15 * time.Second
	}
	opts, err := Options(t, c)
	if err != nil {
		return nil, err
	}
	opts = append(opts, options.WithTermWidth(4096))
	p, err := platform.NewPlatform(linuxPlatform, t.Address, opts...)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.Name, err)
	}
	d, err := p.GetGenericDriver()
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.Name, err)
	}
	if err := d.Open(); err != nil {
		return nil, DialError(t, err)
	}
	s := &Session{target: t, d: d}
	// Wait until the login shell shows its prompt: input typed before
	// readline starts is echoed twice (by the tty, then by readline) and
	// leaves stray characters for the next command.
	if _, err := d.GetPrompt(); err != nil {
		d.Close()
		return nil, fmt.Errorf("target %q: no shell prompt after login: %w", t.Name, err)
	}
	// Then a fixed prompt, no line editing (the tty echoes a long command
	// as typed), no history, C locale for stable output. The strict prompt
	// pattern is set first, so the setup's read ends at the new prompt and
	// not at a login prompt still in the buffer.
	d.Channel.PromptPattern = promptPattern
	setup := "unset PROMPT_COMMAND HISTFILE; set +o emacs +o vi +o history; export LANG=C LC_ALL=C TERM=dumb; PS1='" + prompt + "'; PS2=''"
	if _, err := d.SendCommand(setup); err != nil {
		d.Close()
		return nil, fmt.Errorf("target %q: preparing the shell: %w", t.Name, err)
	}
	return s, nil
}

// DialError describes a failed connection to t: a *HostKeyError when the
// host key is unknown or does not match, else what failed where.
func DialError(t Target, err error) error {
	addr := net.JoinHostPort(t.Address, strconv.Itoa(t.Port))
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		he := &HostKeyError{Target: t.Name, Addr: addr, KnownHosts: t.KnownHosts, Mismatch: len(ke.Want) > 0}
		for _, w := range ke.Want {
			he.Lines = append(he.Lines, w.Line)
		}
		return he
	}
	return fmt.Errorf("target %q: connecting to %s as %s: %w", t.Name, addr, t.Username, err)
}

// markerBytes is how much randomness each command's exit status marker
// carries: 16 hex digits, which device output cannot guess.
const markerBytes = 8

// Run sends one command line and returns its output; a non-zero exit status
// is a *drivers.ExitError. The command must be a single line.
//
// The exit status is printed after the command's output behind a marker
// made afresh for each command from crypto/rand, so output that looks like
// a status line (a previous marker, a fixed sentinel) cannot forge it. A
// failure that may leave output in flight (timeout, cut connection, no
// marker) breaks the session: that Run and every later one return an
// error wrapping drivers.ErrSessionBroken.
func (s *Session) Run(ctx context.Context, command string) (string, error) {
	if s.broken != nil {
		return "", fmt.Errorf("target %q: not running %s: %w (%v)", s.target.Name, command, drivers.ErrSessionBroken, s.broken)
	}
	if strings.ContainsAny(command, "\n\r") {
		return "", fmt.Errorf("target %q: a command must be one line", s.target.Name)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("target %q: not running %s: %w", s.target.Name, command, err)
	}
	var opts []util.Option
	if dl, ok := ctx.Deadline(); ok {
		opts = append(opts, opoptions.WithTimeoutOps(time.Until(dl)))
	}
	marker, err := newMarker()
	if err != nil {
		return "", fmt.Errorf("target %q: %w", s.target.Name, err)
	}
	// The marker is passed to printf in two pieces, so the command line the
	// terminal echoes never holds it whole.
	// A context cancelled without a deadline (a signal, a caller giving
	// up) closes the connection, which ends the read: the session is
	// broken either way, and the caller need not wait for the device.
	stop := context.AfterFunc(ctx, func() { s.d.Close() })
	r, err := s.d.SendCommand(command+"; printf '\\n%s%s=%d\\n' __WARD_RC_ "+marker+" \"$?\"", opts...)
	if !stop() {
		return "", s.breakOff(command, fmt.Errorf("%w (the connection was closed)", context.Cause(ctx)))
	}
	if err != nil {
		return "", s.breakOff(command, err)
	}
	out, status, err := splitStatus(r.Result, "__WARD_RC_"+marker+"=")
	if err != nil {
		return "", s.breakOff(command, err)
	}
	if status != 0 {
		return out, &drivers.ExitError{Command: command, Status: status, Output: out}
	}
	return out, nil
}

// breakOff marks the session broken by err, met while running command.
func (s *Session) breakOff(command string, err error) error {
	s.broken = fmt.Errorf("%s: %w", command, err)
	return fmt.Errorf("target %q: %s: %w; %w", s.target.Name, command, err, drivers.ErrSessionBroken)
}

// Broken reports whether the session is broken (see Run): a caller keeping
// sessions open (a pool) discards a broken one.
func (s *Session) Broken() bool { return s.broken != nil }

func newMarker() (string, error) {
	b := make([]byte, markerBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making the exit status marker: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// splitStatus cuts the output of one command at its status line (marker,
// then the exit status), which must be the last line before the prompt.
func splitStatus(result, marker string) (out string, status int, err error) {
	head, rest, found := "", "", false
	if i := strings.LastIndex(result, "\n"+marker); i >= 0 {
		head, rest, found = result[:i], result[i+1+len(marker):], true
	} else if strings.HasPrefix(result, marker) { // no output before it
		rest, found = result[len(marker):], true
	}
	if !found {
		return "", 0, errors.New("no exit status in the output (the session may have been cut)")
	}
	// After the status only the prompt may follow.
	line, tail, _ := strings.Cut(rest, "\n")
	line = strings.TrimRight(line, "\r")
	status, convErr := strconv.Atoi(line)
	if convErr != nil || status < 0 || status > 255 {
		return "", 0, fmt.Errorf("the exit status line ends in %q, not a status", clip(line))
	}
	if tail = strings.TrimSpace(tail); tail != "" && tail != strings.TrimSpace(prompt) {
		return "", 0, fmt.Errorf("output %q follows the exit status", clip(tail))
	}
	out = strings.TrimRight(strings.ReplaceAll(head, "\r\n", "\n"), "\r\n")
	return out, status, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Close ends the shell and the connection.
func (s *Session) Close() error { return s.d.Close() }
