package nftables

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// TestParseRoundTrip: what Render writes parses back to the model it
// was rendered from (by what a device enforces), for the hospital and the
// permissive intents.
func TestParseRoundTrip(t *testing.T) {
	d := New(Options{})
	for name, tg := range map[string]*intent.Target{"hospital": hospital(), "permissive": permissive()} {
		cfg, err := d.Render(tg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Parse(cfg)
		if err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		// nft prints one name per ICMP type number: an alias the intent
		// used comes back as nft's name for it.
		for i, r := range tg.Firewall.Rules {
			for j, ty := range r.ICMPTypes {
				if ty == "mld-listener-reduction" {
					tg.Firewall.Rules[i].ICMPTypes[j] = "mld-listener-done"
				}
			}
		}
		if !intent.SameEnforcement(got, tg) {
			a, _ := json.MarshalIndent(tg.Enforced(), "", " ")
			b, _ := json.MarshalIndent(got.Enforced(), "", " ")
			t.Errorf("%s: Parse(Render(t)) does not enforce what t does\nwant %s\ngot  %s", name, a, b)
		}
	}
}

// TestParseRefusesForeignLines: a rule Render never writes is an error,
// not skipped, so a table changed by hand is drift, not a quiet match.
func TestParseRefusesForeignLines(t *testing.T) {
	d := New(Options{})
	cfg := mustRender(t, d, hospital())
	for _, edit := range []struct{ old, new string }{
		{"ct state invalid drop\n", "ct state invalid drop\n\t\tip saddr 10.0.0.1 accept\n"},
		{"policy drop;", "policy reject;"},
		{"set zone_guest_v4 {", "set zone_guest {"},
	} {
		text := strings.Replace(cfg.Text, edit.old, edit.new, 1)
		if text == cfg.Text {
			t.Fatalf("edit %q did not apply", edit.old)
		}
		if _, err := d.Parse(drivers.Config{Text: text}); err == nil {
			t.Errorf("Parse accepted a table edited with %q", edit.new)
		}
	}
	if m, err := d.Parse(drivers.Config{}); err != nil || m.Firewall != nil {
		t.Errorf("Parse of no table: %v, %+v; want an empty model", err, m)
	}
}
