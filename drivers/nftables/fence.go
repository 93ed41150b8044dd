package nftables

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
)

// Fencing (drivers/fence.go). The highest fencing token the host has seen
// is the one element of set epoch in table inet ward_fence, and the
// database that handed it out the one element of set db there: a 32-bit
// mark, the first four bytes (big-endian) of the SHA-256 of the database
// id. The table is one of its own so that Apply, which only ever writes
// table inet ward (a rendered configuration's `delete table inet ward`
// included), never touches it.
//
// A push with a token in its context lists the table. When set db holds
// the push's database, a token there greater than the push's is refused
// (drivers.FencedError); when it holds another database, or is missing
// (a host fenced before database ids existed), the push resets the fence
// and says so (drivers.ReportFenceReset) once it committed, or may have: a
// refused push changed nothing and reports nothing. Either way the push starts its
// nft transaction with a compare-and-set on both sets: `delete element` of
// each value it read, `add element` of its own, and `create set` of a set
// it found missing. nft applies a file, or the commands of one command
// line, as one kernel transaction ("nft -f": "the whole ruleset is
// committed atomically or nothing", nft(8), and the batch is aborted if
// any command in it fails), so when another holder moved either element
// between the read and the push, a delete (or a create) fails and nothing
// of the push takes effect. The first push creates the table with `create
// table`, which fails if a concurrent first push made it already.
//
// A mark is 32 bits: tokens beyond that are refused rather than wrapped,
// and two databases have a chance of one in 2^32 to share a mark — they
// would then be taken for one, and the newer one's lower tokens refused
// until the operator clears the fence (docs/drivers.md, Fencing).

const (
	fenceTable   = "inet ward_fence"
	fenceSet     = "epoch"
	fenceDBSet   = "db"
	fenceWhere   = "nft table inet ward_fence, sets epoch and db"
	fenceSetDecl = " { type mark; }"
)

// fenceElem is an element of a fence set as nft lists it.
var fenceElem = regexp.MustCompile(`\b(0x[0-9a-f]+|[0-9]+)\b`)

// databaseMark is the 32-bit mark set db keeps for a database id.
func databaseMark(id string) int64 {
	sum := sha256.Sum256([]byte(id))
	return int64(binary.BigEndian.Uint32(sum[:4]))
}

// fenceSetState is one of the fence sets as read.
type fenceSetState struct {
	present bool
	elems   []int64
}

// fence is a push's compare-and-set on the fence sets.
type fence struct {
	target       string
	mine, mineDB int64
	fresh        bool // no table yet: the push creates it
	epoch, db    fenceSetState
	// reset is the fence of another database this push replaces,
	// reported once the push committed (committed).
	reset *drivers.FenceReset
}

// readFence returns the fence for a push under ctx's token, nil without
// one; a *drivers.FencedError when the host has seen a greater token from
// the same database. A push that will reset the host's fence (another
// database's token there) keeps the reset for committed to report.
func (d *driver) readFence(ctx context.Context, s drivers.Session) (*fence, error) {
	f, err := d.fenceState(ctx, s)
	if f == nil || err != nil {
		return nil, err
	}
	if !f.sameDatabase() {
		if seen := slices.Max(append([]int64{0}, f.epoch.elems...)); seen > 0 || len(f.db.elems) > 0 {
			was := "none"
			if len(f.db.elems) > 0 {
				was = fmt.Sprintf("mark 0x%08x", f.db.elems[0])
			}
			f.reset = &drivers.FenceReset{
				Target: f.target, Database: drivers.FenceDatabase(ctx), SeenDatabase: was,
				Token: f.mine, Seen: seen, DeviceState: fenceWhere,
			}
		}
	}
	return f, nil
}

