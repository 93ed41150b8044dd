package nftables

import (
	"context"
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
// is the one element of set epoch in table inet ward_fence, a table of its
// own so that Apply, which only ever writes table inet ward (a rendered
// configuration's `delete table inet ward` included), never touches it.
// A push with a token in its context reads the element, refuses when it is
// greater than the push's token, and otherwise starts its nft transaction
// with a compare-and-set: `delete element` of the value it read, `add
// element` of its own. nft applies a file, or the commands of one command
// line, as one kernel transaction ("nft -f": "the whole ruleset is
// committed atomically or nothing", nft(8), and the batch is aborted if
// any command in it fails), so when another holder moved the element
// between the read and the push, the delete fails and nothing of the push
// takes effect. The first push creates the table with `create table`,
// which fails if a concurrent first push made it already. A mark is 32
// bits: tokens beyond that are refused rather than wrapped.

const (
	fenceTable = "inet ward_fence"
	fenceSet   = "epoch"
	fenceWhere = "nft set inet ward_fence epoch"
)

// fenceElem is an element of the epoch set as nft lists it.
var fenceElem = regexp.MustCompile(`\b(0x[0-9a-f]+|[0-9]+)\b`)

// fence is a push's compare-and-set on the epoch set.
type fence struct {
	target string
	mine   int64
	seen   []int64 // the elements read; empty with fresh or an empty set
	fresh  bool    // no table yet: the push creates it
}

// readFence returns the fence for a push under ctx's token, nil without
// one; a *drivers.FencedError when the host has seen a greater token.
func (d *driver) readFence(ctx context.Context, s drivers.Session) (*fence, error) {
	mine, ok := drivers.FenceOf(ctx)
	if !ok {
		return nil, nil
	}
	if mine > math.MaxUint32 {
		return nil, fmt.Errorf("fencing token %d does not fit the 32-bit mark nft keeps it in; nothing was changed", mine)
	}
	f := &fence{target: drivers.FenceTarget(ctx), mine: mine}
	out, found, err := d.list(ctx, s, "set "+fenceTable+" "+fenceSet)
	if err != nil {
		return nil, fmt.Errorf("reading the fencing token the host has seen (%s): %w; nothing was changed", fenceWhere, err)
	}
	if !found {
		f.fresh = true
		return f, nil
	}
	_, elems, _ := strings.Cut(out, "elements = {")
	elems, _, _ = strings.Cut(elems, "}")
	for _, m := range fenceElem.FindAllString(elems, -1) {
		v, err := strconv.ParseInt(m, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("%s holds %q, not a token: %w", fenceWhere, m, err)
		}
		f.seen = append(f.seen, v)
	}
	if seen := slices.Max(append([]int64{0}, f.seen...)); seen > mine {
		return nil, &drivers.FencedError{Target: f.target, Mine: mine, Seen: seen, DeviceState: fenceWhere}
	}
	return f, nil
}

// commands are the nft commands that start the push's transaction.
func (f *fence) commands() []string {
	if f == nil {
		return nil
	}
	mine := strconv.FormatInt(f.mine, 10)
	if f.fresh {
		return []string{
			"create table " + fenceTable,
			"add set " + fenceTable + " " + fenceSet + " { type mark; }",
			"add element " + fenceTable + " " + fenceSet + " { " + mine + " }",
		}
	}
	var out []string
	for _, v := range f.seen {
		out = append(out, "delete element "+fenceTable+" "+fenceSet+" { "+strconv.FormatInt(v, 10)+" }")
	}
	return append(out, "add element "+fenceTable+" "+fenceSet+" { "+mine+" }")
}

// pushed records that a transaction led by commands committed: the host
// has now seen exactly f.mine.
func (f *fence) pushed() {
	if f != nil {
		f.fresh, f.seen = false, []int64{f.mine}
	}
}

// refused explains a failed fenced push: when the host's token moved past
// ours meanwhile, a *drivers.FencedError; otherwise err.
func (d *driver) refused(ctx context.Context, s drivers.Session, f *fence, err error) error {
	if f == nil {
		return err
	}
	_, rerr := d.readFence(ctx, s)
	if errors.Is(rerr, drivers.ErrFenced) {
		return rerr
	}
	return err
}
