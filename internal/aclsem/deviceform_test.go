package aclsem

import (
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers/ciscoiosxe/iosxefake"
	"github.com/wardnet/ward/drivers/juniperjunos/junosfake"
)

func configLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// TestHospitalDeviceForms: the rendered configuration, once the device
// holds it and prints it in its own form, still agrees with reach. IOS-XE
// prints sequence numbers on every entry and remark and port names ("eq
// www", "eq domain", "eq ntp"); Junos prints the brace form of show
// configuration. The device forms come from the repository's fakes
// (iosxefake, junosfake), which load the render through their grammar.
// EOS is not covered here: eosfake takes no initial configuration, and its
// running form prints the entries as rendered.
func TestHospitalDeviceForms(t *testing.T) {
	reg := registry()
	h := loadHospital(t, reg)
	forms := []struct {
		driver string
		parse  func(string) (*Filters, error)
		device func(rendered string) string
	}{
		{"cisco_iosxe", ParseIOS, func(r string) string {
			return iosxefake.Start(t, iosxefake.Options{Config: configLines(r)}).Running()
		}},
		{"juniper_junos", ParseJunos, func(r string) string {
			return junosfake.Start(t, junosfake.Options{Password: "unused", Running: configLines(r)}).RunningText()
		}},
	}
	for _, f := range forms {
		t.Run(f.driver, func(t *testing.T) {
			running := f.device(render(t, reg, h, f.driver))
			ck := compare(t, h, f.driver, f.parse, running)
			t.Logf("%s device form: %d packets checked", f.driver, ck.checks)
			if len(ck.rows) > 0 {
				t.Errorf("%s device form: %d of %d packets disagree with ward query reach:\n%s", f.driver, len(ck.rows), ck.checks, table(ck.rows))
			}
		})
	}
}
