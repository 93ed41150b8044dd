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
//     transaction if the element is gone, i.e. another holder moved it),
//     or, when a set is empty, replaces the table by the handle it read.
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
// Tokens are counted per database, so the fence in the context also
// names the database that handed the token out (WithFenceDomain, the id of
// internal/store.Store.DatabaseID), and a device keeps that id beside the
// token. A push from the same database whose token is older is refused; a
// push from another database (a reinstall, a lab test's own database) is a
// different Ward installation, not a stale holder: in the same
// compare-and-set it replaces the device's id and token with its own, and
// reports the reset (ReportFenceReset). A database restored from a backup
// keeps its id and its tokens went back: refused, for the operator.
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
	return fmt.Sprintf("target %q: push with fencing token %d refused, the device has seen token %d from this same database (%s): %v; if the Ward database was restored from a backup, tokens went back: clear it on the device (see docs/drivers.md, Fencing)",
		e.Target, e.Mine, e.Seen, e.DeviceState, ErrFenced)
}

func (e *FencedError) Unwrap() error { return ErrFenced }

type fenceKey struct{}

type fence struct {
	target   string
	database string
	token    int64
	reset    func(FenceReset)
}

// WithFence is WithFenceDomain with no database id: for callers that only
// ever use one database (tests). Devices treat "" as a database like any
// other.
func WithFence(ctx context.Context, target string, token int64) context.Context {
	return WithFenceDomain(ctx, target, "", token)
}

// WithFenceDomain returns ctx carrying the fencing token of target's
// current acquisition and the id of the database that handed it out
// (internal/jobs.Owner.Do calls it). token must be positive.
func WithFenceDomain(ctx context.Context, target, database string, token int64) context.Context {
	f, _ := ctx.Value(fenceKey{}).(fence)
	return context.WithValue(ctx, fenceKey{}, fence{target: target, database: database, token: token, reset: f.reset})
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

// FenceDatabase returns the id of the database that handed out the
// fencing token in ctx ("" for WithFence).
func FenceDatabase(ctx context.Context) string {
	f, _ := ctx.Value(fenceKey{}).(fence)
	return f.database
}

// FenceReset is a device's fence replaced by a push from another database:
// the device had seen token Seen from database SeenDatabase ("" when it
// kept no database id, as before the id existed) and now keeps Token from
// Database.
type FenceReset struct {
	Target                 string
	Database, SeenDatabase string
	Token, Seen            int64
	DeviceState            string // where the device keeps it
}

// OnFenceReset returns ctx in which ReportFenceReset calls fn; a fence set
// later on ctx (WithFenceDomain) keeps it. internal/jobs.Owner logs and
// audits the reset with it.
func OnFenceReset(ctx context.Context, fn func(FenceReset)) context.Context {
	f, _ := ctx.Value(fenceKey{}).(fence)
	f.reset = fn
	return context.WithValue(ctx, fenceKey{}, f)
}

// ReportFenceReset is called by a driver after a push that reset the
// device's fence committed; it calls the function OnFenceReset put in ctx,
// if any. A reset is expected after a reinstall, but the operator should
// see it: a database restored under a new id would also look like one.
func ReportFenceReset(ctx context.Context, r FenceReset) {
	if f, _ := ctx.Value(fenceKey{}).(fence); f.reset != nil {
		f.reset(r)
	}
}
