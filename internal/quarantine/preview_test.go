package quarantine

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/examplehosp"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// expectedPreview is what the example hospital's policy file says an
// alert does to device d placed in zone: derived from the quarantine
// block and the flows as written, not from the Manager.
type expectedPreview struct {
	level, pending string
	essential      []string
	approval       bool
}

func expectPreview(cfg *policy.Config, d inventory.Device, zone string) expectedPreview {
	var ess []string
	for name, f := range cfg.Flows {
		if !f.Essential || f.ExpiredAt(time.Now()) {
			continue
		}
		for _, r := range slices.Concat(f.From, f.To) {
			held := r.Kind == "zone" && zone != "" && r.Name == zone
			if n := cfg.Networks[r.Name]; r.Kind == "network" && n != nil {
				held = slices.ContainsFunc(n.CIDRs, func(p netip.Prefix) bool { return p.Contains(d.IP) })
			}
			if held {
				ess = append(ess, name)
				break
			}
		}
	}
	slices.Sort(ess)
	e := expectedPreview{essential: ess, level: cfg.Quarantine.Action[d.Criticality]}
	if e.level == "" {
		e.level = "notify"
	}
	e.approval = len(ess) > 0 || slices.Contains(cfg.Quarantine.ApprovalRequired, d.Criticality)
	if e.level == "isolate" && e.approval {
		e.level, e.pending = "restrict", "isolate"
	}
	return e
}

// TestPreviewFollowsThePolicy previews every device of the example
// hospital and compares with what its policy file says.
func TestPreviewFollowsThePolicy(t *testing.T) {
	e := newEnv(t, nil)
	cfg, devices := examplehosp.Load(t)
	eng, diags := engine.New(context.Background(), cfg, devices)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := eng.Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, tg := range cfg.Targets {
		targets[tg.Address] = true
	}
	seen := map[string]int{}
	for _, d := range devices {
		if targets[d.IP.String()] || strings.EqualFold(d.Labels["protected"], "true") {
			continue
		}
		want := expectPreview(cfg, d, res.Zone[d.Name])
		got, err := e.m.Preview(context.Background(), d.Name)
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		seen[got.Level+"/"+got.Pending]++
		if got.Level != want.level || got.Pending != want.pending || !slices.Equal(got.EssentialFlows, want.essential) ||
			(len(got.IsolateApproval) > 0) != want.approval {
			t.Errorf("%s (%s, zone %s): preview %s/%s essential %v approval %v; the policy says %s/%s essential %v approval %v",
				d.Name, d.Criticality, res.Zone[d.Name], got.Level, got.Pending, got.EssentialFlows, got.IsolateApproval,
				want.level, want.pending, want.essential, want.approval)
		}
		switch got.Level {
		case LevelRestrict:
			if !slices.Equal(got.KeptOpen, want.essential) {
				t.Errorf("%s: a restrict keeps %v open, want its essential flows %v", d.Name, got.KeptOpen, want.essential)
			}
		case LevelIsolate:
			if len(got.KeptOpen) != 0 {
				t.Errorf("%s: an isolate keeps %v open, want none", d.Name, got.KeptOpen)
			}
		}
	}
	// The example must exercise each outcome, or this test proves little.
	for _, k := range []string{"isolate/", "restrict/", "restrict/isolate"} {
		if seen[k] == 0 {
			t.Errorf("no device of the example previews as %s (seen %v)", k, seen)
		}
	}
	if _, err := e.m.Preview(context.Background(), "no-such-device"); !errors.Is(err, ErrNotFound) {
		t.Errorf("preview of an unknown device: %v, want ErrNotFound", err)
	}
}

// TestDecisionRecordsEssentialFlows: the audit event of a decision
// records the device's essential flows as they were when decided.
func TestDecisionRecordsEssentialFlows(t *testing.T) {
	e := newEnv(t, nil)
	r := intake(t, e, genericAlert("a1", wsIP, "high"))[0]
	if r.QuarantineID == 0 {
		t.Fatalf("result %+v, want ws-netlab-01 quarantined", r)
	}
	p, err := e.m.Preview(context.Background(), "ws-netlab-01")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.EssentialFlows) == 0 {
		t.Fatalf("ws-netlab-01 has no essential flows in the example; the test needs a device with some")
	}
	var ev store.AuditEvent
	if err := e.st.DB.Where("action = ? AND object = ?", "quarantine.create", "ws-netlab-01").Take(&ev).Error; err != nil {
		t.Fatal(err)
	}
	var d struct {
		Essential []string `json:"essential_flows"`
	}
	if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Essential, p.EssentialFlows) {
		t.Errorf("audit detail essential_flows %v, want %v", d.Essential, p.EssentialFlows)
	}
}
