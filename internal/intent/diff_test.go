package intent

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

const diffFlows = `
flow "pumps_to_servers" {
  from = zone.pumps
  to = zone.servers
  services = [service.pump]
  essential = true
  reason = "r"
}
flow "servers_to_ehr" {
  from = zone.servers
  to = network.ehr
  services = [service.https]
  reason = "r"
}
`

func TestDiff(t *testing.T) {
	before, _ := compileSrc(t, base+diffFlows, baseDevices)
	tests := []struct {
		name    string
		src     string              // replaces diffFlows
		edit    func(string) string // changes the whole policy
		devices []inventory.Device  // replace baseDevices when set
		check   func(t *testing.T, ch *Change)
	}{
		{
			name: "flow added",
			src: diffFlows + `flow "ehr_to_pumps" {
  from = network.ehr
  to = zone.pumps
  services = [service.https, service.ping]
  reason = "r"
}`,
			check: func(t *testing.T, ch *Change) {
				fc := firewallChange(t, ch)
				if len(fc.Flows) != 1 || fc.Flows[0].Flow != "ehr_to_pumps" || fc.Flows[0].Action != ActionAdd ||
					len(fc.Flows[0].RulesAdded) != 3 || len(fc.Flows[0].RulesRemoved) != 0 {
					t.Errorf("flows %s", jsonOf(fc.Flows))
				}
				if ch.Counts.FlowsAdded != 1 || ch.Counts.RulesAdded != 3 || len(ch.Essential) != 0 || len(fc.Sets) != 0 {
					t.Errorf("counts %+v, essential %v, sets %v", ch.Counts, ch.Essential, fc.Sets)
				}
			},
		},
		{
			name: "non-essential flow removed, and its set with it",
			src: `flow "pumps_to_servers" {
  from = zone.pumps
  to = zone.servers
  services = [service.pump]
  essential = true
  reason = "r"
}`,
			check: func(t *testing.T, ch *Change) {
				fc := firewallChange(t, ch)
				if len(fc.Flows) != 1 || fc.Flows[0].Flow != "servers_to_ehr" || fc.Flows[0].Action != ActionRemove || len(fc.Flows[0].RulesRemoved) != 1 {
					t.Errorf("flows %s", jsonOf(fc.Flows))
				}
				if len(fc.Sets) != 1 || fc.Sets[0].Name != "net_ehr" || fc.Sets[0].Action != ActionRemove ||
					prefixText(fc.Sets[0].Removed) != "10.10.0.0/16" {
					t.Errorf("sets %s", jsonOf(fc.Sets))
				}
				if len(ch.Essential) != 0 {
					t.Errorf("essential %v", ch.Essential)
				}
			},
		},
		{
			name: "essential flow removed",
			src: `flow "servers_to_ehr" {
  from = zone.servers
  to = network.ehr
  services = [service.https]
  reason = "r"
}`,
			check: func(t *testing.T, ch *Change) {
				if len(ch.Essential) != 1 || ch.Essential[0].Kind != EssentialRemoved || ch.Essential[0].Flow != "pumps_to_servers" ||
					ch.Essential[0].Target != "fw" || len(ch.Essential[0].Lost) != 1 {
					t.Errorf("essential %s", jsonOf(ch.Essential))
				}
			},
		},
		{
			name: "essential flow narrowed: a port less",
			src:  strings.Replace(diffFlows, "service.pump]", "service.https]", 1),
			check: func(t *testing.T, ch *Change) {
				if len(ch.Essential) != 1 || ch.Essential[0].Kind != EssentialNarrowed {
					t.Fatalf("essential %s", jsonOf(ch.Essential))
				}
				lost := ch.Essential[0].Lost
				if len(lost) != 1 || !reflect.DeepEqual(lost[0].Ports, []Ports{{From: 444, To: 444}, {From: 51444, To: 51444}}) || lost[0].Proto != "tcp" {
					t.Errorf("lost %s", jsonOf(lost))
				}
				if !strings.Contains(ch.Essential[0].Message, "tcp 444,51444 from zone_pumps to zone_servers") {
					t.Errorf("message %q", ch.Essential[0].Message)
				}
			},
		},
		{
			name: "essential flow narrowed: a destination less",
			src:  strings.Replace(diffFlows, "to = zone.servers", "to = zone.cams", 1),
			check: func(t *testing.T, ch *Change) {
				if len(ch.Essential) != 1 || ch.Essential[0].Kind != EssentialNarrowed || ch.Essential[0].Lost[0].To != "zone_servers" {
					t.Errorf("essential %s", jsonOf(ch.Essential))
				}
			},
		},
		{
			name: "essential flow widened, or its ports moved to another service: not narrowed",
			src: strings.Replace(diffFlows, "services = [service.pump]", "services = [service.https, service.pump2, service.dns]", 1) +
				`service "pump2" { tcp = [444, 51444, 51445] }`,
			check: func(t *testing.T, ch *Change) {
				if len(ch.Essential) != 0 {
					t.Errorf("essential %s", jsonOf(ch.Essential))
				}
				if fc := firewallChange(t, ch); len(fc.Flows) != 1 || fc.Flows[0].Action != ActionChange {
					t.Errorf("flows %s", jsonOf(fc.Flows))
				}
			},
		},
		{
			name: "essential flow no longer essential",
			src:  strings.Replace(diffFlows, "essential = true", "essential = false", 1),
			check: func(t *testing.T, ch *Change) {
				if len(ch.Essential) != 1 || ch.Essential[0].Kind != EssentialUnmarked {
					t.Errorf("essential %s", jsonOf(ch.Essential))
				}
				if fc := firewallChange(t, ch); len(fc.Flows) != 1 || fc.Flows[0].Essential || len(fc.Flows[0].RulesAdded) != 1 {
					t.Errorf("flows %s", jsonOf(fc.Flows))
				}
			},
		},
		{
			name: "device moved zone: port VLAN and set membership change",
			src:  diffFlows,
			devices: []inventory.Device{
				dev("pump-1", "10.61.210.11", "server", "sw1", "p1"), // now a server, still in the pumps' subnet
				dev("srv-1", "10.61.211.5", "server", "sw1", "p2"),
			},
			check: func(t *testing.T, ch *Change) {
				sw := switchChange(t, ch, "sw1")
				want := []PortChange{{Port: "p1", Action: ActionChange, Device: "pump-1", FromVLAN: 210, ToVLAN: 211, FromZone: "pumps", ToZone: "servers"}}
				if !reflect.DeepEqual(sw.Ports, want) {
					t.Errorf("ports %s", jsonOf(sw.Ports))
				}
				fc := firewallChange(t, ch)
				got := map[string]string{}
				for _, s := range fc.Sets {
					got[s.Name] = "+" + prefixText(s.Added) + " -" + prefixText(s.Removed)
				}
				if got["zone_pumps"] != "+ -10.61.210.11/32" || got["zone_servers"] != "+10.61.210.11/32 -" || len(got) != 2 {
					t.Errorf("sets %v", got)
				}
				if ch.Counts.PortsChanged != 1 || ch.Counts.PrefixesAdded != 1 || ch.Counts.PrefixesRemoved != 1 || ch.Counts.SetsChanged != 2 {
					t.Errorf("counts %+v", ch.Counts)
				}
				if len(ch.Essential) != 0 {
					t.Errorf("a device moving zone is not an essential change: %v", ch.Essential)
				}
			},
		},
		{
			name: "ports added and removed, a device replaced",
			src:  diffFlows,
			devices: []inventory.Device{
				dev("pump-2", "10.61.210.12", "pump", "sw1", "p1"),
				dev("srv-1", "10.61.211.5", "server", "sw1", "p3"),
			},
			check: func(t *testing.T, ch *Change) {
				sw := switchChange(t, ch, "sw1")
				want := []PortChange{
					{Port: "p1", Action: ActionChange, Device: "pump-2", FromDevice: "pump-1", FromVLAN: 210, ToVLAN: 210, FromZone: "pumps", ToZone: "pumps"},
					{Port: "p2", Action: ActionRemove, Device: "srv-1", FromVLAN: 211, FromZone: "servers"},
					{Port: "p3", Action: ActionAdd, Device: "srv-1", ToVLAN: 211, ToZone: "servers"},
				}
				if !reflect.DeepEqual(sw.Ports, want) {
					t.Errorf("ports %s", jsonOf(sw.Ports))
				}
				if c := ch.Counts; c.PortsAdded != 1 || c.PortsRemoved != 1 || c.PortsChanged != 1 {
					t.Errorf("counts %+v", c)
				}
			},
		},
		{
			name: "network grows: only the new addresses are added",
			src:  diffFlows,
			edit: func(s string) string {
				return strings.Replace(s, `cidrs = ["10.10.0.0/16"]`, `cidrs = ["10.10.0.0/16", "10.11.0.0/16"]`, 1)
			},
			check: func(t *testing.T, ch *Change) {
				fc := firewallChange(t, ch)
				if len(fc.Sets) != 1 || fc.Sets[0].Name != "net_ehr" || prefixText(fc.Sets[0].Added) != "10.11.0.0/16" || len(fc.Sets[0].Removed) != 0 {
					t.Errorf("sets %s", jsonOf(fc.Sets))
				}
			},
		},
		{
			name: "default action, monitor and quarantine",
			src: diffFlows + `settings { default_action = "allow" }
quarantine {
  vlan = 999
  remediation = [network.ehr]
  action = { low = "isolate" }
}`,
			check: func(t *testing.T, ch *Change) {
				fc := firewallChange(t, ch)
				if fc.DefaultAction == nil || *fc.DefaultAction != (Transition[string]{"drop", "accept"}) {
					t.Errorf("default action %v", fc.DefaultAction)
				}
				if fc.Quarantine == nil || !slices.Equal(fc.Quarantine.To.Remediation, []string{"net_ehr"}) {
					t.Errorf("quarantine %v", fc.Quarantine)
				}
				if sw := switchChange(t, ch, "sw1"); sw.QuarantineVLAN == nil || *sw.QuarantineVLAN != (Transition[int]{0, 999}) {
					t.Errorf("quarantine vlan %v", sw.QuarantineVLAN)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := base + tt.src
			if tt.edit != nil {
				src = tt.edit(src)
			}
			devices := baseDevices
			if tt.devices != nil {
				devices = tt.devices
			}
			after, _ := compileSrc(t, src, devices)
			ch := Diff(before, after)
			if ch.Empty() {
				t.Fatal("no change")
			}
			if _, err := json.Marshal(ch); err != nil {
				t.Fatal(err)
			}
			tt.check(t, ch)
			if back := Diff(after, before); back.Empty() {
				t.Error("the reverse change is empty")
			}
		})
	}
}

func firewallChange(t *testing.T, ch *Change) *FirewallChange {
	t.Helper()
	for _, tc := range ch.Targets {
		if tc.Name == "fw" && tc.Firewall != nil {
			return tc.Firewall
		}
	}
	t.Fatalf("no change to firewall fw: %s", jsonOf(ch))
	return nil
}

func switchChange(t *testing.T, ch *Change, name string) *SwitchChange {
	t.Helper()
	for _, tc := range ch.Targets {
		if tc.Name == name && tc.Switch != nil {
			return tc.Switch
		}
	}
	t.Fatalf("no change to switch %s: %s", name, jsonOf(ch))
	return nil
}

func TestDiffNilAndSame(t *testing.T) {
	in, _ := compileSrc(t, base+diffFlows, baseDevices)
	if ch := Diff(nil, nil); !ch.Empty() {
		t.Errorf("nil to nil: %s", jsonOf(ch))
	}
	if ch := Diff(in, in); !ch.Empty() {
		t.Errorf("same: %s", jsonOf(ch))
	}
	var nilChange *Change
	if !nilChange.Empty() {
		t.Error("a nil change is not empty")
	}

	ch := Diff(nil, in)
	if len(ch.Targets) != 2 || ch.Targets[0].Action != ActionAdd || ch.Counts.TargetsAdded != 2 {
		t.Fatalf("first apply: %s", jsonOf(ch.Targets))
	}
	fc := ch.Targets[0].Firewall
	if fc == nil || len(fc.Flows) != 2 || fc.Flows[0].Action != ActionAdd || fc.DefaultAction == nil ||
		len(fc.Sets) != len(in.Targets["fw"].Firewall.Sets) || ch.Counts.RulesAdded != len(in.Targets["fw"].Firewall.Rules) {
		t.Errorf("first apply, firewall: %s", jsonOf(fc))
	}
	if sw := ch.Targets[1].Switch; sw == nil || len(sw.Ports) != 2 || sw.Ports[0].Action != ActionAdd {
		t.Errorf("first apply, switch: %s", jsonOf(sw))
	}
	if len(ch.Essential) != 0 {
		t.Errorf("first apply removes nothing: %v", ch.Essential)
	}

	gone := Diff(in, &Intent{Targets: map[string]*Target{}})
	if gone.Counts.TargetsRemoved != 2 || len(gone.Essential) != 1 || gone.Essential[0].Kind != EssentialRemoved {
		t.Errorf("targets removed: %+v %s", gone.Counts, jsonOf(gone.Essential))
	}

	// Rule order is not a change: every rule accepts.
	shuffled := *cloneFirewall(in.Targets["fw"].Firewall)
	slices.Reverse(shuffled.Rules)
	other := &Intent{Targets: map[string]*Target{"fw": {Name: "fw", Driver: "linux_nftables", Roles: []string{RoleFirewall}, Firewall: &shuffled}, "sw1": in.Targets["sw1"]}}
	if ch := Diff(in, other); !ch.Empty() {
		t.Errorf("reordered rules: %s", jsonOf(ch))
	}
}

// The example hospital, changed the way a real change request would: a
// service loses a port (narrowing two essential flows), a pump is
// reclassified, a flow is added. The golden file shows the Change JSON.
func TestDiffExampleGolden(t *testing.T) {
	cfg, devices := loadExample(t)
	res, devs := evaluate(t, cfg, devices)
	before, _, err := Compile(cfg, res, devs)
	if err != nil {
		t.Fatal(err)
	}

	cfg2, devices2 := loadExample(t)
	cfg2.Services["pump_telemetry"].TCP = []policy.PortRange{{From: 443, To: 443}}
	cfg2.Flows["biomed_to_printers"] = &policy.Flow{Name: "biomed_to_printers", From: []policy.Ref{{Kind: policy.RefZone, Name: "biomed_engineering"}},
		To: []policy.Ref{{Kind: policy.RefZone, Name: "printers"}}, Services: []policy.Ref{{Kind: policy.RefService, Name: "printing"}}, Reason: "r"}
	for i, d := range devices2 {
		if d.Name == "pump-3w-01" {
			devices2[i].Class = "workstation"
		}
	}
	res2, devs2 := evaluate(t, cfg2, devices2)
	after, _, err := Compile(cfg2, res2, devs2)
	if err != nil {
		t.Fatal(err)
	}
	ch := Diff(before, after)
	got, err := json.MarshalIndent(ch, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "example-diff.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./internal/intent -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("change differs from %s (run with -update if intended)", golden)
	}
	// Each firewall target enforces the same flows, so each reports them.
	firewalls := 0
	for _, tg := range after.Targets {
		if tg.Firewall != nil {
			firewalls++
		}
	}
	var kinds []string
	for _, e := range ch.Essential {
		kinds = append(kinds, e.Flow+":"+e.Kind)
	}
	var wantKinds []string
	for range firewalls {
		wantKinds = append(wantKinds, "pump_servers_to_pumps:narrowed", "pumps_to_pump_servers:narrowed")
	}
	if firewalls < 2 || !slices.Equal(kinds, wantKinds) {
		t.Errorf("essential changes %v, want %v (both narrowed flows on each of %d firewall targets)", kinds, wantKinds, firewalls)
	}
	pumpSet := setOf(findSet(t, after.Targets["core-fw"].Firewall, "zone_infusion_pumps").V4, nil)
	if pumpSet.intersects(setOf([]netip.Prefix{netip.MustParsePrefix("10.61.210.11/32")}, nil)) {
		t.Error("the reclassified pump's address is still in zone_infusion_pumps")
	}
}
