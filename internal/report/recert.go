package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/recert"
	"github.com/wardnet/ward/internal/store"
)

// RecertCampaign is one recertification campaign open at some time in the
// period, as it stood at the period's end (internal/recert): decisions
// made after the end count as pending.
type RecertCampaign struct {
	ID         uint64        `json:"id"`
	Name       string        `json:"name"`
	Status     string        `json:"status"` // open, overdue (open past its due date) or closed
	CreatedBy  string        `json:"created_by"`
	CreatedAt  time.Time     `json:"created_at"`
	DueAt      time.Time     `json:"due_at"`
	ClosedAt   *time.Time    `json:"closed_at"`
	PolicyHash string        `json:"policy_hash"`
	Counts     recert.Counts `json:"counts"`
	// Undecided lists the items without a decision: pending, or not
	// recertified once the campaign is past due or closed.
	Undecided []RecertItem `json:"undecided"`
	// Expired lists the flows their owners let expire.
	Expired []RecertItem `json:"expired"`
	// Recertified lists the flows their owners re-approved, with who and
	// when: the evidence of each review.
	Recertified []RecertItem `json:"recertified"`
}

// RecertItem is one flow of a campaign in the report.
type RecertItem struct {
	Flow      string     `json:"flow"`
	Owner     string     `json:"owner"`
	State     string     `json:"state"`
	DecidedBy string     `json:"decided_by"`
	DecidedAt *time.Time `json:"decided_at"`
	Comment   string     `json:"comment"`
}

// recertification reads the campaigns of the period [since, until].
func recertification(ctx context.Context, st *store.Store, since *time.Time, until time.Time) ([]RecertCampaign, error) {
	var from time.Time
	if since != nil {
		from = *since
	}
	res, err := recert.Results(ctx, st, from, until)
	if err != nil {
		return nil, fmt.Errorf("reading recertification campaigns: %w", err)
	}
	out := []RecertCampaign{}
	for _, d := range res {
		c := RecertCampaign{ID: d.ID, Name: d.Name, Status: d.Status, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, DueAt: d.DueAt,
			PolicyHash: d.PolicyHash, Counts: d.Counts, Undecided: []RecertItem{}, Expired: []RecertItem{}, Recertified: []RecertItem{}}
		if d.Status == recert.StatusClosed {
			c.ClosedAt = d.ClosedAt
		}
		for _, it := range d.Items {
			ri := RecertItem{Flow: it.Flow, Owner: it.Owner, State: it.State, Comment: it.Comment}
			if it.State == recert.StateRecertified || it.State == recert.StateExpired {
				ri.DecidedBy, ri.DecidedAt = it.DecidedBy, it.DecidedAt
			}
			switch it.State {
			case recert.StatePending, recert.StateNotRecertified:
				c.Undecided = append(c.Undecided, ri)
			case recert.StateExpired:
				c.Expired = append(c.Expired, ri)
			case recert.StateRecertified:
				c.Recertified = append(c.Recertified, ri)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// recertCheck is the recertification_complete check: every campaign of the
// period ended with every flow decided.
func recertCheck(r *Report) string {
	var not []string
	for _, c := range r.Recertification {
		if n := c.Counts.NotRecertified; n > 0 {
			not = append(not, fmt.Sprintf("campaign %d %q: %d flow(s) not recertified by %s", c.ID, c.Name, n, c.DueAt.Format(time.DateOnly)))
		}
	}
	if len(not) > 0 {
		return strings.Join(not, "; ")
	}
	return ""
}
