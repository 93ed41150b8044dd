package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
