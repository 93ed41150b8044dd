package drivers

import (
	"context"
	"errors"
	"fmt"

	"github.com/wardnet/ward/internal/intent"
)

// Driver renders intent into one network OS's configuration and applies it
// over a Session. Drivers hold no connection state of their own.
type Driver interface {
	// Render turns a target's intent into the device's own configuration,
	// deterministically: the same intent renders the same bytes.
	Render(t *intent.Target) (Config, error)
	// Apply makes the device run cfg. It checks cfg on the device before
	// changing anything, and on any failure leaves the previous
	// configuration in force (or restores it) and says so in the error.
	Apply(ctx context.Context, s Session, cfg Config) error
	// Running reads back the configuration Ward manages, in the same form
	// Render produces, so the two can be compared for drift. It leaves out
	// quarantine state (see QuarantineReader): a quarantined device is not
	// drift.
	Running(ctx context.Context, s Session) (Config, error)
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
}

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
// session: the one Apply used may be broken) and says whether it is the
// one applied, the previous one, or neither.
func Which(ctx context.Context, d Driver, s Session, applied, previous Config) (Outcome, error) {
	running, err := d.Running(ctx, s)
	switch {
	case err != nil:
		return "", err
	case running == applied:
		return OutcomeApplied, nil
	case running == previous:
		return OutcomePrevious, nil
	}
	return OutcomeNeither, nil
}

// Optional capabilities, found by type assertion.

// VLANSetter moves one access port to a VLAN without a full apply (used by
// quarantine).
type VLANSetter interface {
	SetPortVLAN(ctx context.Context, s Session, port string, vlan int) error
}

// SetUpdater adds or removes addresses in one named set without a full
// apply (used by quarantine).
type SetUpdater interface {
	AddToSet(ctx context.Context, s Session, set string, addrs []string) error
	RemoveFromSet(ctx context.Context, s Session, set string, addrs []string) error
}

// QuarantineReader reads the quarantine in force on a target, which
// Running leaves out (quarantine is state, not configuration): Ward
// reconciles its record of active quarantines with it on start-up.
type QuarantineReader interface {
	ReadQuarantine(ctx context.Context, s Session) (QuarantineState, error)
}

// QuarantineState is the quarantine in force on one target.
type QuarantineState struct {
	// Sets holds the members of each quarantine set (firewalls).
	Sets map[string][]string `json:"sets,omitempty"`
	// Ports maps each port now in the quarantine VLAN to the VLAN it
	// belongs in (access switches).
	Ports map[string]int `json:"ports,omitempty"`
}
