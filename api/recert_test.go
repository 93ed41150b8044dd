package api_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/store"
)

// newRecertCampaign starts a campaign on two flows of the example policy,
// due in a week, straight in the store (ward recert starts them; the API
// reads and decides).
func newRecertCampaign(t *testing.T, s *testServer) uint64 {
	t.Helper()
	c := &store.RecertCampaign{Name: "API test", CreatedBy: "test", DueAt: time.Now().Add(7 * 24 * time.Hour).UTC(), PolicyHash: "test"}
	items := []store.RecertItem{{Flow: "pumps_to_pump_servers", Owner: "biomed"}, {Flow: "other_flow", Owner: "it"}}
	if err := s.st.CreateRecertCampaign(context.Background(), c, items); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// recertRouteCases are the recertification routes of the auth matrix.
func recertRouteCases(t *testing.T, s *testServer) []func() routeCase {
	return []func() routeCase{
		func() routeCase { return routeCase{method: "GET", path: "/api/v1/recert", min: store.RoleViewer} },
		func() routeCase {
			return routeCase{method: "GET", path: fmt.Sprintf("/api/v1/recert/%d", newRecertCampaign(t, s)), min: store.RoleViewer}
		},
		func() routeCase {
			return routeCase{method: "POST", path: fmt.Sprintf("/api/v1/recert/%d/decisions", newRecertCampaign(t, s)),
				body: `{"flow":"pumps_to_pump_servers","decision":"recertify","comment":"still needed"}`, min: store.RoleOperator}
		},
		func() routeCase {
			return routeCase{method: "POST", path: "/api/v1/recert", body: `{"name":"auth matrix","due":"30d"}`, min: store.RoleAdmin}
		},
		func() routeCase {
			return routeCase{method: "POST", path: fmt.Sprintf("/api/v1/recert/%d/close", newRecertCampaign(t, s)), min: store.RoleAdmin}
		},
	}
}

// oaRecert reads campaigns and decides through the API: the decision is
// recorded once, with who decided, and refused on a closed campaign.
func oaRecert(t *testing.T, c *oaClient) {
	viewer, operator := c.as(store.RoleViewer), c.as(store.RoleOperator)
	id := newRecertCampaign(t, c.s)
	path := "/api/v1/recert/" + strconv.FormatUint(id, 10)

	var list []struct {
		ID     uint64
		Status string
		Counts struct{ Flows, Pending int }
	}
	c.want(t, 200, oaValid, "GET", "/api/v1/recert", nil, viewer).decode(t, &list)
	found := false
	for _, l := range list {
		if l.ID == id {
			found = true
			if l.Status != "open" || l.Counts.Flows != 2 || l.Counts.Pending != 2 {
				t.Errorf("campaign %d listed as %+v, want open with 2 pending flows", id, l)
			}
		}
	}
	if !found {
		t.Errorf("campaign %d is not listed: %+v", id, list)
	}
	c.want(t, 200, oaValid, "GET", path, nil, viewer)

	var d struct {
		Counts struct{ Recertified, Pending int }
		Items  []struct {
			Flow, State, Decision string
			DecidedBy             string `json:"decided_by"`
			Comment               string
		}
	}
	c.want(t, 200, oaValid, "POST", path+"/decisions", map[string]string{"flow": "pumps_to_pump_servers", "decision": "recertify", "comment": "still needed"}, operator).decode(t, &d)
	if d.Counts.Recertified != 1 || d.Counts.Pending != 1 {
		t.Errorf("after one decision: counts %+v, want 1 recertified, 1 pending", d.Counts)
	}
	for _, it := range d.Items {
		if it.Flow == "pumps_to_pump_servers" && (it.State != "recertified" || it.DecidedBy != "token:operator-token" || it.Comment != "still needed") {
			t.Errorf("decided item: %+v, want recertified by token:operator-token with the comment", it)
		}
	}
	// Once only.
	c.want(t, 409, oaValid, "POST", path+"/decisions", map[string]string{"flow": "pumps_to_pump_servers", "decision": "expire"}, operator)
	c.want(t, 404, oaValid, "POST", path+"/decisions", map[string]string{"flow": "no_such_flow", "decision": "expire"}, operator)
	c.want(t, 404, oaValid, "POST", "/api/v1/recert/99999/decisions", map[string]string{"flow": "other_flow", "decision": "expire"}, operator)
	c.want(t, 400, oaInvalid, "POST", path+"/decisions", map[string]string{"flow": "other_flow", "decision": "maybe"}, operator)
	c.want(t, 400, oaInvalid, "POST", path+"/decisions", map[string]string{"flow": "other_flow", "decision": "expire", "why": "x"}, operator)
	c.want(t, 400, oaInvalid, "POST", path+"/decisions", ``, operator)
	c.want(t, 404, oaValid, "GET", "/api/v1/recert/99999", nil, viewer)
	c.want(t, 400, oaInvalid, "GET", "/api/v1/recert/latest", nil, viewer)

	admin := c.as(store.RoleAdmin)
	c.want(t, 403, oaValid, "POST", path+"/close", nil, operator)
	var closedNow struct {
		Status string
		Counts struct {
			NotRecertified int `json:"not_recertified"`
		}
	}
	c.want(t, 200, oaValid, "POST", path+"/close", nil, admin).decode(t, &closedNow)
	if closedNow.Status != "closed" || closedNow.Counts.NotRecertified != 1 {
		t.Errorf("closed through the API: %+v, want closed with other_flow not recertified", closedNow)
	}
	c.want(t, 409, oaValid, "POST", path+"/close", nil, admin)
	c.want(t, 404, oaValid, "POST", "/api/v1/recert/99999/close", nil, admin)
	c.want(t, 409, oaValid, "POST", path+"/decisions", map[string]string{"flow": "other_flow", "decision": "expire"}, operator)

	// Started through the API over the example's flows in force, by the
	// admin's token; refused with a due date in the past or unreadable.
	var started struct {
		ID        uint64
		Name      string
		Status    string
		CreatedBy string `json:"created_by"`
		Counts    struct{ Flows, Pending int }
	}
	c.want(t, 201, oaValid, "POST", "/api/v1/recert", map[string]string{"name": "Q1 review", "due": "30d"}, admin).decode(t, &started)
	if started.Name != "Q1 review" || started.Status != "open" || started.CreatedBy != "token:admin-token" || started.Counts.Flows == 0 || started.Counts.Pending != started.Counts.Flows {
		t.Errorf("started through the API: %+v", started)
	}
	c.want(t, 400, oaValid, "POST", "/api/v1/recert", map[string]string{"due": "2001-01-01"}, admin)
	c.want(t, 400, oaValid, "POST", "/api/v1/recert", map[string]string{"due": "soon"}, admin)
	c.want(t, 400, oaInvalid, "POST", "/api/v1/recert", map[string]string{"due": "30d", "scope": "all"}, admin)
	var closed struct{ Status string }
	c.want(t, 200, oaValid, "GET", path, nil, viewer).decode(t, &closed)
	if closed.Status != "closed" {
		t.Errorf("closed campaign reads as %q", closed.Status)
	}
}
