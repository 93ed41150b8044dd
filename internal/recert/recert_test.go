package recert_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/recert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

const testPolicy = `
zone "a" {
  criticality = "low"
}
zone "b" {
  criticality = "low"
}
service "https" { tcp = [443] }
flow "owned" {
  from = zone.a
  to = zone.b
  services = [service.https]
  owner = "Radiology IT"
}
flow "unowned" {
  from = zone.b
  to = zone.a
  services = [service.https]
}
flow "old" {
  from = zone.a
  to = zone.a
  services = [service.https]
  owner = "Nobody"
  expires = "2026-01-31"
}
`

type env struct {
	st  *store.Store
	pol *inforce.Policy
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "ward.db"), store.WithClock(func() time.Time { return e.now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg, diags := policy.NewParser(policy.WithClock(func() time.Time { return e.now })).Load(policy.Source{Filename: "p.hcl", Bytes: []byte(testPolicy)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	e.st, e.pol = st, inforce.New(cfg, nil, nil).Load()
	return e
}

func TestCampaign(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := recert.Start(ctx, e.st, e.pol, recert.StartOptions{Due: e.now, Actor: "alice", Now: e.now}); err == nil {
		t.Error("a campaign due now was started")
	}
	due := e.now.AddDate(0, 0, 30)
	c, err := recert.Start(ctx, e.st, e.pol, recert.StartOptions{Due: due, Actor: "alice", Now: e.now})
	if err != nil {
		t.Fatal(err)
	}
	if c.PolicyHash != e.pol.Hash || c.Name != "Recertification of 2026-12-01" {
		t.Errorf("campaign %+v", c)
	}
	d, err := recert.Show(ctx, e.st, c.ID, e.now)
	if err != nil {
		t.Fatal(err)
	}
	// The expired flow is not in force, so not in the campaign.
	if len(d.Items) != 2 || d.Items[0].Flow != "owned" || d.Items[0].Owner != "Radiology IT" || d.Items[1].Flow != "unowned" || d.Items[1].Owner != "" {
		t.Fatalf("items %+v", d.Items)
	}
	if d.Status != recert.StatusOpen || d.Counts != (recert.Counts{Flows: 2, Pending: 2}) {
		t.Errorf("new campaign %s %+v", d.Status, d.Counts)
	}

	decided := e.now.Add(time.Hour)
	e.now = decided
	if _, err := recert.Decide(ctx, e.st, c.ID, "owned", store.RecertRecertify, "bob", " still needed "); err != nil {
		t.Fatal(err)
	}
	if _, err := recert.Decide(ctx, e.st, c.ID, "owned", store.RecertExpire, "carol", ""); !errors.Is(err, store.ErrRecertDecided) {
		t.Errorf("second decision: %v", err)
	}
	// Read before the decision, the item was pending; after, recertified.
	before, _ := recert.Show(ctx, e.st, c.ID, decided.Add(-time.Minute))
	if before.Counts.Pending != 2 {
		t.Errorf("before the decision: %+v", before.Counts)
	}
	after, _ := recert.Show(ctx, e.st, c.ID, decided)
	if after.Counts != (recert.Counts{Flows: 2, Recertified: 1, Pending: 1}) || after.Items[0].Comment != "still needed" || after.Items[0].DecidedBy != "bob" {
		t.Errorf("after the decision: %+v %+v", after.Counts, after.Items[0])
	}
	// Past the due date the undecided flow is not recertified.
	late, _ := recert.Show(ctx, e.st, c.ID, due.Add(time.Second))
	if late.Status != recert.StatusOverdue || late.Counts.NotRecertified != 1 || late.Items[1].State != recert.StateNotRecertified {
		t.Errorf("past due: %s %+v", late.Status, late.Counts)
	}

	e.now = e.now.Add(24 * time.Hour)
	closed, err := recert.Close(ctx, e.st, c.ID, "alice", e.now)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != recert.StatusClosed || closed.Counts != (recert.Counts{Flows: 2, Recertified: 1, NotRecertified: 1}) {
		t.Errorf("closed: %s %+v", closed.Status, closed.Counts)
	}
	if _, err := recert.Decide(ctx, e.st, c.ID, "unowned", store.RecertExpire, "bob", ""); !errors.Is(err, store.ErrRecertClosed) {
		t.Errorf("decision after close: %v", err)
	}

	// The report's view: the campaign was open in a period before it
	// closed, and as of then had one decision.
	res, err := recert.Results(ctx, e.st, time.Time{}, decided)
	if err != nil || len(res) != 1 || res[0].Status != recert.StatusOpen || res[0].Counts.Recertified != 1 {
		t.Errorf("results as of the decision: %+v, %v", res, err)
	}
	if res, _ := recert.Results(ctx, e.st, e.now.Add(time.Hour), e.now.Add(2*time.Hour)); len(res) != 0 {
		t.Errorf("results after it closed: %+v", res)
	}
	list, err := recert.List(ctx, e.st, e.now)
	if err != nil || len(list) != 1 || list[0].Status != recert.StatusClosed {
		t.Errorf("list %+v, %v", list, err)
	}
}

func TestParseDue(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "30d", want: now.AddDate(0, 0, 30)},
		{in: " 72h ", want: now.Add(72 * time.Hour)},
		{in: "2027-01-15", want: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)},
		{in: "2027-01-15T10:00:00+01:00", want: time.Date(2027, 1, 15, 9, 0, 0, 0, time.UTC)},
		{in: "0d", bad: true},
		{in: "-5h", bad: true},
		{in: "", bad: true},
		{in: "next week", bad: true},
		{in: "2027-13-01", bad: true},
	} {
		got, err := recert.ParseDue(tc.in, now)
		var refusal *recert.RefusedError
		switch {
		case tc.bad && !errors.As(err, &refusal):
			t.Errorf("ParseDue(%q) = %v, %v; want a refusal", tc.in, got, err)
		case !tc.bad && (err != nil || !got.Equal(tc.want)):
			t.Errorf("ParseDue(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestStartRefusals: what the asker must fix is a RefusedError, so the UI
// and the API can answer it as such; nothing is stored.
func TestStartRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	due := e.now.AddDate(0, 0, 7)
	for _, tc := range []struct {
		name string
		pol  *inforce.Policy
		opts recert.StartOptions
	}{
		{"no policy", nil, recert.StartOptions{Due: due, Actor: "alice", Now: e.now}},
		{"due now", e.pol, recert.StartOptions{Due: e.now, Actor: "alice", Now: e.now}},
		{"no actor", e.pol, recert.StartOptions{Due: due, Actor: " ", Now: e.now}},
		{"long name", e.pol, recert.StartOptions{Name: strings.Repeat("x", recert.MaxNameLen+1), Due: due, Actor: "alice", Now: e.now}},
	} {
		_, err := recert.Start(ctx, e.st, tc.pol, tc.opts)
		var refusal *recert.RefusedError
		if !errors.As(err, &refusal) {
			t.Errorf("%s: %v, want a RefusedError", tc.name, err)
		}
	}
	if list, err := recert.List(ctx, e.st, e.now); err != nil || len(list) != 0 {
		t.Errorf("refused starts stored campaigns: %+v, %v", list, err)
	}
}

func TestOwners(t *testing.T) {
	d := &recert.Detail{Items: []recert.Item{
		{RecertItem: store.RecertItem{Flow: "a", Owner: "Radiology IT"}},
		{RecertItem: store.RecertItem{Flow: "b"}},
		{RecertItem: store.RecertItem{Flow: "c", Owner: "Pharmacy"}},
		{RecertItem: store.RecertItem{Flow: "d", Owner: "Radiology IT"}},
	}}
	if got := d.Owners(); !slices.Equal(got, []string{"Pharmacy", "Radiology IT"}) {
		t.Errorf("owners %v", got)
	}
	for _, tc := range []struct {
		owner string
		flows []string
	}{
		{"Radiology IT", []string{"a", "d"}},
		{"Pharmacy", []string{"c"}},
		{"Radiology", nil},
	} {
		var got []string
		for _, it := range d.Owned(tc.owner) {
			got = append(got, it.Flow)
		}
		if !slices.Equal(got, tc.flows) {
			t.Errorf("Owned(%q) = %v, want %v", tc.owner, got, tc.flows)
		}
	}
}
