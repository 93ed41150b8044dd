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
// A push with a token in its context lists the table (nft -a, for its
// handle). When set db holds the push's database, a token there greater
// than the push's is refused (drivers.FencedError); when it holds another
// database, or is missing (a host fenced before database ids existed), the
// push resets the fence and says so (drivers.ReportFenceReset) once it
// committed, or may have: a refused push changed nothing and reports
// nothing. A set holding several elements (written by hand) counts as its
// greatest token, and as the push's database if its mark is among them.
// Either way, unless a set is empty (below), the push starts its nft
// transaction with a compare-and-set on both sets: `delete element` of
// each value it read, `add element` of its own, and `create set` of a set
// it found missing. nft applies a file, or the commands of one command
// line, as one kernel transaction ("nft -f": "the whole ruleset is
// committed atomically or nothing", nft(8), and the batch is aborted if
// any command in it fails), so when another holder moved either element
// between the read and the push, a delete (or a create) fails and nothing
// of the push takes effect. The first push creates the table with `create
// table`, which fails if a concurrent first push made it already.
//
// A set found empty (flushed by hand) has no element to delete, so there
// the compare is on the table itself: the push leads with `delete table
// inet handle N` of the table it read and makes it afresh (`create table`,
// both `create set`). Any other push that found it so replaced it the
// same way, and the kernel never hands out a table handle twice in a
// network namespace, so a stale push's delete fails. Set handles would not
// do: they count from 1 in each table, so a table deleted and made again
// by another push has sets with the handles the stale push read. The table
// holds only the two sets and no rule; anything else found there (put by
// hand) makes the push refuse rather than delete it.
//
// A mark is 32 bits: tokens beyond that are refused rather than wrapped,
// and two databases have a chance of one in 2^32 to share a mark — they
// would then be taken for one, and the newer one's lower tokens refused
// until the operator clears the fence (docs/drivers.md, Fencing).

const (
	fenceFamily  = "inet"
	fenceTable   = fenceFamily + " ward_fence"
	fenceSet     = "epoch"
	fenceDBSet   = "db"
	fenceWhere   = "nft table inet ward_fence, sets epoch and db"
	fenceSetDecl = " { type mark; }"
)

var (
	// fenceElem is an element of a fence set as nft lists it.
	fenceElem = regexp.MustCompile(`\b(0x[0-9a-f]+|[0-9]+)\b`)
	// fenceHandle is the handle nft -a lists on the table's first line.
	fenceHandle = regexp.MustCompile(`(?m)^table ` + fenceTable + ` \{ # handle ([0-9]+)\b`)
	// fenceObject is what the table holds (a set, a chain, ...), by name.
	fenceObject = regexp.MustCompile(`(?m)^\t(\S.*?) \{`)
)

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
	fresh        bool  // no table yet: the push creates it
	handle       int64 // the table's handle as read (nft -a)
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
		if seen := f.seen(); seen > 0 || len(f.db.elems) > 0 {
			was := "none"
			if len(f.db.elems) > 0 {
				marks := make([]string, len(f.db.elems))
				for i, m := range f.db.elems {
					marks[i] = fmt.Sprintf("0x%08x", m)
				}
				was = "mark " + strings.Join(marks, ", ")
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
	out, found, err := d.listFence(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("reading the fencing token the host has seen (%s): %w; nothing was changed", fenceWhere, err)
	}
	if !found {
		f.fresh = true
		return f, nil
	}
	if err := f.parse(out); err != nil {
		return nil, err
	}
	// Several marks (written by hand) may include a stale holder's own:
	// refuse rather than let it pass as another database's reset.
	if seen := f.seen(); slices.Contains(f.db.elems, f.mineDB) && seen > mine {
		return nil, &drivers.FencedError{Target: f.target, Mine: mine, Seen: seen, DeviceState: fenceWhere}
	}
	return f, nil
}

// listFence lists the fence table with handles (nft -a, which must come
// before the command, so not d.list); found is false when there is none.
func (d *driver) listFence(ctx context.Context, s drivers.Session) (out string, found bool, err error) {
	if d.bad != nil {
		return "", false, d.bad
	}
	out, err = s.Run(ctx, d.nft+" -a list table "+fenceTable)
	var exit *drivers.ExitError
	if errors.As(err, &exit) && strings.Contains(exit.Output, absentMessage) {
		return "", false, nil
	}
	return out, err == nil, err
}

// parse reads both sets and the table's handle from nft -a's listing.
func (f *fence) parse(out string) (err error) {
	if f.epoch, err = parseFenceSet(out, fenceSet); err != nil {
		return err
	}
	if f.db, err = parseFenceSet(out, fenceDBSet); err != nil {
		return err
	}
	if m := fenceHandle.FindStringSubmatch(out); m != nil {
		f.handle, err = strconv.ParseInt(m[1], 10, 64)
	}
	if !f.replace() {
		return nil
	}
	if err != nil || f.handle == 0 {
		return fmt.Errorf("nft -a list table %s shows no table handle (%v), which the push needs as its compare-and-set on an empty fence set; nothing was changed", fenceTable, err)
	}
	for _, m := range fenceObject.FindAllStringSubmatch(out, -1) {
		if m[1] != "set "+fenceSet && m[1] != "set "+fenceDBSet {
			return fmt.Errorf("table %s holds %s besides the fence sets; with a fence set empty, the push would replace the table and delete it: remove it, or clear the fence with nft delete table %s (docs/drivers.md, Fencing); nothing was changed", fenceTable, m[1], fenceTable)
		}
	}
	return nil
}

// seen is the greatest token the host keeps, 0 for none.
func (f *fence) seen() int64 {
	return slices.Max(append([]int64{0}, f.epoch.elems...))
}

// sameDatabase: the host's fence was set by the push's database.
func (f *fence) sameDatabase() bool {
	return len(f.db.elems) == 1 && f.db.elems[0] == f.mineDB
}

// replace: a fence set is there but empty, so the push replaces the table
// by its handle (see the top of this file).
func (f *fence) replace() bool {
	empty := func(st fenceSetState) bool { return st.present && len(st.elems) == 0 }
	return !f.fresh && (empty(f.epoch) || empty(f.db))
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
	if f.replace() {
		// The table goes with its elements: nothing is left to delete.
		out = append(out, "delete table "+fenceFamily+" handle "+strconv.FormatInt(f.handle, 10))
	}
	if f.fresh || f.replace() {
		out = append(out, "create table "+fenceTable,
			"create set "+fenceTable+" "+fenceDBSet+fenceSetDecl,
			"create set "+fenceTable+" "+fenceSet+fenceSetDecl)
		return append(out, f.adds()...)
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
	return append(out, f.adds()...)
}

// adds are the commands that put the push's database and token.
func (f *fence) adds() []string {
	return []string{
		"add element " + fenceTable + " " + fenceDBSet + " { " + strconv.FormatInt(f.mineDB, 10) + " }",
		"add element " + fenceTable + " " + fenceSet + " { " + strconv.FormatInt(f.mine, 10) + " }",
	}
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
