package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/recert"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
)

// TestRecertificationSection: a campaign open in the period is reported
// with its counts, undecided and expired flows, as it stood at the end of
// the period; once past due with undecided flows, CA-9 is partial; the
// section matches docs/report.schema.json.
func TestRecertificationSection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cfg := e.load(t, examplePolicy)
	e.apply(t, cfg)
	start := e.clk.now()
	c, err := recert.Start(ctx, e.st, inforce.New(cfg, nil, e.clk.now).Load(), recert.StartOptions{Due: start.AddDate(0, 0, 30), Actor: "alice", Now: start})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.set(start.Add(time.Hour))
	if _, err := recert.Decide(ctx, e.st, c.ID, "pumps_to_pump_servers", store.RecertRecertify, "pharmacy-lead", "drug library updates"); err != nil {
		t.Fatal(err)
	}
	e.clk.set(start.Add(2 * time.Hour))
	if _, err := recert.Decide(ctx, e.st, c.ID, "guest_to_internet", store.RecertExpire, "net-lead", "guest Wi-Fi moves to its own provider"); err != nil {
		t.Fatal(err)
	}

	r := e.build(t, e.inputs(t, cfg))
	if len(r.Recertification) != 1 {
		t.Fatalf("recertification %+v", r.Recertification)
	}
	got := r.Recertification[0]
	flows := got.Counts.Flows
	if got.Status != recert.StatusOpen || got.Counts.Recertified != 1 || got.Counts.Expired != 1 || got.Counts.Pending != flows-2 || len(got.Undecided) != flows-2 {
		t.Errorf("campaign %+v", got)
	}
	if len(got.Expired) != 1 || got.Expired[0].Flow != "guest_to_internet" || got.Expired[0].DecidedBy != "net-lead" || got.Expired[0].Owner == "" {
		t.Errorf("expired %+v", got.Expired)
	}
	if len(got.Recertified) != 1 || got.Recertified[0].Flow != "pumps_to_pump_servers" || got.Recertified[0].DecidedBy != "pharmacy-lead" ||
		got.Recertified[0].DecidedAt == nil || !got.Recertified[0].DecidedAt.Equal(start.Add(time.Hour)) || got.Recertified[0].Comment != "drug library updates" {
		t.Errorf("recertified %+v", got.Recertified)
	}
	if s := controlStatus(r, "nist-800-53-ca-9"); s == "" {
		t.Fatal("CA-9 missing")
	}
	validateSchema(t, r)

	// As of between the two decisions, only the first counts.
	in := e.inputs(t, cfg)
	in.AsOf = start.Add(90 * time.Minute)
	past := e.build(t, in)
	if len(past.Recertification) != 1 || past.Recertification[0].Counts.Recertified != 1 || past.Recertification[0].Counts.Expired != 0 {
		t.Errorf("as of between the decisions: %+v", past.Recertification)
	}

	// Past the due date the undecided flows are not recertified, and CA-9
	// says so.
	e.clk.set(start.AddDate(0, 0, 31))
	late := e.build(t, e.inputs(t, cfg))
	lc := late.Recertification[0]
	if lc.Status != recert.StatusOverdue || lc.Counts.NotRecertified != flows-2 || lc.Undecided[0].State != recert.StateNotRecertified {
		t.Errorf("past due: %+v", lc.Counts)
	}
	for _, ctl := range late.Controls {
		if ctl.ID == "nist-800-53-ca-9" {
			if ctl.Status != report.StatusPartial || !strings.Contains(strings.Join(ctl.Reasons, "; "), "not recertified") {
				t.Errorf("CA-9 past due: %s %v", ctl.Status, ctl.Reasons)
			}
		}
	}
	validateSchema(t, late)
	var html bytes.Buffer
	if err := report.WriteHTML(&html, late); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "Recertification") || !strings.Contains(html.String(), "guest_to_internet") {
		t.Error("the HTML report has no recertification section")
	}
}

func controlStatus(r *report.Report, id string) string {
	for _, c := range r.Controls {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

func validateSchema(t *testing.T, r *report.Report) {
	t.Helper()
	b, err := os.ReadFile("../../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema openapi3.Schema
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if err := schema.VisitJSON(doc, openapi3.EnableJSONSchema2020()); err != nil {
		t.Fatalf("the report does not match docs/report.schema.json: %v", err)
	}
}
