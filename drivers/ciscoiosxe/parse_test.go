package ciscoiosxe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/intent"
)

// carried is t as far as IOS-XE configuration can say it, computed from
// the intent alone (not by Render or Parse): what Parse(Render(t)) must
// enforce. The syntax cannot carry, by design:
//   - a rule naming an empty set (it matches nothing, and IOS refuses an
//     ACE on an empty object-group in use): left out;
//   - an icmpv6 rule (IPv4 ACLs only; an IPv6 member is refused);
//   - a rule none of whose entries lands in an ACL: its source is not a
//     zone with a VLAN, and it has no replies in a zone ACL either (its
//     destination is not a zone with a VLAN, or it is ICMP without echo);
//   - port ranges as written: they come back merged (the same ports);
//   - the default action, when no zone has a VLAN (no ACL to end with it).
//
// Port names are the canonical ones given in canon.
func carried(t *intent.Target, canon map[string]string) *intent.Target {
	out := *t
	if f := t.Firewall; f != nil {
		fw := *f
		sets := map[string]intent.AddressSet{}
		for _, s := range f.Sets {
			sets[s.Name] = s
		}
		acl := map[string]bool{}
		for _, z := range f.Zones {
			if z.Set != "" {
				acl[z.Set] = true
			}
		}
		fw.Rules = nil
		for _, r := range f.Rules {
			if r.Proto == "icmpv6" || len(sets[r.From].V4) == 0 || len(sets[r.To].V4) == 0 {
				continue
			}
			replies := r.Proto != "icmp" || len(r.ICMPTypes) == 0 || slices.Contains(r.ICMPTypes, "echo-request")
			if !acl[r.From] && !(acl[r.To] && replies) {
				continue
			}
			merged, err := drivers.MergePorts(r.Ports)
			if err != nil {
				panic(err)
			}
			if len(merged) == 1 && merged[0] == (intent.Ports{From: 0, To: 65535}) {
				merged = nil
			}
			r.Ports = merged
			fw.Rules = append(fw.Rules, r)
		}
		if len(f.Zones) == 0 {
			fw.DefaultAction = "drop"
		}
		out.Firewall = &fw
	}
	if s := t.Switch; s != nil {
		sw := *s
		sw.Ports = nil
		for _, p := range s.Ports {
			p.Port = canon[p.Port]
			sw.Ports = append(sw.Ports, p)
		}
		out.Switch = &sw
	}
	return &out
}

// smallCanon is smallSwitch's port names as IOS shows them.
var smallCanon = map[string]string{
	"Gi1/0/10": "GigabitEthernet1/0/10", "gi1/0/2": "GigabitEthernet1/0/2",
	"TenGigabitEthernet1/1/1": "TenGigabitEthernet1/1/1", "Gi2/0/1": "GigabitEthernet2/0/1",
}

func both() *intent.Target {
	t := small()
	t.Roles = []string{intent.RoleAccessSwitch, intent.RoleFirewall}
	t.Switch = smallSwitch().Switch
	return t
}

// hospitalL3 is the example hospital's core firewall intent, given to an
// IOS-XE L3 switch that also holds the 3 West access ports (a target with
// both roles).
func hospitalL3(t *testing.T) *intent.Target {
	t.Helper()
	in := hospital(t)
	fw, sw := in.Targets["core-fw"], in.Targets["access-3w"]
	if fw == nil || fw.Firewall == nil || sw == nil || sw.Switch == nil {
		t.Fatal("the example hospital has no core-fw firewall or access-3w switch")
	}
	if len(fw.Firewall.Zones) == 0 || len(sw.Switch.Ports) == 0 {
		t.Fatalf("the example hospital has %d zone VLANs and %d access-3w ports", len(fw.Firewall.Zones), len(sw.Switch.Ports))
	}
	out := *fw
	out.Name, out.Driver, out.Model = "core-3w", driverName, "C9300-48P"
	out.Roles = []string{intent.RoleAccessSwitch, intent.RoleFirewall}
	out.Switch = sw.Switch
	return &out
}

func hospitalCanon(t *testing.T, tg *intent.Target) map[string]string {
	canon := map[string]string{}
	for _, p := range tg.Switch.Ports {
		full, _, err := canonicalInterface(p.Port)
		if err != nil {
			t.Fatal(err)
		}
		canon[p.Port] = full
	}
	return canon
}

