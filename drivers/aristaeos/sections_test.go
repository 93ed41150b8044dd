package aristaeos

import (
	"slices"
	"testing"
)

// TestZoneSections: in a zone ACL an isolated address reaches only the
// remediation set (both ways) before any rule; a restricted one keeps the
// essential rules (before its denies) and loses the others (after them).
func TestZoneSections(t *testing.T) {
	q := &quarantine{isolate: prefixes("10.2.0.77/32"), restrict: prefixes("10.1.0.5/32")}
	st, err := build(small(), q)
	if err != nil {
		t.Fatal(err)
	}
	acl := st.acls[prefixZone+"zone_a"]
	at := func(text string) int {
		i := slices.IndexFunc(acl, func(e entry) bool { return e.text == text })
		if i < 0 {
			t.Fatalf("ACL %s lacks %q: %v", prefixZone+"zone_a", text, acl)
		}
		return i
	}
	toRemedy, fromRemedy := at("permit ip host 10.2.0.77 192.0.2.0/28"), at("permit ip 192.0.2.0/28 host 10.2.0.77")
	isoFrom, isoTo := at("deny ip host 10.2.0.77 any log"), at("deny ip any host 10.2.0.77 log")
	essential := at("permit tcp 10.1.0.0/24 10.2.0.0/16 eq 443")
	resFrom, resTo := at("deny ip host 10.1.0.5 any log"), at("deny ip any host 10.1.0.5 log")
	other := at("permit tcp 10.1.0.0/24 10.2.0.0/16 eq 80")
	final := at("deny ip any any log")
	if !(toRemedy < isoFrom && fromRemedy < isoFrom && isoFrom < essential && isoTo < essential &&
		essential < resFrom && resTo < other && other < final && final == len(acl)-1) {
		t.Errorf("zone ACL order wrong: %v", acl)
	}
	// Every zone ACL carries the quarantine entries: traffic to an
	// isolated device enters from other zones.
	for _, name := range []string{prefixZone + "zone_b", prefixVLAN + "30"} {
		if !slices.ContainsFunc(st.acls[name], func(e entry) bool { return e.text == "deny ip any host 10.2.0.77 log" }) {
			t.Errorf("ACL %s lacks the isolate deny", name)
		}
	}
	if got := withoutQuarantine(st).format(); got != mustRender(t, newDriver(t), small()).Text {
		t.Errorf("withoutQuarantine(build(t, q)) is not Render(t)")
	}
}
