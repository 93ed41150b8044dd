package iosxefake

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// cli is a session on a fake without SSH, for grammar tests: run returns
// what the device prints for a line typed at the current prompt.
type cli struct {
	t *testing.T
	f *Fake
	s *session
}

func newCLI(t *testing.T, mode Mode, opts Options) *cli {
	f := Start(t, opts)
	return &cli{t: t, f: f, s: &session{f: f, mode: mode}}
}

func (c *cli) run(line string) string {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.s.promptLen = len(c.f.cfg.hostname + c.s.mode.Prompt())
	return c.s.run(line)
}

func (c *cli) mustRun(lines ...string) {
	c.t.Helper()
	for _, l := range lines {
		if out := c.run(l); out != "" && !strings.HasPrefix(out, "Enter configuration") {
			c.t.Fatalf("%q was rejected:\n%s", l, out)
		}
	}
}

func invalid(col int) string {
	return strings.Repeat(" ", col) + "^\n% Invalid input detected at '^' marker.\n\n"
}

// TestGrammarTable: lines each mode must accept or reject, with the exact
// text IOS prints, written from the CLI guide's error table and the
// command references cited in rules.go.
func TestGrammarTable(t *testing.T) {
	const cfg, acl, og = len("Switch(config)#"), len("Switch(config-ext-nacl)#"), len("Switch(config-network-group)#")
	cases := []struct {
		name  string
		mode  Mode
		setup []string // run first, in config mode
		line  string
		want  string // "" = accepted silently
		after Mode
	}{
		{"abbreviated configure terminal", ModePrivExec, nil, "conf t", "Enter configuration commands, one per line.  End with CNTL/Z.\n", ModeConfig},
		{"ambiguous e (enable, exit)", ModePrivExec, nil, "e", "% Ambiguous command:  \"e\"\n", ModePrivExec},
		{"configure in user EXEC", ModeUserExec, nil, "configure terminal", invalid(len("Switch>")), ModeUserExec},
		{"terminal length out of range", ModePrivExec, nil, "terminal length 513", invalid(len("Switch#terminal length ")), ModePrivExec},
		{"terminal length incomplete", ModePrivExec, nil, "terminal length", "% Incomplete command.\n\n", ModePrivExec},
		{"caret under the token as typed", ModeConfig, nil, "ip  access-list   extended WARD bogus", invalid(cfg + len("ip  access-list   extended WARD ")), ModeConfig},
		{"do with a bad EXEC command", ModeInterface, []string{"interface Vlan210"}, "do show runing", invalid(len("Switch(config-if)#do show ")), ModeInterface},
		{"do terminal length", ModeInterface, []string{"interface Vlan210"}, "do terminal length 0", "", ModeInterface},
		{"Gi abbreviation", ModeConfig, nil, "int gi1/0/7", "", ModeInterface},
		{"interface type and number apart", ModeConfig, nil, "interface GigabitEthernet 1/0/7", "", ModeInterface},
		{"new SVI", ModeConfig, nil, "interface vlan 300", "", ModeInterface},
		{"no such port", ModeConfig, nil, "interface Gi1/0/99", invalid(cfg + len("interface ")), ModeConfig},
		{"VLAN out of range", ModeConfig, nil, "interface Vlan5000", invalid(cfg + len("interface ")), ModeConfig},
		{"abbreviated ACL", ModeConfig, nil, "ip access-list ext WARD", "", ModeExtACL},
		{"ACL without a name", ModeConfig, nil, "ip access-list extended", "% Incomplete command.\n\n", ModeConfig},
		{"udp ports and wildcard", ModeExtACL, []string{"ip access-list extended A"}, "permit udp host 10.0.0.1 range 1000 2000 10.1.0.0 0.0.255.255 eq 53", "", ModeExtACL},
		{"numbered icmp echo log", ModeExtACL, []string{"ip access-list extended A"}, "15 deny icmp any any echo log", "", ModeExtACL},
		{"protocol number", ModeExtACL, []string{"ip access-list extended A"}, "permit 47 any any", "", ModeExtACL},
		{"established is tcp only", ModeExtACL, []string{"ip access-list extended A"}, "permit udp any any established", invalid(acl + len("permit udp any any ")), ModeExtACL},
		{"icmp has no ports", ModeExtACL, []string{"ip access-list extended A"}, "permit icmp any any eq 80", invalid(acl + len("permit icmp any any ")), ModeExtACL},
		{"port out of range", ModeExtACL, []string{"ip access-list extended A"}, "permit tcp any any eq 70000", invalid(acl + len("permit tcp any any eq ")), ModeExtACL},
		{"address without wildcard", ModeExtACL, []string{"ip access-list extended A"}, "permit ip 10.0.0.0 any", invalid(acl + len("permit ip 10.0.0.0 ")), ModeExtACL},
		{"entry without destination", ModeExtACL, []string{"ip access-list extended A"}, "permit tcp any", "% Incomplete command.\n\n", ModeExtACL},
		{"count is not IOS", ModeExtACL, []string{"ip access-list extended A"}, "permit ip any any count", invalid(acl + len("permit ip any any ")), ModeExtACL},
		{"global command leaves the sub-mode", ModeExtACL, []string{"ip access-list extended A"}, "interface Vlan210", "", ModeInterface},
		{"switchport on an SVI", ModeInterface, []string{"interface Vlan210"}, "switchport mode access", invalid(len("Switch(config-if)#")), ModeInterface},
		{"access vlan creates the VLAN", ModeInterface, []string{"interface Gi1/0/5"}, "switchport access vlan 210", "% Access VLAN does not exist. Creating vlan 210\n", ModeInterface},
		{"access vlan of an existing VLAN", ModeInterface, []string{"vlan 210", "interface Gi1/0/5"}, "switchport access vlan 210", "", ModeInterface},
		{"VLAN name", ModeVLAN, []string{"vlan 999"}, "name QUARANTINE", "", ModeVLAN},
		{"access vlan out of range", ModeInterface, []string{"interface Gi1/0/5"}, "switchport access vlan 4095", invalid(len("Switch(config-if)#switchport access vlan ")), ModeInterface},
		{"object-group subnet", ModeNetworkGroup, []string{"object-group network G"}, "10.0.0.0 255.255.255.0", "", ModeNetworkGroup},
		{"object-group takes a mask, not a wildcard", ModeNetworkGroup, []string{"object-group network G"}, "10.0.0.0 0.0.0.255", invalid(og + len("10.0.0.0 ")), ModeNetworkGroup},
		{"archive path", ModeArchive, []string{"archive"}, "path flash:ward", "", ModeArchive},
		{"end from a sub-mode", ModeArchive, []string{"archive"}, "end", "", ModePrivExec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := newCLI(t, ModeConfig, Options{})
			x.mustRun(c.setup...)
			if x.s.mode != c.mode {
				x.s.mode = c.mode
			}
			before := x.f.cfg.render()
			got := x.run(c.line)
			if got != c.want {
				t.Errorf("%q in %s:\ngot  %q\nwant %q", c.line, c.mode.Prompt(), got, c.want)
			}
			if x.s.mode != c.after {
				t.Errorf("%q: mode %s afterwards, want %s", c.line, x.s.mode.Prompt(), c.after.Prompt())
			}
			if strings.HasPrefix(c.want, "% ") && !strings.HasPrefix(c.want, "% Access VLAN") && x.f.cfg.render() != before {
				t.Errorf("rejected %q changed the configuration", c.line)
			}
		})
	}
}

