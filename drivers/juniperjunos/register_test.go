package juniperjunos

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

func TestRegister(t *testing.T) {
	var r drivers.Registry
	Register(&r)
	info, ok := r.Lookup("juniper_junos")
	if !ok {
		t.Fatal("juniper_junos is not registered")
	}
	if !slices.Contains(info.Roles, drivers.RoleFirewall) || !slices.Contains(info.Roles, drivers.RoleAccessSwitch) {
		t.Errorf("roles %v; want firewall and access_switch", info.Roles)
	}
	if !strings.Contains(string(info.Platform), "'configuration check-out failed'") || !strings.Contains(string(info.Platform), "platform-type: 'juniper_junos'") {
		t.Error("the platform definition lacks scrapligo's juniper_junos or Ward's failure patterns")
	}
	if _, err := info.Open(json.RawMessage(`{"commit_confirm_minutes": 7}`)); err != nil {
		t.Errorf("Open with options: %v", err)
	}
	for _, bad := range []string{`{"commit_confirm_minutes": 70000}`, `{"commit_confirm_minutes": "5"}`, `{"commit_confirm_minutes": -1}`} {
		if _, err := info.Open(json.RawMessage(bad)); err == nil {
			t.Errorf("Open(%s) succeeded", bad)
		}
	}
	check := info.Options[0].Check
	if check(0) == nil || check(65536) == nil || check(1) != nil || check(65535) != nil {
		t.Error("commit_confirm_minutes must take 1 to 65535 (the commit confirmed range)")
	}
}

func TestCapacityByModel(t *testing.T) {
	d := newDriver(t, "").(drivers.CapacityChecker)
	big := overflow()
	cfg, err := newDriver(t, "").Render(big)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		model string
		limit int // 0: fits
	}{
		{"EX2300-48P", 512}, {"ex2200-24t", 512}, {"EX4200-48T", 0}, {"EX8208", 0}, {"", 512}, {"QFX5120", 512},
	} {
		tg := *big
		tg.Model = c.model
		over := d.CheckCapacity(&tg, cfg)
		switch {
		case c.limit == 0 && len(over) > 0:
			t.Errorf("model %q: overflows %v; want none", c.model, over)
		case c.limit > 0 && (len(over) != 1 || over[0].Limit != c.limit || over[0].Source == "" || over[0].Need <= c.limit):
			t.Errorf("model %q: %v; want one overflow of the %d-term limit with its source", c.model, over, c.limit)
		}
	}
	if over := d.CheckCapacity(&intent.Target{Model: "EX2300"}, cfg); len(over) == 0 || !strings.Contains(over[0].Resource, "ward_zone_a") {
		t.Errorf("the overflow does not name the filter: %v", over)
	}
}
