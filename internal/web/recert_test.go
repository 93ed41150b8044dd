package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// TestRecertPages: the campaigns page and a campaign's page render as
// tables; an operator decides a flow with a CSRF-protected form, once; a
// viewer is offered no form and its forged POST is refused.
func TestRecertPages(t *testing.T) {
	s := newUIServer(t)
	ctx := context.Background()
	now := s.clock.Now()
	c := &store.RecertCampaign{Name: "Q4 <review>", CreatedBy: "alice", DueAt: now.AddDate(0, 0, 30), PolicyHash: "abc123"}
	if err := s.st.CreateRecertCampaign(ctx, c, []store.RecertItem{{Flow: "pumps_to_pump_servers", Owner: "Pharmacy informatics"}, {Flow: "guest_to_internet"}}); err != nil {
		t.Fatal(err)
	}
	campaign := fmt.Sprintf("%s/ui/recert/%d", s.url, c.ID)

	viewer := s.signIn(t, store.RoleViewer)
	list := do(t, viewer, "GET", s.url+"/ui/recert", nil)
	if list.status != http.StatusOK || !strings.Contains(list.body, "<th scope=\"col\">Not recertified</th>") || !strings.Contains(list.body, "Q4 &lt;review&gt;") {
		t.Fatalf("campaigns page: %d\n%s", list.status, list.body)
	}
	page := do(t, viewer, "GET", campaign, nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Pharmacy informatics") || !strings.Contains(page.body, "(no owner)") {
		t.Fatalf("campaign page: %d\n%s", page.status, page.body)
	}
	if strings.Contains(page.body, "Recertify pumps_to_pump_servers") {
		t.Error("a viewer is offered the decision form")
	}
	form := url.Values{"csrf": {csrfOf(t, page.body)}, "flow": {"pumps_to_pump_servers"}, "decision": {"recertify"}}
	if a := do(t, viewer, "POST", campaign+"/decide", form); a.status != http.StatusForbidden {
		t.Errorf("viewer decision: %d", a.status)
	}

	op := s.signIn(t, store.RoleOperator)
	page = do(t, op, "GET", campaign, nil)
	if !strings.Contains(page.body, "Recertify pumps_to_pump_servers") || !strings.Contains(page.body, "Let guest_to_internet expire") {
		t.Fatalf("an operator is not offered the decision forms:\n%s", page.body)
	}
	if a := do(t, op, "POST", campaign+"/decide", url.Values{"flow": {"pumps_to_pump_servers"}, "decision": {"recertify"}}); a.status != http.StatusForbidden {
		t.Errorf("decision without CSRF: %d", a.status)
	}
	form = url.Values{"csrf": {csrfOf(t, page.body)}, "flow": {"pumps_to_pump_servers"}, "decision": {"recertify"}, "comment": {"drug library updates"}}
	a := do(t, op, "POST", campaign+"/decide", form)
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), fmt.Sprintf("/ui/recert/%d?done=recertify", c.ID)) {
		t.Fatalf("operator decision: %d %s %s", a.status, a.header.Get("Location"), a.body)
	}
	if a := do(t, op, "POST", campaign+"/decide", form); a.status != http.StatusConflict || !strings.Contains(a.body, "already decided") {
		t.Errorf("second decision: %d %s", a.status, a.body)
	}
	if a := do(t, op, "POST", campaign+"/decide", url.Values{"csrf": form["csrf"], "flow": {"nope"}, "decision": {"expire"}}); a.status != http.StatusNotFound {
		t.Errorf("decision on an unknown flow: %d", a.status)
	}
	page = do(t, op, "GET", campaign+"?done=recertify", nil)
	if !strings.Contains(page.body, "Recorded: recertified") || !strings.Contains(page.body, "token:operator-token") || !strings.Contains(page.body, "drug library updates") ||
		strings.Contains(page.body, "Recertify pumps_to_pump_servers") {
		t.Errorf("campaign page after the decision:\n%s", page.body)
	}
	if a := do(t, op, "GET", s.url+"/ui/recert/999", nil); a.status != http.StatusNotFound {
		t.Errorf("unknown campaign: %d", a.status)
	}
	_, items, err := s.st.RecertCampaign(ctx, c.ID)
	if err != nil || items[1].Flow != "pumps_to_pump_servers" || items[1].Decision != store.RecertRecertify || items[1].DecidedBy != "token:operator-token" {
		t.Errorf("stored items %+v, %v", items, err)
	}
}

