// Package netsession is the session Ward speaks network-OS CLIs over
// (Cisco IOS-XE, Arista EOS, Juniper Junos): scrapligo's network driver,
// with its privilege levels, configuration modes and failure patterns from
// a platform definition the OS's driver supplies (drivers.Info.Platform,
// scrapligo's own definition with what Ward found missing added), always
// on scrapligo's standard transport with the host key pinned by a
// known_hosts file. The Linux shell session (drivers/sshsession) stays for
// nftables and Open vSwitch.
//
// Start at Dial; Open wraps a driver a test built itself (scrapligo's file
// transport replaying a recorded session). Run is the drivers.Session
// method; Configure and Interact are what the OS drivers use to change
// configuration, through the Configurer interface they assert.
package netsession

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/opoptions"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/response"
	"github.com/scrapli/scrapligo/util"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/sshsession"
)

// Target and Credential are the shell session's: where to connect and how
// to log in (Target.KnownHosts is required).
type (
	Target     = sshsession.Target
	Credential = sshsession.Credential
)

// Configurer is what a network-OS session offers its driver beyond Run.
// Drivers assert it on the drivers.Session they are given, and fail
// clearly (not a network-OS session) when it is missing.
type Configurer interface {
	drivers.Session
	// Configure enters the configuration privilege level priv ("" is
	// "configuration"), sends lines one by one and stops at the first the
	// device refuses: the error is a *Rejected naming it and the device's
	// message. The session stays in that level; the next Run leaves it.
	Configure(ctx context.Context, priv string, lines []string) (string, error)
	// Interact sends one line at whatever prompt the device shows, and
	// reads to the next prompt of any privilege level: for commands that
	// change mode in ways the platform does not model (configure session
	// NAME, commit, rollback). A failure pattern in the output is a
	// *Rejected.
	Interact(ctx context.Context, line string) (string, error)
	// Acquire moves the session to privilege level priv.
	Acquire(ctx context.Context, priv string) error
}

// Rejected is a line the device refused: its output matched one of the
// platform's failure patterns.
type Rejected struct {
	Target  string
	Line    string
	Pattern string // the failure pattern it matched
	Output  string
}

func (e *Rejected) Error() string {
	out := strings.TrimSpace(e.Output)
	if len(out) > 2000 {
		out = out[:2000] + "…"
	}
	return fmt.Sprintf("target %q refused %q: %s", e.Target, e.Line, out)
}

// Session is an open CLI session on a network device. Like the shell
// session, one that timed out or was cut is broken: every later call
// fails with drivers.ErrSessionBroken and the caller dials again.
type Session struct {
	name   string
	d      *network.Driver
	broken error
}

var (
	_ drivers.Session = (*Session)(nil)
	_ Configurer      = (*Session)(nil)
)

// Dial connects to t, logs in and brings the session to the platform's
// default privilege level (running its on-open commands: terminal length
// 0 and the like). platform is a scrapligo platform definition (YAML).
func Dial(ctx context.Context, t Target, c Credential, platformYAML []byte) (*Session, error) {
	if t.KnownHosts == "" {
		return nil, fmt.Errorf("target %q: no known_hosts file; Ward never connects without a pinned host key", t.Name)
	}
	if len(platformYAML) == 0 {
		return nil, fmt.Errorf("target %q: no platform definition for a network-OS session", t.Name)
	}
	if t.Port == 0 {
		t.Port = 22
	}
	if t.Timeout == 0 {
		t.Timeout = 30 * time.Second
	}
	opts, err := sshsession.Options(t, c)
	if err != nil {
		return nil, err
	}
	opts = append(opts, options.WithTermWidth(511))
	if c.Password != "" {
		// The enable secret, where the OS asks for one, is the login's.
		opts = append(opts, options.WithAuthSecondary(c.Password))
	}
	p, err := platform.NewPlatform(platformYAML, t.Address, opts...)
	if err != nil {
		return nil, fmt.Errorf("target %q: platform definition: %w", t.Name, err)
	}
	d, err := p.GetNetworkDriver()
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Open() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		d.Close()
		return nil, fmt.Errorf("target %q: connecting: %w", t.Name, context.Cause(ctx))
	}
	if err != nil {
		return nil, sshsession.DialError(t, err)
	}
	return &Session{name: t.Name, d: d}, nil
}

// Open wraps a network driver already opened by the caller (a test
// replaying a recorded session over scrapligo's file transport).
func Open(name string, d *network.Driver) *Session { return &Session{name: name, d: d} }

