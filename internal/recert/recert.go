// Package recert runs recertification campaigns: a campaign asks the owner
// of each flow in force (the flow's owner attribute) to re-approve it, or
// to let it expire, by a due date. Decisions are recorded once, with who,
// when and why, in the store (internal/store/recert.go, migration 00007),
// and audited; the compliance report reads the results (Results).
//
// Start reading at Start. `ward recert` (cmd/ward/recert.go), the web UI
// (/ui/recert) and the report all go through this package; none of them
// counts decisions on its own. A decision to expire records the owner's
// answer: removing the flow (or setting its expires date) is a policy
// change made in git and applied like any other.
package recert

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// RefusedError is a campaign Start refused for what it was asked (no
// policy, a due date not after now, no flow in force, no actor), as
// opposed to a failure of the store: front ends answer it as the asker's
// to fix.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// ParseDue reads a due date as every front end takes it: a positive
// duration from now (30d, 72h), a date (YYYY-MM-DD, midnight UTC: the
// campaign is due at the start of that day) or an RFC 3339 time.
func ParseDue(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := policy.ParseTTL(s); err == nil {
		if d <= 0 {
			return time.Time{}, refused("due %q is not a positive duration", s)
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, refused("due %q is neither a duration (30d, 72h) nor a date (YYYY-MM-DD)", s)
}

// Item states, as read at a time: the decision when it was made by then,
// else pending, or not_recertified once the due date has passed.
const (
	StatePending        = store.RecertPending
	StateRecertified    = "recertified"
	StateExpired        = "expired"
	StateNotRecertified = "not_recertified"
)

// Campaign statuses, as read at a time.
const (
	StatusOpen    = "open"
	StatusOverdue = "overdue" // open past its due date
	StatusClosed  = "closed"
)

// Counts tallies a campaign's items by state.
type Counts struct {
	Flows          int `json:"flows"`
	Recertified    int `json:"recertified"`
	Expired        int `json:"expired"`
	Pending        int `json:"pending"`
	NotRecertified int `json:"not_recertified"`
}

// Summary is one campaign as read at a time.
type Summary struct {
	store.RecertCampaign
	// Status is StatusOpen, StatusOverdue or StatusClosed at the time read.
	Status string
	Counts Counts
}

// Item is one flow of a campaign as read at a time.
type Item struct {
	store.RecertItem
	// State is one of the State constants at the time read.
	State string
}

// Detail is a campaign and its items.
type Detail struct {
	Summary
	Items []Item
}

// MaxNameLen bounds a campaign's name: it heads pages and the report.
const MaxNameLen = 200

// StartOptions says what campaign to start.
type StartOptions struct {
	Name  string    // "" names it after its start date
	Due   time.Time // the owners decide by then; after now
	Actor string
	Now   time.Time // the clock: flows expired by then are not in force
}

// Start starts a campaign over the flows of p in force at opts.Now (flows
// past their expires date are out of the plan already), one item per flow
// with its owner.
func Start(ctx context.Context, st *store.Store, p *inforce.Policy, opts StartOptions) (*store.RecertCampaign, error) {
	if p == nil || p.Config == nil {
		return nil, refused("no policy in force: start Ward with a policy, then start the campaign")
	}
	if !opts.Due.After(opts.Now) {
		return nil, refused("due date %s is not after now (%s): give the owners time to decide", opts.Due.UTC().Format(time.RFC3339), opts.Now.UTC().Format(time.RFC3339))
	}
	if strings.TrimSpace(opts.Actor) == "" {
		return nil, refused("a campaign needs an actor: who started it is recorded")
	}
	if len(opts.Name) > MaxNameLen {
		return nil, refused("a campaign name of %d characters is too long: keep it to %d", len(opts.Name), MaxNameLen)
	}
	var items []store.RecertItem
	for _, name := range slices.Sorted(maps.Keys(p.Config.Flows)) {
		f := p.Config.Flows[name]
		if f.ExpiredAt(opts.Now) {
			continue
		}
		items = append(items, store.RecertItem{Flow: name, Owner: f.Owner})
	}
	if len(items) == 0 {
		return nil, refused("the policy in force has no flows in force: there is nothing to recertify")
	}
	name := opts.Name
	if strings.TrimSpace(name) == "" {
		name = "Recertification of " + opts.Now.UTC().Format(time.DateOnly)
	}
	c := &store.RecertCampaign{Name: name, CreatedBy: opts.Actor, DueAt: opts.Due.UTC(), PolicyHash: p.Hash}
	if err := st.CreateRecertCampaign(ctx, c, items); err != nil {
		return nil, err
	}
	return c, nil
}

// List returns every campaign, newest first, read at now.
func List(ctx context.Context, st *store.Store, now time.Time) ([]Summary, error) {
	cs, err := st.RecertCampaigns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(cs))
	for _, c := range cs {
		d, err := Show(ctx, st, c.ID, now)
		if err != nil {
			return nil, err
		}
		out = append(out, d.Summary)
	}
	return out, nil
}

// Show returns campaign id and its items read at now.
func Show(ctx context.Context, st *store.Store, id uint64, now time.Time) (*Detail, error) {
	c, items, err := st.RecertCampaign(ctx, id)
	if err != nil {
		return nil, err
	}
	return read(*c, items, now), nil
}

// read is a campaign as it stood at t: decisions made after t are pending,
// a campaign closed after t is open.
func read(c store.RecertCampaign, items []store.RecertItem, t time.Time) *Detail {
	d := &Detail{Summary: Summary{RecertCampaign: c}}
	closed := c.Status == store.RecertClosed && c.ClosedAt != nil && !c.ClosedAt.After(t)
	// Pending items count as not recertified once the due date has passed,
	// and when the campaign was closed without them.
	lapsed := t.After(c.DueAt) || closed
	switch {
	case closed:
		d.Status = StatusClosed
	case t.After(c.DueAt):
		d.Status = StatusOverdue
	default:
		d.Status = StatusOpen
	}
	for _, it := range items {
		state := StatePending
		if it.DecidedAt != nil && !it.DecidedAt.After(t) {
			switch it.Decision {
			case store.RecertRecertify:
				state = StateRecertified
			case store.RecertExpire:
				state = StateExpired
			}
		}
		if state == StatePending && lapsed {
			state = StateNotRecertified
		}
		d.Counts.Flows++
		switch state {
		case StateRecertified:
			d.Counts.Recertified++
		case StateExpired:
			d.Counts.Expired++
		case StatePending:
			d.Counts.Pending++
		case StateNotRecertified:
			d.Counts.NotRecertified++
		}
		d.Items = append(d.Items, Item{RecertItem: it, State: state})
	}
	return d
}

// Owners returns the owners the campaign's items name, sorted, without
// "" (items without an owner).
func (d *Detail) Owners() []string {
	set := map[string]bool{}
	for _, it := range d.Items {
		if it.Owner != "" {
			set[it.Owner] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Owned returns the items whose flow owner is exactly owner: what one
// owner has to answer for in the campaign.
func (d *Detail) Owned(owner string) []Item {
	var out []Item
	for _, it := range d.Items {
		if it.Owner == owner {
			out = append(out, it)
		}
	}
	return out
}

// Decide records actor's decision (store.RecertRecertify or
// store.RecertExpire) on flow in campaign id. Only a pending item of an
// open campaign can be decided: a second decision wraps
// store.ErrRecertDecided, one on a closed campaign store.ErrRecertClosed.
func Decide(ctx context.Context, st *store.Store, id uint64, flow, decision, actor, comment string) (*store.RecertItem, error) {
	if strings.TrimSpace(actor) == "" {
		return nil, errors.New("a decision needs an actor: who decided is recorded")
	}
	return st.DecideRecertItem(ctx, id, flow, decision, actor, strings.TrimSpace(comment))
}

// Close closes campaign id; items still pending are reported (and audited,
// in the close event's tally) as not recertified.
func Close(ctx context.Context, st *store.Store, id uint64, actor string, now time.Time) (*Detail, error) {
	d, err := Show(ctx, st, id, now)
	if err != nil {
		return nil, err
	}
	var undecided []string
	for _, it := range d.Items {
		if it.Decision == store.RecertPending {
			undecided = append(undecided, it.Flow)
		}
	}
	closed, err := st.CloseRecertCampaign(ctx, id, actor, map[string]any{
		"recertified": d.Counts.Recertified, "expired": d.Counts.Expired, "not_recertified": undecided,
	})
	if err != nil {
		return nil, err
	}
	// Read as of the close itself, which the store stamped after now.
	at := now
	if closed != nil && closed.ClosedAt != nil && closed.ClosedAt.After(at) {
		at = *closed.ClosedAt
	}
	return Show(ctx, st, id, at)
}

// Results returns the campaigns open at some time in [since, until] (zero
// since: from the first), oldest first, each read as it stood at until.
func Results(ctx context.Context, st *store.Store, since, until time.Time) ([]Detail, error) {
	cs, err := st.RecertCampaignsBetween(ctx, since, until)
	if err != nil {
		return nil, err
	}
	out := make([]Detail, 0, len(cs))
	for _, c := range cs {
		_, items, err := st.RecertCampaign(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, *read(c, items, until))
	}
	return out, nil
}