// fenceState reads the host's fence for ctx's token, nil without one.
func (d *driver) fenceState(ctx context.Context, s drivers.Session) (*fence, error) {
	mine, ok := drivers.FenceOf(ctx)
	if !ok {
		return nil, nil
	}
	if mine > math.MaxUint32 {
		return nil, fmt.Errorf("fencing token %d does not fit the 32-bit mark nft keeps it in; nothing was changed", mine)
	}
	f := &fence{target: drivers.FenceTarget(ctx), mine: mine, mineDB: databaseMark(drivers.FenceDatabase(ctx))}
	out, found, err := d.list(ctx, s, "table "+fenceTable)
	if err != nil {
		return nil, fmt.Errorf("reading the fencing token the host has seen (%s): %w; nothing was changed", fenceWhere, err)
	}
	if !found {
		f.fresh = true
		return f, nil
	}
	if f.epoch, err = parseFenceSet(out, fenceSet); err != nil {
		return nil, err
	}
	if f.db, err = parseFenceSet(out, fenceDBSet); err != nil {
		return nil, err
	}
	if seen := slices.Max(append([]int64{0}, f.epoch.elems...)); f.sameDatabase() && seen > mine {
		return nil, &drivers.FencedError{Target: f.target, Mine: mine, Seen: seen, DeviceState: fenceWhere}
	}
	return f, nil
}

// sameDatabase: the host's fence was set by the push's database.
func (f *fence) sameDatabase() bool {
	return len(f.db.elems) == 1 && f.db.elems[0] == f.mineDB
}

// parseFenceSet finds set name in a listing of the fence table.
func parseFenceSet(table, name string) (fenceSetState, error) {
	_, body, found := strings.Cut(table, "set "+name+" {")
	if !found {
		return fenceSetState{}, nil
	}
	st := fenceSetState{present: true}
	if i := strings.Index(body, "\tset "); i >= 0 {
		body = body[:i]
	}
	_, elems, ok := strings.Cut(body, "elements = {")
	if !ok {
		return st, nil
	}
	elems, _, _ = strings.Cut(elems, "}")
	for _, m := range fenceElem.FindAllString(elems, -1) {
		v, err := strconv.ParseInt(m, 0, 64)
		if err != nil {
			return st, fmt.Errorf("nft set %s %s holds %q, not a mark: %w; nothing was changed", fenceTable, name, m, err)
		}
		st.elems = append(st.elems, v)
	}
	return st, nil
}

// commands are the nft commands that start the push's transaction.
func (f *fence) commands() []string {
	if f == nil {
		return nil
	}
	var out []string
	if f.fresh {
		out = append(out, "create table "+fenceTable)
	}
	for _, set := range []struct {
		name string
		st   fenceSetState
	}{{fenceDBSet, f.db}, {fenceSet, f.epoch}} {
		if !set.st.present {
			out = append(out, "create set "+fenceTable+" "+set.name+fenceSetDecl)
		}
		for _, v := range set.st.elems {
			out = append(out, "delete element "+fenceTable+" "+set.name+" { "+strconv.FormatInt(v, 10)+" }")
		}
	}
	return append(out,
		"add element "+fenceTable+" "+fenceDBSet+" { "+strconv.FormatInt(f.mineDB, 10)+" }",
		"add element "+fenceTable+" "+fenceSet+" { "+strconv.FormatInt(f.mine, 10)+" }")
}

// pushed records that a transaction led by commands committed: the host
// has now seen exactly f.mine from f.mineDB.
func (f *fence) pushed(ctx context.Context) {
	if f != nil {
		f.committed(ctx)
		f.fresh = false
		f.epoch = fenceSetState{present: true, elems: []int64{f.mine}}
		f.db = fenceSetState{present: true, elems: []int64{f.mineDB}}
	}
}

// committed reports the reset of another database's fence, if the push
// makes one, after a transaction led by commands committed or may have
// (the session failed while nft ran): only then did the host's fence
// change. It reports it once.
func (f *fence) committed(ctx context.Context) {
	if f != nil && f.reset != nil {
		drivers.ReportFenceReset(ctx, *f.reset)
		f.reset = nil
	}
}

// refused explains a failed fenced push: when the host's token moved past
// ours meanwhile (same database), a *drivers.FencedError; otherwise err.
func (d *driver) refused(ctx context.Context, s drivers.Session, f *fence, err error) error {
	if f == nil {
		return err
	}
	_, rerr := d.fenceState(ctx, s)
	if errors.Is(rerr, drivers.ErrFenced) {
		return rerr
	}
	return err
}