// TestParseRender: Parse(Render(t)) enforces what t does, as far as the
// syntax carries it (carried), for small intents and the example hospital.
func TestParseRender(t *testing.T) {
	h := hospitalL3(t)
	for _, c := range []struct {
		name  string
		t     *intent.Target
		canon map[string]string
	}{
		{"firewall", small(), nil},
		{"switch", smallSwitch(), smallCanon},
		{"both", both(), smallCanon},
		{"hospital", h, hospitalCanon(t, h)},
	} {
		text, err := Render(c.t)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := Parse(text)
		if err != nil {
			t.Fatalf("%s: Parse: %v\n%s", c.name, err, text)
		}
		want := carried(c.t, c.canon)
		if !intent.SameEnforcement(got, want) {
			g, _ := json.MarshalIndent(got.Enforced(), "", " ")
			w, _ := json.MarshalIndent(want.Enforced(), "", " ")
			t.Errorf("%s: Parse(Render(t)) enforces something else than t:\n%s", c.name, drivertest.Diff(string(w), string(g)))
		}
		if c.name == "hospital" && len(want.Firewall.Rules) < len(c.t.Firewall.Rules)/2 {
			t.Errorf("hospital: only %d of %d rules are carried", len(want.Firewall.Rules), len(c.t.Firewall.Rules))
		}
	}
}

// TestHospitalGolden: the example hospital's L3 switch, rendered.
func TestHospitalGolden(t *testing.T) {
	text, err := Render(hospitalL3(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "hospital.golden")
	if *update {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if text != string(want) {
		t.Errorf("Render of the hospital differs from testdata/hospital.golden (-golden +render):\n%s", drivertest.Diff(string(want), text))
	}
}

// TestParseDeviceForms: the running configuration's own forms parse to the
// same model as Render's: sequence numbers, IOS's port names, a host
// written with a /32 mask, the order IOS prints interface lines in, "!"
// between sections.
func TestParseDeviceForms(t *testing.T) {
	text, err := Render(both())
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	device := strings.NewReplacer(
		" host 10.1.1.5\n", " 10.1.1.5 255.255.255.255\n",
		"eq 53\n", "eq domain\n",
		" switchport mode access\n switchport access vlan 10\n", " switchport access vlan 10\n switchport mode access\n!\n",
	).Replace(text)
	var b strings.Builder
	seq := 0
	for _, l := range strings.Split(device, "\n") {
		if strings.HasPrefix(l, " permit") || strings.HasPrefix(l, " deny") || strings.HasPrefix(l, " remark") {
			seq += 10
			l = " " + strconv.Itoa(seq) + l
		} else if !strings.HasPrefix(l, " ") {
			seq = 0
		}
		b.WriteString(l + "\n")
	}
	if b.String() == text {
		t.Fatal("the device forms changed nothing")
	}
	got, err := Parse(b.String())
	if err != nil {
		t.Fatalf("Parse of the device's forms: %v\n%s", err, b.String())
	}
	if !intent.SameEnforcement(got, want) {
		t.Errorf("the device's forms parse to another model:\n%s", b.String())
	}
}

// TestParseRefuses: what Ward does not write, in the part it manages, is
// an error, and an ACL that no longer enforces what its rules say (an
// entry removed, moved or added on the switch) is one too.
func TestParseRefuses(t *testing.T) {
	text, err := Render(small())
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ old, new, want string }{
		"unknown line":      {"interface Vlan20\n", "username x privilege 15\ninterface Vlan20\n", "not a configuration line Ward writes"},
		"shell":             {"interface Vlan20\n", "; touch /tmp/x\ninterface Vlan20\n", "not a configuration line"},
		"restrict removed":  {" deny ip object-group quarantine_restrict any log\n deny ip any object-group quarantine_restrict log\n remark ward #2 reply normal flow a_to_b", " remark ward #2 reply normal flow a_to_b", "is not what Ward writes"},
		"rule widened":      {"eq 8443 object-group zone_a-30ff382c established", "object-group zone_a-30ff382c established", "is not what Ward writes"},
		"host entry":        {" permit icmp object-group zone_b-c37c1b3a object-group zone_a-30ff382c echo\n", " permit icmp host 10.2.0.1 object-group zone_a-30ff382c echo\n", "any or an object-group"},
		"final permit":      {" permit ip object-group zone_b-c37c1b3a any log\n deny ip any any log\n", " permit ip object-group zone_b-c37c1b3a any log\n permit ip any any\n", ""},
		"group description": {" description ward zone a\n", " description pumps\n", "description"},
		"unbound interface": {" ip access-group ACLB in\n", " ip access-group other in\n", "not a line Ward writes"},
		"missing ACL":       {"ip access-list extended ACLB\n", "ip access-list extended ward_zone_b-00000000\n", "bound but not configured"},
	} {
		aclB := regexp.MustCompile(`ward_zone_b-[0-9a-f]{8}`).FindString(text)
		c.old = strings.ReplaceAll(c.old, "ACLB", aclB)
		if !strings.Contains(text, c.old) {
			t.Fatalf("%s: the rendered text has no %q", name, c.old)
		}
		bad := strings.Replace(text, c.old, c.new, 1)
		_, err := Parse(bad)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Parse err = %v, want one containing %q", name, err, c.want)
		}
	}
}