// Network is the scrapligo driver underneath, for what this package does
// not wrap.
func (s *Session) Network() *network.Driver { return s.d }

// Run sends one command at the platform's default privilege level
// (privileged exec) and returns its output. Output matching a failure
// pattern is a *drivers.ExitError (status 1) wrapping a *Rejected.
func (s *Session) Run(ctx context.Context, command string) (string, error) {
	return s.op(ctx, command, func(opts []util.Option) (*response.Response, error) {
		return s.d.SendCommand(command, opts...)
	})
}

// Interact: see Configurer.
func (s *Session) Interact(ctx context.Context, line string) (string, error) {
	out, err := s.op(ctx, line, func(opts []util.Option) (*response.Response, error) {
		// The line may change the mode: the next Run or Configure must
		// find out where it is from the prompt, not from what it was.
		defer func() { s.d.CurrentPriv = "" }()
		return s.d.Driver.SendCommand(line, opts...)
	})
	return out, err
}

// Acquire: see Configurer.
func (s *Session) Acquire(ctx context.Context, priv string) error {
	if err := s.usable(ctx, "acquiring "+priv); err != nil {
		return err
	}
	if err := s.d.AcquirePriv(priv); err != nil {
		return s.breakOff("acquiring privilege level "+priv, err)
	}
	return nil
}

// Configure: see Configurer.
func (s *Session) Configure(ctx context.Context, priv string, lines []string) (string, error) {
	if priv == "" {
		priv = "configuration"
	}
	if err := s.Acquire(ctx, priv); err != nil {
		return "", err
	}
	var all strings.Builder
	for _, line := range lines {
		out, err := s.op(ctx, line, func(opts []util.Option) (*response.Response, error) {
			return s.d.Driver.SendCommand(line, opts...)
		})
		all.WriteString(out)
		if out != "" && !strings.HasSuffix(out, "\n") {
			all.WriteString("\n")
		}
		if err != nil {
			return all.String(), err
		}
	}
	return all.String(), nil
}

// op runs one send with the context's deadline, and sorts its outcome:
// a transport failure breaks the session, a failure pattern rejects the
// line.
func (s *Session) op(ctx context.Context, line string, send func([]util.Option) (*response.Response, error)) (string, error) {
	if err := s.usable(ctx, line); err != nil {
		return "", err
	}
	if strings.ContainsAny(line, "\n\r") {
		return "", fmt.Errorf("target %q: a command must be one line", s.name)
	}
	var opts []util.Option
	if dl, ok := ctx.Deadline(); ok {
		opts = append(opts, opoptions.WithTimeoutOps(time.Until(dl)))
	}
	stop := context.AfterFunc(ctx, func() { s.cut() })
	r, err := send(opts)
	if !stop() {
		return "", s.breakOff(line, fmt.Errorf("%w (the connection was closed)", context.Cause(ctx)))
	}
	if err != nil {
		return "", s.breakOff(line, err)
	}
	out := strings.TrimRight(strings.ReplaceAll(r.Result, "\r\n", "\n"), "\n")
	if r.Failed != nil {
		rej := &Rejected{Target: s.name, Line: line, Output: out}
		var oe *response.OperationError
		if errors.As(r.Failed, &oe) {
			rej.Pattern = oe.ErrorString
		}
		return out, &drivers.ExitError{Command: line, Status: 1, Output: out, Err: rej}
	}
	return out, nil
}

func (s *Session) usable(ctx context.Context, what string) error {
	if s.broken != nil {
		return fmt.Errorf("target %q: not sending %s: %w (%v)", s.name, what, drivers.ErrSessionBroken, s.broken)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("target %q: not sending %s: %w", s.name, what, err)
	}
	return nil
}

func (s *Session) breakOff(line string, err error) error {
	s.broken = fmt.Errorf("%s: %w", line, err)
	return fmt.Errorf("target %q: %s: %w; %w", s.name, line, err, drivers.ErrSessionBroken)
}

// Broken reports whether the session is broken.
func (s *Session) Broken() bool { return s.broken != nil }

// Close ends the session: the platform's on-close commands, then the
// connection. A broken session is cut without them: they would only wait
// out their timeout on a session that cannot answer, keeping the device's
// configuration lock (Junos configure exclusive) all the while.
func (s *Session) Close() error {
	if s.broken != nil {
		return s.cut()
	}
	return s.d.Close()
}

// cut closes the connection without a word to the device.
func (s *Session) cut() error { return s.d.Driver.Channel.Close() }
