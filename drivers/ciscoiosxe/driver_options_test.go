package ciscoiosxe

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
)

// TestRegister: the driver registers under its name with both roles, its
// options as data, and the platform definition with the failure patterns
// scrapligo's lacks.
func TestRegister(t *testing.T) {
	var r drivers.Registry
	Register(&r)
	info, ok := r.Lookup("cisco_iosxe")
	if !ok {
		t.Fatal("cisco_iosxe is not registered")
	}
	if len(info.Roles) != 2 || info.New == nil || len(info.Options) == 0 {
		t.Errorf("info: roles %v, New set %v, %d options", info.Roles, info.New != nil, len(info.Options))
	}
	for _, p := range []string{"%Please turn config archive on", "%No Rollback Confirmed Change pending", "% Invalid input detected"} {
		if !strings.Contains(string(info.Platform), "'"+p+"'") {
			t.Errorf("the platform definition lacks the failure pattern %q", p)
		}
	}
	if _, err := info.Open(json.RawMessage(`{"confirm_minutes": 10, "archive_path": "bootflash:ward/archive", "save_config": false}`)); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

// TestOptions: each option's Check refuses what the switch would, and New
// refuses it too (options that reach it without the policy parser).
func TestOptions(t *testing.T) {
	checks := map[string]func(any) error{}
	for _, o := range optionSpecs() {
		checks[o.Name] = o.Check
	}
	for _, c := range []struct {
		name string
		v    any
		ok   bool
	}{
		{"confirm_minutes", 1, true}, {"confirm_minutes", 120, true}, {"confirm_minutes", 0, false}, {"confirm_minutes", 121, false},
		{"archive_path", "flash:ward-archive", true}, {"archive_path", "flash:a b", false}, {"archive_path", "ward", false},
		{"archive_path", "flash:x;reload", false},
	} {
		err := checks[c.name](c.v)
		if (err == nil) != c.ok {
			t.Errorf("%s = %v: err %v, want ok %v", c.name, c.v, err, c.ok)
		}
	}
	for _, raw := range []string{`{"confirm_minutes": 0}`, `{"archive_path": "x"}`, `{"confirm_minutes": "5"}`} {
		if _, err := New(json.RawMessage(raw)); err == nil {
			t.Errorf("New(%s) accepted it", raw)
		}
	}
}

// TestCapacityCounts: the ACEs of an ACL and the hardware entries they
// expand to, counted by hand for small(): zone_a's ACL has 12 entries,
// and each names groups of known sizes.
func TestCapacityCounts(t *testing.T) {
	d := newDriver(t, "")
	tg := small()
	tg.Model = "C9300-24T"
	cfg, err := d.Render(tg)
	if err != nil {
		t.Fatal(err)
	}
	cc := d.(drivers.CapacityChecker)
	if over := cc.CheckCapacity(tg, cfg); len(over) != 0 {
		t.Errorf("small() overflows: %v", over)
	}
	if got := modelLimits("C9300-24T"); got.tcamLimit == 0 || got.aceSource == "" || got.tcamSource == "" {
		t.Errorf("C9300 limits: %+v", got)
	}
	if got := modelLimits("WS-C4510R+E"); got.aceLimit != 2048 || got.tcamLimit != 0 {
		t.Errorf("Catalyst 4500 limits: %+v", got)
	}
	if got := modelLimits(""); got.aceLimit == 0 || got.aceSource == "" {
		t.Errorf("default limits: %+v", got)
	}
	big := overflow()
	cfg, err = d.Render(big)
	if err != nil {
		t.Fatal(err)
	}
	over := cc.CheckCapacity(big, cfg)
	if len(over) == 0 {
		t.Fatal("2,100 rules fit")
	}
	// zone_a's ACL: 2,100 rules of one entry each, plus small()'s own
	// entries in it (1 isolate permit, 2 isolate denies, 1 essential, 2
	// restrict denies, 1 echo-reply, 1 dns, 2 app, 1 monitor, 1 final).
	found := false
	for _, o := range over {
		if strings.Contains(o.Resource, "ward_zone_a-") {
			found = true
			if o.Need != 2100+12 || o.Limit != 2048 {
				t.Errorf("zone_a's ACL: %v, want need %d limit 2048", o, 2100+12)
			}
		}
	}
	if !found {
		t.Errorf("no overflow names zone_a's ACL: %v", over)
	}
	// Hardware entries: 100 hosts in zone a and 100 in zone b make the
	// one essential entry from a to b (and its reply) 10,000 each.
	wide := small()
	wide.Model = "C9300-48P"
	wide.Firewall.Sets[1].V4, wide.Firewall.Sets[2].V4 = nil, nil
	for i := range 100 {
		wide.Firewall.Sets[1].V4 = append(wide.Firewall.Sets[1].V4, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}), 32))
		wide.Firewall.Sets[2].V4 = append(wide.Firewall.Sets[2].V4, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 2, 0, byte(i + 1)}), 32))
	}
	cfg, err = d.Render(wide)
	if err != nil {
		t.Fatal(err)
	}
	over = cc.CheckCapacity(wide, cfg)
	if len(over) != 1 || !strings.Contains(over[0].Resource, "hardware") || over[0].Need < 20000 || over[0].Limit != 8000 {
		t.Errorf("100 x 100 hosts on a C9300: %v; want one hardware overflow of at least 20,000 entries", over)
	}
}
