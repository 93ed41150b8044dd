package drivers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/internal/textdiff"
)

// Driver renders intent into one network OS's configuration, applies it
// over a Session, and parses configuration back into the model. Drivers
// hold no connection state of their own; what they do beyond this is an
// optional capability (capability.go), found by type assertion.
type Driver interface {
	// Render turns a target's intent into the device's own configuration,
	// deterministically: the same intent renders the same bytes. It is
	// exactly what Apply sends as the desired state (ward render prints it).
	Render(t *intent.Target) (Config, error)
	// Parse reads configuration in this driver's syntax (what Render
	// writes, or what Running read from a device, with the device's
	// sequence numbers, abbreviations, host forms and ordering) into the
	// model. Parse(Render(t)) enforces what t does, as far as the syntax
	// can say it (see Compare); anything Parse does not understand in the
	// part of the configuration Ward manages is an error, never skipped.
	Parse(cfg Config) (*intent.Target, error)
	// Apply makes the device run cfg. It checks cfg before changing
	// anything, and on any failure leaves the previous configuration in
	// force (or restores it) and says so in the error.
	Apply(ctx context.Context, s Session, cfg Config) error
	// Running reads back the configuration Ward manages, in the device's
	// own syntax, for Parse. It leaves out quarantine state (see
	// QuarantineReader): a quarantined device is not drift.
	Running(ctx context.Context, s Session) (Config, error)
}

// Compare says whether a device running running enforces what planned
// says, by comparing their models (Parse of each, by its Enforced
// projection), not their bytes. When they differ, diff shows how, as
// the two models rendered by d (or as JSON when one does not render).
func Compare(d Driver, planned, running Config) (same bool, diff string, err error) {
	p, err := d.Parse(planned)
	if err != nil {
		return false, "", fmt.Errorf("parsing the planned configuration: %w", err)
	}
	r, err := d.Parse(running)
	if err != nil {
		return false, "", fmt.Errorf("parsing the running configuration: %w", err)
	}
	if intent.SameEnforcement(p, r) {
		return true, "", nil
	}
	return false, modelDiff(d, p, r), nil
}

// modelDiff shows how two parsed models differ, in the driver's own syntax
// when both render, else as JSON.
func modelDiff(d Driver, planned, running *intent.Target) string {
	pc, perr := d.Render(planned)
	rc, rerr := d.Render(running)
	if perr == nil && rerr == nil && pc.Text != rc.Text {
		return textdiff.Unified("running", "planned", []byte(rc.Text), []byte(pc.Text))
	}
	pj, _ := json.MarshalIndent(planned.Enforced(), "", "  ")
	rj, _ := json.MarshalIndent(running.Enforced(), "", "  ")
	return textdiff.Unified("running (model)", "planned (model)", append(rj, '\n'), append(pj, '\n'))
}

// Config is a rendered configuration: the text pushed to the device.
type Config struct {
	Text string
}

// Session runs CLI commands on a target: over SSH in production
// (scrapligo's standard transport, host key pinned), or on the local host
// in tests. Implementations are used by one goroutine at a time.
type Session interface {
	// Run sends one command line and returns its output. For shell-based
	// targets (Linux, Open vSwitch) a non-zero exit status is an *ExitError.
	Run(ctx context.Context, command string) (string, error)
	// Close ends the session.
	Close() error
}

// ExitError reports a command that ran and failed.
type ExitError struct {
	Command string
	Status  int
	Output  string
	// Err is the session's own account of the failure, if it has one (a
	// network-OS session: the device's refusal).
	Err error
}

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }

func (e *ExitError) Error() string {
	out := e.Output
	if len(out) > 2000 {
		out = out[:2000] + "…"
	}
	return fmt.Sprintf("command failed (exit %d): %s: %s", e.Status, e.Command, out)
}

// ErrCheckFailed wraps a configuration the device refused on its dry run
// (nft -c, a commit check): nothing was changed.
var ErrCheckFailed = errors.New("the device rejected the configuration on its dry run; nothing was changed")

// ErrInvalidConfig wraps a configuration the driver refused before sending
// anything to the device: it does not parse into the driver's model (a
// line Render never writes, a name outside the driver's grammar, a shell
// metacharacter). Nothing was changed.
var ErrInvalidConfig = errors.New("the configuration is not one this driver writes; nothing was sent to the device")

// ErrSessionBroken wraps a command whose session can no longer be trusted
// (it timed out, was cut, or its output could not be read, so the output of
// one command could be taken for the next one's), and every later command
// on that session. Close the session and dial again.
var ErrSessionBroken = errors.New("the session is broken; close it and dial again")

// ErrOutcomeUnknown wraps an Apply whose session failed after the change
// was sent: the device runs the previous configuration or the new one
// (which of the two, only a read on a new session tells; see Which).
var ErrOutcomeUnknown = errors.New("the session failed after the change was sent, so whether it took effect is unknown; read the device again on a new session")

// ErrNotVerified wraps an Apply the device reported committed whose read
// back failed: the new configuration is in force, but Ward could not check it.
var ErrNotVerified = errors.New("the device committed the change, but reading it back failed")

// Outcome is which configuration a device runs after an Apply whose
// outcome was unknown.
type Outcome string

// The outcomes Which reports.
const (
	OutcomeApplied  Outcome = "applied"  // the configuration Apply was given
	OutcomePrevious Outcome = "previous" // the configuration before it
	OutcomeNeither  Outcome = "neither"  // something else: drift
)

// Which reads the configuration d manages on the device behind s (a new
// session: the one Apply used may be broken) and says whether it enforces
// the one applied, the previous one, or neither (Compare).
func Which(ctx context.Context, d Driver, s Session, applied, previous Config) (Outcome, error) {
	running, err := d.Running(ctx, s)
	if err != nil {
		return "", err
	}
	// What does not parse as this driver's configuration is neither.
	r, err := d.Parse(running)
	if err != nil {
		return OutcomeNeither, nil
	}
	for _, c := range []struct {
		cfg     Config
		outcome Outcome
	}{{applied, OutcomeApplied}, {previous, OutcomePrevious}} {
		m, err := d.Parse(c.cfg)
		if err != nil {
			return "", fmt.Errorf("parsing the %s configuration: %w", c.outcome, err)
		}
		if intent.SameEnforcement(m, r) {
			return c.outcome, nil
		}
	}
	return OutcomeNeither, nil
}
