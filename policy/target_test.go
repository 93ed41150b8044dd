package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestTargetRolesModelPush(t *testing.T) {
	cfg, diags := loadFixture(t, "testdata/valid-files/target-roles.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	core, branch := cfg.Targets["core"], cfg.Targets["branch"]
	if !slices.Equal(core.Roles, []string{"access_switch", "firewall"}) || core.Model != "C9300-48P" || core.RenderOnly {
		t.Errorf("core: roles %v model %q render only %v; want both roles sorted, C9300-48P, pushed by default", core.Roles, core.Model, core.RenderOnly)
	}
	if !slices.Equal(branch.Roles, []string{"access_switch"}) || !branch.RenderOnly {
		t.Errorf("branch: roles %v render only %v; want [access_switch], render only (push = false)", branch.Roles, branch.RenderOnly)
	}
}

// TestTargetDriverOptions: a driver's own attributes go to its decoder,
// whose diagnostics keep their place; credentials are refused before it
// sees them.
func TestTargetDriverOptions(t *testing.T) {
	var seen []string
	decode := func(attrs hcl.Attributes) (json.RawMessage, hcl.Diagnostics) {
		var diags hcl.Diagnostics
		for name, a := range attrs {
			seen = append(seen, name)
			if name == "bad" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad option", Subject: a.Expr.Range().Ptr()})
			}
		}
		return json.RawMessage(`{"bridge":"br-int"}`), diags
	}
	p := NewParser(WithDrivers(testDrivers), WithDriverOptions(map[string]OptionDecoder{"openvswitch": decode}))
	src := `target "sw" {
  driver   = "openvswitch"
  address  = "10.0.0.1"
  role     = "access_switch"
  bridge   = "br-int"
  password = "x"
  bad      = 1
}
`
	cfg, diags := p.Load(Source{Filename: "t.hcl", Bytes: []byte(src)})
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"bad", "bridge"}) {
		t.Errorf("the decoder saw %v; want bad and bridge (never the password)", seen)
	}
	var lines []string
	for _, d := range diags {
		lines = append(lines, d.Summary+"@"+strings.TrimPrefix(d.Subject.String(), "t.hcl:"))
	}
	slices.Sort(lines)
	want := []string{"Bad option@7,14-15", "Credentials do not belong in policy files@6,3-11"}
	if !slices.Equal(lines, want) {
		t.Errorf("diagnostics %v; want %v", lines, want)
	}
	if cfg == nil || string(cfg.Targets["sw"].Options) != `{"bridge":"br-int"}` {
		t.Errorf("options not kept from the decoder")
	}
}
