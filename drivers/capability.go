package drivers

import (
	"context"
	"fmt"
	"time"

	"github.com/wardnet/ward/drivers/intent"
)

// Optional capabilities, found by type assertion on a Driver; each is
// covered by the conformance suite (drivers/drivertest) for every driver
// that declares it. End a driver file with interface guards
// (var _ drivers.SetUpdater = (*driver)(nil)) for the ones it has.

// Quarantine. A driver chooses how it contains a device: a firewall
// (nftables set elements, IOS-XE object-group members, Junos prefix-list
// entries) implements SetUpdater over the quarantine sets the model names;
// an access switch implements VLANSetter (the port moves to the quarantine
// VLAN). Both read what is in force with QuarantineReader. Each is one
// small change on the device, never a re-push of the configuration.

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

// ConfigSessioner stages a configuration in a session the device keeps
// apart from the running one (an EOS configure session, a Junos private
// or exclusive candidate), so it can be checked and read back before it
// takes effect.
type ConfigSessioner interface {
	// Stage loads cfg into a new session; the running configuration is
	// unchanged. Staged.Diff is the device's own account of the change.
	Stage(ctx context.Context, s Session, cfg Config) (Staged, error)
	// Commit makes the staged configuration the running one.
	Commit(ctx context.Context, s Session, st Staged) error
	// Abort discards the session; the running configuration is unchanged.
	Abort(ctx context.Context, s Session, st Staged) error
}

// Staged is a configuration waiting in a session.
type Staged struct {
	ID   string // the session's name on the device
	Diff string // what the device says the session changes
}

// CommitConfirmer applies a configuration that the device itself rolls
// back unless it is confirmed in time (Junos commit confirmed, EOS commit
// timer, IOS-XE configure terminal revert timer), so a change that cuts
// Ward off from the device undoes itself.
type CommitConfirmer interface {
	// ApplyConfirmed makes the device run cfg until Confirm, or until
	// within has passed, when the device restores the previous
	// configuration by itself. within is rounded up to the device's unit.
	ApplyConfirmed(ctx context.Context, s Session, cfg Config, within time.Duration) (Pending, error)
	// Confirm keeps the configuration ApplyConfirmed put in force.
	Confirm(ctx context.Context, s Session, p Pending) error
}

// Pending is a change waiting to be confirmed.
type Pending struct {
	ID       string    // the device's name for it, if any
	Deadline time.Time // by Ward's clock: when the device rolls it back
}

// Checkpointer saves the configuration Ward manages on the device and
// restores it (IOS-XE archive and configure replace, Junos rollback N,
// EOS checkpoints, a saved nftables table).
type Checkpointer interface {
	Checkpoint(ctx context.Context, s Session) (Checkpoint, error)
	// Rollback restores the configuration of c; it is an error if c no
	// longer exists on the device.
	Rollback(ctx context.Context, s Session, c Checkpoint) error
}

// Checkpoint names a saved configuration on the device.
type Checkpoint struct {
	ID string // a file, a rollback number, a checkpoint name
}

// CapacityChecker knows the limits of the hardware it configures (ACL
// entries, object-group members, VLANs), by the target's Model. A plan
// whose configuration exceeds them fails for that target before any push.
type CapacityChecker interface {
	// CheckCapacity returns every limit t's configuration exceeds on its
	// model (none: it fits).
	CheckCapacity(t *intent.Target, cfg Config) []Overflow
}

// Overflow is one limit a configuration exceeds.
type Overflow struct {
	Resource string // what is counted: "ACL entries in ward_zone_pumps"
	Need     int    // how many the configuration needs
	Limit    int    // how many the model takes
	Model    string // the model whose limit it is
	Source   string // where the limit is documented
}

func (o Overflow) String() string {
	return fmt.Sprintf("%s: needs %d, %s takes %d (%s)", o.Resource, o.Need, o.Model, o.Limit, o.Source)
}

// PortNamer spells an interface name the way the OS shows it (IOS-XE
// Gi1/0/5 is GigabitEthernet1/0/5, EOS Et5 is Ethernet5, Junos ge-0/0/5.0
// is ge-0/0/5), so the inventory's spelling of a port and the device's
// compare: what QuarantineReader and Parse report is in the OS's spelling,
// what Ward passes in is in the inventory's. A driver whose OS has one
// spelling per port need not implement it.
type PortNamer interface {
	CanonicalPort(name string) (string, error)
}

// SamePort reports whether a and b name the same port of a device driven
// by d: equal, or equal once d spells both (PortNamer).
func SamePort(d any, a, b string) bool {
	if a == b {
		return true
	}
	pn, ok := d.(PortNamer)
	if !ok {
		return false
	}
	ca, err1 := pn.CanonicalPort(a)
	cb, err2 := pn.CanonicalPort(b)
	return err1 == nil && err2 == nil && ca == cb
}