// TestSequenceNumbers: entries without numbers go 10 after the last,
// numbered ones are inserted in order, a taken number is refused, and
// entries are removed by number or by content.
func TestSequenceNumbers(t *testing.T) {
	x := newCLI(t, ModeConfig, Options{})
	x.mustRun("ip access-list extended A", "permit tcp any any eq 22", "deny ip any any")
	x.mustRun("15 permit udp any any eq 53")
	if got := x.run("20 permit ip any any"); got != "% Duplicate sequence number\n" {
		t.Errorf("taken sequence number: %q", got)
	}
	want := "ip access-list extended A\n 10 permit tcp any any eq 22\n 15 permit udp any any eq domain\n 20 deny ip any any\n!"
	if !strings.Contains(x.f.cfg.render(), want) {
		t.Fatalf("got\n%s\nwant\n%s", x.f.cfg.render(), want)
	}
	x.mustRun("no 15", "no deny ip any any", "permit ip any any")
	want = "ip access-list extended A\n 10 permit tcp any any eq 22\n 20 permit ip any any\n!"
	if !strings.Contains(x.f.cfg.render(), want) {
		t.Fatalf("got\n%s\nwant\n%s", x.f.cfg.render(), want)
	}
}

// TestObjectGroupInUse: the Object Groups for ACLs guide's restriction —
// a group used in an ACL can be neither removed nor emptied.
func TestObjectGroupInUse(t *testing.T) {
	x := newCLI(t, ModeConfig, Options{})
	x.mustRun("object-group network G", "host 10.0.0.1", "ip access-list extended A", "permit ip object-group G any")
	x.s.mode = ModeConfig
	before := x.f.cfg.render()
	if out := x.run("no object-group network G"); !strings.HasPrefix(out, "% ") {
		t.Errorf("removing a group in use: %q", out)
	}
	x.mustRun("object-group network G")
	if out := x.run("no host 10.0.0.1"); !strings.HasPrefix(out, "% ") {
		t.Errorf("emptying a group in use: %q", out)
	}
	if x.f.cfg.render() != before {
		t.Errorf("a refused change changed the configuration")
	}
	x.mustRun("ip access-list extended A", "no permit ip object-group G any", "no object-group network G")
	if strings.Contains(x.f.cfg.render(), "object-group network G") {
		t.Errorf("an unused group was not removed")
	}
}

