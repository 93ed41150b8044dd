package drivers

import (
	"context"
	"errors"
	"fmt"
)

// Fencing. Ownership of a target (internal/jobs.Owner.Do) is a lock the
// holder checks: a holder that stalls (a paused VM, a SIGSTOPped process)
// may wake up after another process took the target over, and send a
// command it prepared before. So every acquisition takes a fencing token,
// strictly greater than every token handed out before for that target (a
// counter in the database), and passes it to the driver in the context
// (WithFence). A driver that can keep a value on the device writes the
// highest token it has seen there and, in the same device transaction as
// the change, refuses the change when the device has seen a greater one:
//
//   - linux_nftables keeps it in table inet ward_fence, set epoch, which
//     Ward's table never touches; each push is one nft -f transaction that
//     deletes the element it read and adds its own (nft aborts the whole
//     transaction if the element is gone, i.e. another holder moved it).
//   - openvswitch keeps it in Open_vSwitch external_ids:ward-fence; each
//     push is one ovs-vsctl transaction led by wait-until on the value it
//     read (ovs-vsctl verifies what it read before it commits).
//
// Vendor drivers (cisco_iosxe, arista_eos, juniper_junos) have no
// device-side fence: their CLIs offer no compare-and-set that a
// configuration change can be made conditional on, so for them the
// serialisation of internal/jobs is the only protection, and a command
// already on the wire when a holder loses the target is not recalled.
//
// Without a token in the context (CLI paths outside Owner, tests) drivers
// push as they always did.

// ErrFenced is returned when the device has seen a fencing token greater
// than the push's: another holder of the target acted after this one lost
// it. Nothing was changed. It is not a device fault: acquiring the target
// again takes a new, greater token.
var ErrFenced = errors.New("the device has seen a newer fencing token: another Ward process took the target over after this one lost it; nothing was changed")

// FencedError says which tokens a refused push carried and found.
type FencedError struct {
	Target      string // as named in the context (WithFence)
	Mine, Seen  int64
	DeviceState string // where the device keeps it, for the operator
}

func (e *FencedError) Error() string {
	return fmt.Sprintf("target %q: push with fencing token %d refused, the device has seen token %d (%s): %v; if the Ward database was restored from a backup, tokens went back: clear it on the device (see docs/drivers.md, Fencing)",
		e.Target, e.Mine, e.Seen, e.DeviceState, ErrFenced)
}

func (e *FencedError) Unwrap() error { return ErrFenced }

type fenceKey struct{}

type fence struct {
	target string
	token  int64
}

// WithFence returns ctx carrying the fencing token of target's current
// acquisition (internal/jobs.Owner.Do calls it). token must be positive.
func WithFence(ctx context.Context, target string, token int64) context.Context {
	return context.WithValue(ctx, fenceKey{}, fence{target, token})
}

// FenceOf returns the fencing token in ctx, if any.
func FenceOf(ctx context.Context) (token int64, ok bool) {
	f, ok := ctx.Value(fenceKey{}).(fence)
	return f.token, ok && f.token > 0
}

// FenceTarget returns the target the fencing token in ctx was taken for.
func FenceTarget(ctx context.Context) string {
	f, _ := ctx.Value(fenceKey{}).(fence)
	return f.target
}
