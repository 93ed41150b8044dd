package aristaeos

import (
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
)

func TestRegister(t *testing.T) {
	var r drivers.Registry
	Register(&r)
	info, ok := r.Lookup(driverName)
	if !ok {
		t.Fatal("Register added no arista_eos")
	}
	if got := r.RolesByName()[driverName]; strings.Join(got, ",") != "access_switch,firewall" {
		t.Errorf("roles %v, want both", got)
	}
	if !strings.Contains(string(info.Platform), `"% Duplicate sequence number"`) {
		t.Error("the platform definition lacks EOS's duplicate sequence number failure")
	}
	var names []string
	for _, o := range info.Options {
		names = append(names, o.Name)
		if o.Check == nil || o.Doc == "" {
			t.Errorf("option %s has no Check or Doc", o.Name)
		}
	}
	if strings.Join(names, ",") != "commit_timer_minutes,session_prefix" {
		t.Errorf("options %v", names)
	}
	d, err := info.Open([]byte(`{"commit_timer_minutes":10,"session_prefix":"hosp"}`))
	if err != nil {
		t.Fatal(err)
	}
	if o := d.(*driver).opts; o.CommitTimerMinutes != 10 || !strings.HasPrefix(d.(*driver).sessionName(), "hosp-") {
		t.Errorf("options not taken: %+v", o)
	}
}