// TestGrammarCitesDocuments: every rule compiles and names a vendor
// document by URL.
func TestGrammarCitesDocuments(t *testing.T) {
	for _, r := range Grammar() {
		compilePattern(r.Pattern)
		if !strings.Contains(r.Doc, "http") {
			t.Errorf("%s %q cites no document", r.Mode.Prompt(), r.Pattern)
		}
	}
}

// TestPortNames: ports read back as IOS-XE prints them — by name where IOS
// has one for that protocol (the Catalyst 9300 capture cited in ports.go:
// eq www, eq domain, eq bootps; eq 443 stays a number) — and a name is
// accepted only for its own protocol.
func TestPortNames(t *testing.T) {
	x := newCLI(t, ModeConfig, Options{})
	x.mustRun("ip access-list extended A",
		"permit tcp any any eq 80",
		"permit tcp any any eq 443",
		"permit udp any any eq 53",
		"permit udp any eq 67 any",
		"permit tcp any range 20 21 any",
	)
	want := "ip access-list extended A\n" +
		" 10 permit tcp any any eq www\n" +
		" 20 permit tcp any any eq 443\n" +
		" 30 permit udp any any eq domain\n" +
		" 40 permit udp any eq bootps any\n" +
		" 50 permit tcp any range ftp-data ftp any\n!"
	if !strings.Contains(x.f.cfg.render(), want) {
		t.Fatalf("got\n%s\nwant\n%s", x.f.cfg.render(), want)
	}
	const acl = len("Switch(config-ext-nacl)#")
	if got := x.run("permit tcp any any eq bootps"); got != invalid(acl+len("permit tcp any any eq ")) {
		t.Errorf("a UDP port name on tcp: %q", got)
	}
	x.mustRun("no permit tcp any any eq www", "no permit udp any any eq 53")
	if strings.Contains(x.f.cfg.render(), "www") || strings.Contains(x.f.cfg.render(), "eq domain") {
		t.Errorf("entries not removed by either spelling:\n%s", x.f.cfg.render())
	}
}