// TestRecertStartAndClose: an administrator starts a campaign over the
// policy in force with the CSRF-protected form and closes it on its page,
// both audited under the administrator's token; an operator is offered
// neither form and its POSTs are refused; a refused start shows the form
// again with the reason and starts nothing.
func TestRecertStartAndClose(t *testing.T) {
	s := newUIServer(t)
	ctx := context.Background()
	op, admin := s.signIn(t, store.RoleOperator), s.signIn(t, store.RoleAdmin)
	opList, adminList := do(t, op, "GET", s.url+"/ui/recert", nil), do(t, admin, "GET", s.url+"/ui/recert", nil)
	if strings.Contains(opList.body, "Start campaign") || !strings.Contains(adminList.body, "Start campaign") {
		t.Fatalf("start form offered to the operator %v, to the admin %v", strings.Contains(opList.body, "Start campaign"), strings.Contains(adminList.body, "Start campaign"))
	}
	opCSRF, adminCSRF := csrfOf(t, opList.body), csrfOf(t, adminList.body)

	for _, tc := range []struct {
		name   string
		client *http.Client
		form   url.Values
		status int
		want   string // in the answer's body
	}{
		{"operator", op, url.Values{"csrf": {opCSRF}, "due": {"30d"}}, http.StatusForbidden, "needs the admin role"},
		{"no CSRF", admin, url.Values{"due": {"30d"}}, http.StatusForbidden, ""},
		{"bad due", admin, url.Values{"csrf": {adminCSRF}, "name": {"Q1 <audit>"}, "due": {"next week"}}, http.StatusBadRequest, "Not started: due &#34;next week&#34; is neither a duration"},
		{"due past", admin, url.Values{"csrf": {adminCSRF}, "due": {"2001-01-01"}}, http.StatusBadRequest, "is not after now"},
		{"long name", admin, url.Values{"csrf": {adminCSRF}, "name": {strings.Repeat("n", 201)}, "due": {"30d"}}, http.StatusBadRequest, "too long"},
	} {
		a := do(t, tc.client, "POST", s.url+"/ui/recert", tc.form)
		if a.status != tc.status || !strings.Contains(a.body, tc.want) {
			t.Errorf("%s: %d, want %d with %q:\n%s", tc.name, a.status, tc.status, tc.want, a.body)
		}
	}
	// The refused form keeps what was typed.
	if a := do(t, admin, "POST", s.url+"/ui/recert", url.Values{"csrf": {adminCSRF}, "name": {"Q1 <audit>"}, "due": {"soon"}}); !strings.Contains(a.body, `value="Q1 &lt;audit&gt;"`) || !strings.Contains(a.body, `value="soon"`) {
		t.Errorf("the refused form lost its input:\n%s", a.body)
	}
	if cs, err := s.st.RecertCampaigns(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("refused starts stored %+v, %v", cs, err)
	}

	a := do(t, admin, "POST", s.url+"/ui/recert", url.Values{"csrf": {adminCSRF}, "name": {"Q1 audit"}, "due": {"14d"}})
	cs, err := s.st.RecertCampaigns(ctx)
	if err != nil || len(cs) != 1 {
		t.Fatalf("after the start: %d %s; campaigns %+v, %v", a.status, a.body, cs, err)
	}
	c := cs[0]
	campaign := fmt.Sprintf("%s/ui/recert/%d", s.url, c.ID)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != fmt.Sprintf("/ui/recert/%d?done=started", c.ID) {
		t.Errorf("start: %d %s", a.status, a.header.Get("Location"))
	}
	if c.Name != "Q1 audit" || c.CreatedBy != "token:admin-token" || !c.DueAt.Equal(c.CreatedAt.Add(14*24*time.Hour)) {
		t.Errorf("stored campaign %+v", c)
	}
	_, items, _ := s.st.RecertCampaign(ctx, c.ID)
	if len(items) == 0 {
		t.Fatal("the campaign has no flows")
	}
	page := do(t, admin, "GET", campaign+"?done=started", nil)
	if !strings.Contains(page.body, "Started: the owners can decide now.") || !strings.Contains(page.body, "Close campaign") {
		t.Errorf("campaign page after the start:\n%s", page.body)
	}
	if p := do(t, op, "GET", campaign, nil); strings.Contains(p.body, "Close campaign") {
		t.Error("an operator is offered the close form")
	}
	if a := do(t, op, "POST", campaign+"/close", url.Values{"csrf": {opCSRF}}); a.status != http.StatusForbidden {
		t.Errorf("operator close: %d", a.status)
	}
	if a := do(t, admin, "POST", campaign+"/close", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("close without CSRF: %d", a.status)
	}
	if a := do(t, admin, "POST", campaign+"/close", url.Values{"csrf": {adminCSRF}}); a.status != http.StatusSeeOther || a.header.Get("Location") != fmt.Sprintf("/ui/recert/%d?done=closed", c.ID) {
		t.Errorf("close: %d %s %s", a.status, a.header.Get("Location"), a.body)
	}
	if a := do(t, admin, "POST", campaign+"/close", url.Values{"csrf": {adminCSRF}}); a.status != http.StatusConflict || !strings.Contains(a.body, "closed") {
		t.Errorf("second close: %d %s", a.status, a.body)
	}
	if a := do(t, admin, "POST", s.url+"/ui/recert/999/close", url.Values{"csrf": {adminCSRF}}); a.status != http.StatusNotFound {
		t.Errorf("close of an unknown campaign: %d", a.status)
	}
	page = do(t, admin, "GET", campaign+"?done=closed", nil)
	if !strings.Contains(page.body, "Closed. Flows still pending") || !strings.Contains(page.body, "by token:admin-token") || strings.Contains(page.body, "Close campaign") ||
		strings.Contains(page.body, "Recertify ") {
		t.Errorf("campaign page after the close:\n%s", page.body)
	}

	events, err := s.st.ListAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range events {
		if strings.HasPrefix(e.Action, "recert.") {
			got[e.Action] = e.Actor + " " + e.Object
		}
	}
	object := fmt.Sprintf("campaign %d", c.ID)
	for _, action := range []string{"recert.start", "recert.close"} {
		if got[action] != "token:admin-token "+object {
			t.Errorf("audit %s: %q, want by token:admin-token on %s (all: %v)", action, got[action], object, got)
		}
	}
}

