package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// reviewZone and reviewModule move the 3 West infusion pumps, by Rego, into
// a zone no match block gives them.
const reviewZone = `zone "pumps_under_review" {
  criticality = "high"
  vlan        = 212
  priority    = 10
}

flow "review_pumps_to_pump_servers" {
  from     = zone.pumps_under_review
  to       = zone.pump_servers
  services = [service.https]
  reason   = "Drug library updates while under review"
  ticket   = "CHG-2001"
}
`

const reviewModule = `package ward.placement

zone_match[id] contains "pumps_under_review" if {
	d := data.ward.devices[id]
	d.class == "infusion_pump"
	d.location == "3 West"
}
`

// TestDevicesZoneIsTheEngines: with an operator ward.placement module, the
// zone /api/v1/devices shows for each device is the zone whose address set
// holds it in the firewall intent compiled from the same policy and
// inventory — device by device — and the zone filter and a device's own
// page say the same.
func TestDevicesZoneIsTheEngines(t *testing.T) {
	var cfg *policy.Config
	s := newTestServer(t, func(c *api.Config) {
		var srcs []policy.Source
		entries, err := os.ReadDir(examplePolicy)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(examplePolicy, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			srcs = append(srcs, policy.Source{Filename: e.Name(), Bytes: b})
		}
		srcs = append(srcs, policy.Source{Filename: "review.hcl", Bytes: []byte(reviewZone)}, policy.Source{Filename: "review.rego", Bytes: []byte(reviewModule)})
		var diags hcl.Diagnostics
		cfg, diags = policy.NewParser(policy.WithDrivers(c.Drivers.RolesByName())).Load(srcs...)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		c.Policy = inforce.New(cfg, nil, nil)
	})
	ctx := context.Background()

	r := s.do(t, http.MethodGet, "/api/v1/devices?limit=1000", nil, s.as("viewer"))
	var page struct{ Items []api.Device }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &page) != nil || len(page.Items) < 400 {
		t.Fatalf("GET /api/v1/devices: %d %s", r.status, r.body)
	}

	// The firewall the plan would push: the engine's evaluation compiled
	// into intent, as internal/plan does.
	devices, err := inventory.Active(ctx, s.st)
	if err != nil {
		t.Fatal(err)
	}
	e, diags := engine.New(ctx, cfg, devices)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := intent.Compile(cfg, res, e.Devices())
	if err != nil {
		t.Fatal(err)
	}
	fw := in.Targets["core-fw"].Firewall
	hasSet := map[string]bool{}
	for _, set := range fw.Sets {
		hasSet[set.Of] = set.Kind == "zone"
	}

	moved, inReview := 0, 0
	for _, d := range page.Items {
		var sets []string
		for _, set := range fw.Sets {
			for _, p := range append(set.V4, set.V6...) {
				if set.Kind == "zone" && d.IP.IsValid() && p.Contains(d.IP) {
					sets = append(sets, set.Of)
				}
			}
		}
		want := []string(nil)
		if hasSet[d.Zone] && d.IP.IsValid() {
			want = []string{d.Zone}
		}
		if !slices.Equal(sets, want) {
			t.Errorf("%s (%s): the API says zone %q, the firewall has it in %v", d.Name, d.IP, d.Zone, sets)
		}
		if d.Class == "infusion_pump" && d.Location == "3 West" {
			moved++
			if d.Zone != "pumps_under_review" {
				t.Errorf("%s: zone %q, want pumps_under_review (review.rego)", d.Name, d.Zone)
			}
		}
		if d.Zone == "pumps_under_review" {
			inReview++
		}
	}
	if moved == 0 || inReview != moved {
		t.Errorf("%d pumps in 3 West, %d devices in pumps_under_review", moved, inReview)
	}

	r = s.do(t, http.MethodGet, "/api/v1/devices?zone=pumps_under_review&limit=1000", nil, s.as("viewer"))
	var filtered struct {
		Items []api.Device
		Total int
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &filtered) != nil || filtered.Total != moved || len(filtered.Items) != moved {
		t.Errorf("?zone=pumps_under_review: %d, %d of %d devices, want %d", r.status, len(filtered.Items), filtered.Total, moved)
	}
	r = s.do(t, http.MethodGet, "/api/v1/devices/pump-3w-01", nil, s.as("viewer"))
	var one api.DeviceDetail
	if r.status != http.StatusOK || json.Unmarshal(r.body, &one) != nil || one.Zone != "pumps_under_review" || one.IP != netip.MustParseAddr("10.61.210.11") {
		t.Errorf("GET /api/v1/devices/pump-3w-01: %d %s", r.status, r.body)
	}
}
