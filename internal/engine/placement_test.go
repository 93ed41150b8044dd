package engine

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

const placementPolicy = `
settings { default_zone = "unclassified" }
zone "unclassified" { criticality = "low" }
zone "pumps" {
  criticality = "life_critical"
  match {
    class  = ["infusion_pump"]
    vendor = ["BD", "Baxter*"]
  }
}
zone "ward_3w_ports" {
  criticality = "medium"
  match { port = "Gi1/0/*" }
}
zone "special_pump" {
  criticality = "life_critical"
  priority    = 10
  match { name = "pump-special-*" }
}
zone "by_ip" {
  criticality = "high"
  match { ip = ["10.99.0.0/16"] }
}
zone "by_label" {
  criticality = "medium"
  match {
    labels = { ward = ["ICU*", "NICU"] }
  }
}
zone "by_ip_too" {
  criticality = "high"
  match { ip = ["10.99.1.0/24"] }
}
`

func TestPlacement(t *testing.T) {
	cfg, diags := policy.NewParser().Load(policy.Source{Filename: "p.hcl", Bytes: []byte(placementPolicy)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := newRefPlacer(cfg)
	ip := netip.MustParseAddr
	tests := []struct {
		name     string
		dev      inventory.Device
		zone     string
		conflict []string
	}{
		{"AND of class and vendor", inventory.Device{Name: "p1", Class: "infusion_pump", Vendor: "BD", IP: ip("10.0.0.1")}, "pumps", nil},
		{"glob in vendor", inventory.Device{Name: "p2", Class: "infusion_pump", Vendor: "Baxter Healthcare", IP: ip("10.0.0.2")}, "pumps", nil},
		{"vendor not allowed: default zone", inventory.Device{Name: "p3", Class: "infusion_pump", Vendor: "Fresenius", IP: ip("10.0.0.3")}, "unclassified", nil},
		{"globs are case-sensitive", inventory.Device{Name: "p4", Class: "infusion_pump", Vendor: "bd", IP: ip("10.0.0.4")}, "unclassified", nil},
		{"star crosses slashes", inventory.Device{Name: "x", Port: "Gi1/0/5", IP: ip("10.0.0.5")}, "ward_3w_ports", nil},
		{"priority beats the other match", inventory.Device{Name: "pump-special-1", Class: "infusion_pump", Vendor: "BD", IP: ip("10.0.0.6")}, "special_pump", nil},
		{"equal priority is a conflict", inventory.Device{Name: "c", Class: "infusion_pump", Vendor: "BD", Port: "Gi1/0/7", IP: ip("10.0.0.7")}, "", []string{"pumps", "ward_3w_ports"}},
		{"ip prefix", inventory.Device{Name: "i", IP: ip("10.99.5.5")}, "by_ip", nil},
		{"overlapping ip prefixes conflict", inventory.Device{Name: "j", IP: ip("10.99.1.5")}, "", []string{"by_ip", "by_ip_too"}},
		{"label glob", inventory.Device{Name: "l", IP: ip("10.0.0.8"), Labels: map[string]string{"ward": "ICU-2"}}, "by_label", nil},
		{"missing label does not match", inventory.Device{Name: "m", IP: ip("10.0.0.9"), Labels: map[string]string{"floor": "ICU"}}, "unclassified", nil},
	}
	var devices []inventory.Device
	for _, tt := range tests {
		devices = append(devices, tt.dev)
	}
	// The same table through the Rego placement the engine uses.
	res, err := newEngine(t, cfg, devices).Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zone, conflict, ok := p.Place(&tt.dev)
			if zone != tt.zone || !slices.Equal(conflict, tt.conflict) || ok != (tt.zone != "") {
				t.Errorf("Go: Place = %q, %v, %v; want %q, %v", zone, conflict, ok, tt.zone, tt.conflict)
			}
			if got := res.Zone[tt.dev.Name]; got != tt.zone || !slices.Equal(res.Conflicts[tt.dev.Name], tt.conflict) {
				t.Errorf("Rego: zone %q, conflict %v; want %q, %v", got, res.Conflicts[tt.dev.Name], tt.zone, tt.conflict)
			}
		})
	}

	// Without a default zone an unmatched device is unplaced.
	cfg.Settings = nil
	all := newRefPlacer(cfg).PlaceAll([]inventory.Device{{Name: "lost", IP: ip("192.0.2.1")}, tests[0].dev})
	if len(all.Unplaced) != 1 || all.Unplaced[0] != "lost" || all.Zone["p1"] != "pumps" {
		t.Errorf("PlaceAll: %+v", all)
	}
}

// TestPlacementExampleHospital: every example device lands in exactly one
// zone, and the unclassified ones are the few the example says.
func TestPlacementExampleHospital(t *testing.T) {
	cfg, devices := loadExample(t)
	pl := newRefPlacer(cfg).PlaceAll(devices)
	if len(pl.Conflicts) != 0 || len(pl.Unplaced) != 0 {
		t.Fatalf("conflicts %v, unplaced %v", pl.Conflicts, pl.Unplaced)
	}
	counts := map[string]int{}
	for _, z := range pl.Zone {
		counts[z]++
	}
	if counts["infusion_pumps"] < 50 || counts["patient_monitors"] < 40 || counts["unclassified"] == 0 || counts["unclassified"] > 10 {
		t.Errorf("zone counts look wrong: %v", counts)
	}
	if pl.Zone["pump-3w-01"] != "infusion_pumps" {
		t.Errorf("pump-3w-01 placed in %q", pl.Zone["pump-3w-01"])
	}
}
