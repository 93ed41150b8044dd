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
//   - which rule an entry came from: no entry names its flow or service,
//     so rules with the same source, destination, protocol and essential
//     mark come back as one, their ports merged (a rule for all ports
//     takes the others in) and ICMP types joined (likewise);
//   - the essential mark, without a restrict set (nothing on the switch
//     depends on it then);
//   - an ICMP rule whose source has no ACL is seen by its echo-replies
//     only: it comes back as a rule for echo-request;
//   - a UDP rule for all ports reads back as the rule of the zone whose
//     ACL holds the entry: its reply is the same entry as a rule for all
//     UDP ports the other way;
//   - the default action, when no zone has a VLAN (no ACL to end with it).
//
// Rules allowing echo-reply are not covered here (their entry reads as the
// reply of an echo rule when it can be one); carried refuses them.
// Port names are the canonical ones given in canon.
func carried(tb testing.TB, t *intent.Target, canon map[string]string) *intent.Target {
	tb.Helper()
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
		type key struct {
			from, to, proto string
			essential       bool
		}
		type merged struct {
			ports              []intent.Ports
			types              []string
			allPorts, allTypes bool
		}
		byKey := map[key]*merged{}
		add := func(k key, ports []intent.Ports, types []string) {
			m := byKey[k]
			if m == nil {
				m = &merged{}
				byKey[k] = m
			}
			m.allPorts = m.allPorts || len(ports) == 0
			m.allTypes = m.allTypes || len(types) == 0
			m.ports = append(m.ports, ports...)
			m.types = append(m.types, types...)
		}
		for _, r := range f.Rules {
			if r.Proto == "icmpv6" || len(sets[r.From].V4) == 0 || len(sets[r.To].V4) == 0 {
				continue
			}
			if slices.Contains(r.ICMPTypes, "echo-reply") {
				tb.Fatalf("carried does not model rules allowing echo-reply (%+v)", r)
			}
			merged, err := drivers.MergePorts(r.Ports)
			if err != nil {
				tb.Fatal(err)
			}
			if len(merged) == 1 && merged[0] == (intent.Ports{From: 0, To: 65535}) {
				merged = nil
			}
			k := key{r.From, r.To, r.Proto, r.Essential && f.Quarantine.RestrictSet != ""}
			echo := r.Proto == "icmp" && (len(r.ICMPTypes) == 0 || slices.Contains(r.ICMPTypes, "echo-request"))
			switch {
			case r.Proto == "udp" && merged == nil:
				if acl[r.From] {
					add(k, nil, nil)
				}
				if acl[r.To] {
					add(key{r.To, r.From, "udp", k.essential}, nil, nil)
				}
			case r.Proto == "icmp" && acl[r.From]:
				add(k, nil, r.ICMPTypes)
			case r.Proto == "icmp" && acl[r.To] && echo:
				add(k, nil, []string{"echo-request"})
			case r.Proto != "icmp" && (acl[r.From] || acl[r.To]):
				add(k, merged, nil)
			}
		}
		fw.Rules = nil
		for k, m := range byKey {
			r := intent.Rule{From: k.from, To: k.to, Proto: k.proto, Essential: k.essential}
			if k.proto != "icmp" && !m.allPorts {
				r.Ports, _ = drivers.MergePorts(m.ports)
			}
			if k.proto == "icmp" && !m.allTypes {
				r.ICMPTypes = m.types
			}
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

// forms is a firewall with what the entries' form alone must tell apart:
// rules merged (adjacent ports, all ports taking others in), replies of
// rules whose source has no ACL (a network, a zone without VLAN), UDP and
// ICMP for all, ICMP seen by its echo-replies only, an essential rule
// with no restrict set.
func forms() *intent.Target {
	p := func(a, b int) []intent.Ports { return []intent.Ports{{From: a, To: b}} }
	return &intent.Target{
		Name: "forms", Driver: driverName, Roles: []string{"firewall"},
		Firewall: &intent.Firewall{
			Sets: []intent.AddressSet{
				{Name: "zone_a", Kind: "zone", Of: "a", V4: prefixes("10.1.0.0/24")},
				{Name: "zone_b", Kind: "zone", Of: "b", V4: prefixes("10.2.0.0/24")},
				{Name: "zone_c", Kind: "zone", Of: "c", V4: prefixes("10.3.0.0/24")},
				{Name: "net_x", Kind: "network", Of: "x", V4: prefixes("192.0.2.0/24")},
			},
			Rules: []intent.Rule{
				{Flow: "f1", Service: "s1", From: "zone_a", To: "zone_b", Proto: "tcp", Ports: p(443, 443)},
				{Flow: "f2", Service: "s2", From: "zone_a", To: "zone_b", Proto: "tcp", Ports: p(444, 444)},
				{Flow: "f3", Service: "s3", From: "zone_b", To: "zone_a", Proto: "tcp", Ports: p(22, 22), Essential: true},
				{Flow: "f4", Service: "s4", From: "zone_b", To: "zone_a", Proto: "tcp"},
				{Flow: "f5", Service: "s5", From: "net_x", To: "zone_a", Proto: "udp"},
				{Flow: "f6", Service: "s6", From: "zone_a", To: "zone_b", Proto: "udp", Ports: p(0, 65535)},
				{Flow: "f7", Service: "s7", From: "net_x", To: "zone_b", Proto: "icmp", ICMPTypes: []string{"echo-request", "time-exceeded"}},
				{Flow: "f8", Service: "s8", From: "zone_b", To: "net_x", Proto: "icmp", ICMPTypes: []string{"time-exceeded", "destination-unreachable"}},
				{Flow: "f9", Service: "s9", From: "zone_a", To: "zone_a", Proto: "icmp"},
				{Flow: "f10", Service: "s10", From: "zone_a", To: "zone_a", Proto: "icmp", ICMPTypes: []string{"echo-request"}},
				{Flow: "f11", Service: "s11", From: "zone_c", To: "zone_a", Proto: "tcp", Ports: p(8080, 8080)},
				{Flow: "f12", Service: "s12", From: "zone_c", To: "zone_a", Proto: "udp", Ports: p(5000, 5010)},
			},
			DefaultAction: "drop",
			Quarantine:    intent.Quarantine{IsolateSet: "quarantine_isolate"},
			Zones: []intent.Zone{
				{Name: "a", VLAN: 10, Set: "zone_a"},
				{Name: "b", VLAN: 20, Set: "zone_b"},
			},
		},
	}
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
		{"forms", forms(), nil},
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
		again, err := Render(got)
		if err != nil || again != text {
			t.Errorf("%s: the model Parse read renders another configuration (%v):\n%s", c.name, err, drivertest.Diff(text, again))
		}
		want := carried(t, c.t, c.canon)
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
		"restrict removed":  {" deny ip object-group quarantine_restrict any log\n deny ip any object-group quarantine_restrict log\n permit icmp object-group zone_a-30ff382c", " permit icmp object-group zone_a-30ff382c", "is not what Ward writes"},
		"reply removed":     {" permit tcp object-group zone_b-c37c1b3a eq 8443 object-group zone_a-30ff382c established\n", "", "is not what Ward writes"},
		"made essential":    {" deny ip any object-group quarantine_restrict log\n permit icmp object-group zone_a-30ff382c object-group zone_b-c37c1b3a echo-reply\n", " permit icmp object-group zone_a-30ff382c object-group zone_b-c37c1b3a echo-reply\n deny ip any object-group quarantine_restrict log\n", "is not what Ward writes"},
		"other zone's rule": {" permit udp object-group zone_a-30ff382c object-group net_dns-14a6cdd0 eq 53\n", " permit udp object-group zone_b-c37c1b3a object-group net_dns-14a6cdd0 eq 53\n", "comes from zone_b"},
		"reply both ports":  {"eq 22 object-group zone_b-c37c1b3a established", "eq 22 object-group zone_b-c37c1b3a eq 22 established", "no destination port"},
		"remark":            {" permit ip object-group zone_b-c37c1b3a any log\n", " remark ward b\n permit ip object-group zone_b-c37c1b3a any log\n", "not a permit or deny entry"},
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
