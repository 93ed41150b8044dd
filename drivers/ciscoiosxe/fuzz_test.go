package ciscoiosxe

import (
	"os"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// FuzzParse: Parse never panics on any text, and a model it accepts, if
// it renders, parses back to the same enforcement.
func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile("testdata/hospital.golden")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(golden))
	f.Add("")
	var r drivers.Registry
	Register(&r)
	info, _ := r.Lookup(driverName)
	d, err := info.Open(nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, tg := range []*intent.Target{small(), smallSwitch(), forms()} {
		if cfg, err := d.Render(tg); err == nil {
			f.Add(cfg.Text)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		m, err := d.Parse(drivers.Config{Text: text})
		if err != nil {
			return
		}
		cfg, err := d.Render(m)
		if err != nil {
			return
		}
		again, err := d.Parse(cfg)
		if err != nil {
			t.Fatalf("Parse accepted a configuration whose model renders to one it refuses: %v\ninput:\n%s\nrendered:\n%s", err, text, cfg.Text)
		}
		if !intent.SameEnforcement(m, again) {
			t.Fatalf("a parsed model does not survive Render and Parse\ninput:\n%s\nrendered:\n%s", text, cfg.Text)
		}
	})
}