// TestRecertOwnerFilter: a campaign's page filtered by owner lists that
// owner's flows only, and a decision made there comes back to the filter.
func TestRecertOwnerFilter(t *testing.T) {
	s := newUIServer(t)
	ctx := context.Background()
	c := &store.RecertCampaign{Name: "owners", CreatedBy: "alice", DueAt: s.clock.Now().AddDate(0, 0, 30), PolicyHash: "abc"}
	if err := s.st.CreateRecertCampaign(ctx, c, []store.RecertItem{
		{Flow: "pumps_to_pump_servers", Owner: "Pharmacy informatics"}, {Flow: "guest_to_internet"}, {Flow: "monitors_to_central", Owner: "Clinical engineering"},
	}); err != nil {
		t.Fatal(err)
	}
	campaign := fmt.Sprintf("%s/ui/recert/%d", s.url, c.ID)
	op := s.signIn(t, store.RoleOperator)
	for _, tc := range []struct {
		owner      string
		shown, not []string
	}{
		{"", []string{"pumps_to_pump_servers", "guest_to_internet", "monitors_to_central"}, nil},
		{"Pharmacy informatics", []string{"pumps_to_pump_servers"}, []string{"guest_to_internet", "monitors_to_central"}},
		{"Nobody", nil, []string{"pumps_to_pump_servers", "guest_to_internet", "monitors_to_central"}},
	} {
		p := do(t, op, "GET", campaign+"?"+url.Values{"owner": {tc.owner}}.Encode(), nil)
		for _, f := range tc.shown {
			if !strings.Contains(p.body, `id="flow-`+f+`"`) {
				t.Errorf("owner %q: %s not shown", tc.owner, f)
			}
		}
		for _, f := range tc.not {
			if strings.Contains(p.body, `id="flow-`+f+`"`) {
				t.Errorf("owner %q: %s shown", tc.owner, f)
			}
		}
	}
	p := do(t, op, "GET", campaign+"?owner=Pharmacy+informatics", nil)
	if !strings.Contains(p.body, `<option value="Pharmacy informatics" selected>`) || !strings.Contains(p.body, `name="owner" value="Pharmacy informatics"`) {
		t.Errorf("filtered page: no selected owner or no owner on the decision form:\n%s", p.body)
	}
	a := do(t, op, "POST", campaign+"/decide", url.Values{"csrf": {csrfOf(t, p.body)}, "flow": {"pumps_to_pump_servers"}, "decision": {"expire"}, "owner": {"Pharmacy informatics"}})
	if want := fmt.Sprintf("/ui/recert/%d?done=expire&owner=Pharmacy+informatics#flow-pumps_to_pump_servers", c.ID); a.status != http.StatusSeeOther || a.header.Get("Location") != want {
		t.Errorf("decision from the filtered page: %d %q, want %q", a.status, a.header.Get("Location"), want)
	}
}
