package openvswitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
)

// Fencing (drivers/fence.go). The highest fencing token the switch has
// seen is external_ids:ward-fence of the driver's scope record (the
// bridge with Options.Bridge, else open_vswitch .), so that two targets
// on one switch, each confined to its bridge, keep their own; the id of
// the database that handed it out is external_ids:ward-fence-db beside
// it. A push with a token in its context reads both. From the same
// database, it refuses when the switch's token is greater than the
// push's, and otherwise leads its one ovs-vsctl transaction with
//
//	-- wait-until SCOPE external_ids:ward-fence=SEEN external_ids:ward-fence-db=DB
//	-- get SCOPE external_ids
//	-- set SCOPE external_ids:ward-fence=MINE external_ids:ward-fence-db=DB
//
// From another database (or with no ward-fence-db, a switch fenced before
// database ids existed) the push resets the fence: the same transaction,
// its wait-until on the whole external_ids map as read, reported with
// drivers.ReportFenceReset once it committed, or may have (settle): a
// refused push changed nothing and reports nothing.
//
// wait-until holds the transaction back until the value is the one read;
// get makes ovs-vsctl verify the external_ids column at commit (ovsdb
// then rejects the commit if the column changed since ovs-vsctl read it,
// and ovs-vsctl re-evaluates its commands on the new contents). Tokens
// only grow, so once another holder moved the value, wait-until never
// holds again and ovs-vsctl gives up at its --timeout (Options.Timeout)
// having committed nothing; the driver then reads the value again and
// returns drivers.ErrFenced. A switch that has never seen a token is
// matched on its whole external_ids map as read, since wait-until cannot
// test that a key is absent.

const (
	keyFence   = "ward-fence"
	keyFenceDB = "ward-fence-db"
)

// fence is a push's compare-and-set on the scope's ward-fence.
type fence struct {
	target   string
	mine     int64
	database string
	cond     []string // the wait-until conditions: the state read
	seen     int64    // the switch's token, when it is from the push's database
	// reset is the fence of another database this push replaces,
	// reported once the push committed (settle).
	reset *drivers.FenceReset
}

// readFence returns the fence for a push under ctx's token, nil without
// one; a *drivers.FencedError when the switch has seen a greater token
// from the same database. A push that will reset the switch's fence
// (another database's token there) keeps the reset for settle to report.
func (d *driver) readFence(ctx context.Context, s drivers.Session) (*fence, error) {
	f, reset, err := d.fenceState(ctx, s)
	if f != nil {
		f.reset = reset
	}
	return f, err
}

// settle finishes a fenced push whose transaction ended with err (nil: it
// committed; maybe: it may have, the session failed or ovs-vsctl was
// stopped). It reports the reset of another database's fence only when
// the push changed the switch's fence: it committed, or the switch now
// shows the push's token (or cannot be read). A failed push is explained:
// when the switch's token moved past the push's meanwhile, a
// *drivers.FencedError; otherwise err.
func (d *driver) settle(ctx context.Context, s drivers.Session, f *fence, err error, maybe bool) error {
	if f == nil {
		return err
	}
	took := err == nil
	if err != nil {
		now, _, rerr := d.fenceState(ctx, s)
		if errors.Is(rerr, drivers.ErrFenced) {
			return rerr
		}
		took = maybe && (rerr != nil || now.seen == f.mine)
	}
	if took && f.reset != nil {
		drivers.ReportFenceReset(ctx, *f.reset)
		f.reset = nil
	}
	return err
}

// fenceState reads the switch's fence for ctx's token (nil without one),
// and what a push would reset, if anything.
func (d *driver) fenceState(ctx context.Context, s drivers.Session) (*fence, *drivers.FenceReset, error) {
	mine, ok := drivers.FenceOf(ctx)
	if !ok {
		return nil, nil, nil
	}
	where := words(d.scope...) + " external_ids:" + keyFence + " and " + keyFenceDB
	out, err := s.Run(ctx, d.vsctl+" --format=json --columns=external_ids list "+words(d.scope...))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the fencing token the switch has seen (%s): %w; nothing was changed", where, err)
	}
	var scope struct{ Data [][1]json.RawMessage }
	ids := map[string]string{}
	if err := json.Unmarshal([]byte(out), &scope); err != nil || len(scope.Data) != 1 {
		return nil, nil, fmt.Errorf("ovs-vsctl list %s printed %q, not one record; nothing was changed", words(d.scope...), out)
	}
	if err := decodeMap(scope.Data[0][0], ids); err != nil {
		return nil, nil, fmt.Errorf("ovs-vsctl list %s: %w; nothing was changed", words(d.scope...), err)
	}
	f := &fence{target: drivers.FenceTarget(ctx), mine: mine, database: drivers.FenceDatabase(ctx)}
	v, ok := ids[keyFence]
	if !ok {
		f.cond = []string{"external_ids=" + mapString(ids)}
		return f, nil, nil
	}
	seen, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, nil, fmt.Errorf("%s is %q, not a fencing token; nothing was changed", where, v)
	}
	if db, ok := ids[keyFenceDB]; !ok || db != f.database {
		f.cond = []string{"external_ids=" + mapString(ids)}
		return f, &drivers.FenceReset{Target: f.target, Database: f.database, SeenDatabase: db, Token: mine, Seen: seen, DeviceState: where}, nil
	}
	if seen > mine {
		return nil, nil, &drivers.FencedError{Target: f.target, Mine: mine, Seen: seen, DeviceState: where}
	}
	f.seen = seen
	f.cond = []string{"external_ids:" + keyFence + "=" + ovsString(v), "external_ids:" + keyFenceDB + "=" + ovsString(f.database)}
	return f, nil, nil
}

// mapString writes m as ovs-vsctl reads a map, keys sorted.
func mapString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = ovsString(k) + "=" + ovsString(m[k])
	}
	return "{" + strings.Join(keys, ", ") + "}"
}

// ops are the operations that lead the push's transaction.
func (f *fence) ops(scope []string) []string {
	if f == nil {
		return nil
	}
	return []string{
		words(append(append([]string{"--", "wait-until"}, scope...), f.cond...)...),
		words(append(append([]string{"--", "get"}, scope...), "external_ids")...),
		words(append(append([]string{"--", "set"}, scope...),
			"external_ids:"+keyFence+"="+strconv.FormatInt(f.mine, 10),
			"external_ids:"+keyFenceDB+"="+ovsString(f.database))...),
	}
}