// TestSubModeAfterRevert: a session still in the sub-mode of an ACL that a
// revert timer took away carries on from global configuration instead of
// configuring (or resurrecting) the vanished ACL.
func TestSubModeAfterRevert(t *testing.T) {
	x := newCLI(t, ModeConfig, Options{Config: []string{"archive", "path flash:ward"}, Minute: 50 * time.Millisecond})
	x.s.mode = ModePrivExec
	x.mustRun("configure terminal revert timer 1", "ip access-list extended NEW", "permit ip any any")
	deadline := time.Now().Add(3 * time.Second)
	for x.f.RevertPending() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// The caret aligns with the prompt the line was typed after.
	if got := x.run("deny ip any any"); got != invalid(len("Switch(config-ext-nacl)#")) {
		t.Errorf("an entry for a reverted ACL: %q", got)
	}
	if strings.Contains(x.f.cfg.render(), "NEW") {
		t.Errorf("the reverted ACL came back:\n%s", x.f.cfg.render())
	}
}

func ExampleGrammar() {
	for _, r := range Grammar() {
		if r.Mode == ModeNetworkGroup && !strings.HasPrefix(r.Pattern, "do ") {
			fmt.Printf("Switch%s %s\n", r.Mode.Prompt(), r.Pattern)
		}
	}
	// Output:
	// Switch(config-network-group)# end
	// Switch(config-network-group)# exit
	// Switch(config-network-group)# host <ipv4>
	// Switch(config-network-group)# <ipv4> <ipv4>
	// Switch(config-network-group)# no host <ipv4>
	// Switch(config-network-group)# no <ipv4> <ipv4>
	// Switch(config-network-group)# description <line>
	// Switch(config-network-group)# no description
}

// TestVLANs: VLANs kept in the running configuration as in VTP transparent
// mode, created by switchport access vlan when missing, named, removed;
// VLAN 1 is always there and cannot be removed.
func TestVLANs(t *testing.T) {
	x := newCLI(t, ModeConfig, Options{})
	x.mustRun("vlan 999", "name QUARANTINE", "exit", "vlan 20", "exit")
	if out := x.run("no vlan 1"); !strings.HasPrefix(out, "%") {
		t.Errorf("no vlan 1: %q", out)
	}
	x.mustRun("interface Gi1/0/5")
	x.run("switchport access vlan 210")
	x.mustRun("exit", "no vlan 20")
	want := "vtp mode transparent\n!\nvlan 210\n!\nvlan 999\n name QUARANTINE\n!\n"
	if !strings.Contains(x.f.cfg.render(), want) {
		t.Errorf("got\n%s\nwant\n%s", x.f.cfg.render(), want)
	}
}

// TestShowAccessLists: show access-lists in the layout a Catalyst 9300
// prints (the capture cited in ports.go): a header per list, then each
// entry indented four spaces with its sequence number; run here through do
// from interface configuration.
func TestShowAccessLists(t *testing.T) {
	x := newCLI(t, ModeConfig, Options{})
	x.mustRun("ip access-list extended B", "permit tcp any any eq 443", "deny ip any any",
		"ip access-list extended C", "permit udp any any eq 53", "interface Vlan210")
	want := "Extended IP access list B\n    10 permit tcp any any eq 443\n    20 deny ip any any\n"
	if got := x.run("do show access-lists B"); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	want += "Extended IP access list C\n    10 permit udp any any eq domain\n"
	if got := x.run("do show access-lists"); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if x.s.mode != ModeInterface {
		t.Errorf("do left interface configuration")
	}
}
