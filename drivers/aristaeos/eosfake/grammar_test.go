package eosfake

import (
	"bytes"
	"strings"
	"testing"
)

// testShell is a CLI without SSH: the grammar and state, and what it prints.
func testShell() (*shell, *bytes.Buffer) {
	f := &Fake{opts: Options{Hostname: "switch", Ports: 8, Clock: &ManualClock{}}, sessions: map[string]*session{}}
	f.running = newConfig("switch", 8)
	f.startup = f.running.clone()
	out := &bytes.Buffer{}
	return &shell{f: f, w: out, mode: ModePriv}, out
}

func TestEveryRuleCitesADocument(t *testing.T) {
	for _, r := range Grammar() {
		if !strings.Contains(r.Doc, "https://") {
			t.Errorf("rule %q cites no document: %q", strings.Join(r.Words, " "), r.Doc)
		}
	}
}

func TestGrammar(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  []string // run first, from privileged EXEC; each must be accepted
		line   string
		err    string // the error text printed, "" when accepted
		prompt string // the prompt after the line, when checked
		shows  string // a line the running configuration then shows
		hides  string // a line it then no longer shows
	}{
		// Modes and abbreviation.
		{name: "conf t", line: "conf t", prompt: "switch(config)#"},
		{name: "configure alone", line: "configure", prompt: "switch(config)#"},
		{name: "ambiguous c", line: "c", err: ErrAmbiguous},
		{name: "disable", line: "disable", prompt: "switch>"},
		{name: "show run abbreviated", line: "sh run"},
		{name: "show alone", line: "show", err: ErrIncomplete},
		{name: "unknown word", line: "duplex full", err: ErrInvalid},
		{name: "trailing garbage", line: "show running-config now", err: ErrInvalid},
		{name: "commit outside a session", line: "commit", err: ErrInvalid},
		{name: "session without name", line: "configure session", err: ErrIncomplete},
		{name: "session prompt", line: "configure session ward-1", prompt: "switch(config-s-ward-1)#"},
		{name: "session sub-mode prompt", setup: []string{"configure session w"}, line: "interface Et5", prompt: "switch(config-s-w-if-Et5)#"},
		{name: "commit timer leaves the session", setup: []string{"configure session w", "vlan 9"}, line: "commit timer 1:00:00", prompt: "switch#", shows: "vlan 9"},
		{name: "commit leaves the session", setup: []string{"configure session w", "vlan 9"}, line: "commit", prompt: "switch#", shows: "vlan 9"},
		{name: "commit timer alone", setup: []string{"configure session w"}, line: "commit timer", err: ErrIncomplete},
		{name: "commit timer seconds only", setup: []string{"configure session w"}, line: "commit timer 300", err: ErrInvalid},
		{name: "commit timer 60 minutes", setup: []string{"configure session w"}, line: "commit timer 00:60:00", err: ErrInvalid},
		{name: "rollback clean-config", setup: []string{"configure session w"}, line: "rollback clean-config", prompt: "switch(config-s-w)#"},
		{name: "end leaves a session pending", setup: []string{"configure session w", "vlan 9"}, line: "end", prompt: "switch#"},

		// ICMP message types and port descriptions.
		{name: "icmp echo-reply", setup: []string{"configure", "ip access-list A"}, line: "permit icmp any host 10.0.0.1 echo-reply log", shows: "   10 permit icmp any host 10.0.0.1 echo-reply log"},
		{name: "icmp unknown type", setup: []string{"configure", "ip access-list A"}, line: "permit icmp any any echo-requests", err: ErrInvalid},
		{name: "type on tcp", setup: []string{"configure", "ip access-list A"}, line: "permit tcp any any echo", err: ErrInvalid},
		{name: "description", setup: []string{"configure", "interface Et3"}, line: "description ward  home-vlan 210", shows: "   description ward home-vlan 210"},
		{name: "no description", setup: []string{"configure", "interface Et3", "description x y"}, line: "no description", hides: "   description x y"},

		// Interfaces.
		{name: "Et5", setup: []string{"configure"}, line: "interface Et5", prompt: "switch(config-if-Et5)#"},
		{name: "ethernet 5, two tokens", setup: []string{"configure"}, line: "interface ethernet 5", prompt: "switch(config-if-Et5)#"},
		{name: "int e2", setup: []string{"configure"}, line: "int e2", prompt: "switch(config-if-Et2)#"},
		{name: "int v2", setup: []string{"configure"}, line: "int v2", err: ErrAmbiguous},
		{name: "int vl210", setup: []string{"configure"}, line: "int vl210", prompt: "switch(config-if-Vl210)#", shows: "interface Vlan210"},
		{name: "no such port", setup: []string{"configure"}, line: "interface Ethernet9", err: ErrInvalid},
		{name: "no loopbacks here", setup: []string{"configure"}, line: "interface Loopback1", err: ErrInvalid},
		{name: "interface alone", setup: []string{"configure"}, line: "interface", err: ErrIncomplete},
		{name: "access vlan", setup: []string{"configure", "interface Ethernet3"}, line: "switchport access vlan 210", shows: "interface Ethernet3\n   switchport access vlan 210\n!"},
		{name: "access vlan abbreviated", setup: []string{"configure", "interface Ethernet3"}, line: "sw acc vl 210", shows: "   switchport access vlan 210"},
		{name: "access vlan on an SVI", setup: []string{"configure", "interface Vlan10"}, line: "switchport access vlan 10", err: ErrInvalid},
		{name: "vlan 4095", setup: []string{"configure", "interface Ethernet3"}, line: "switchport access vlan 4095", err: ErrInvalid},
		{name: "no access vlan", setup: []string{"configure", "interface Ethernet3", "switchport access vlan 210"}, line: "no switchport access vlan", shows: "interface Ethernet3\n!"},
		{name: "svi address", setup: []string{"configure", "interface Vlan10"}, line: "ip address 10.61.10.1/24", shows: "   ip address 10.61.10.1/24"},
		{name: "address on a switchport", setup: []string{"configure", "interface Ethernet1"}, line: "ip address 10.61.10.1/24", err: ErrInvalid},
		{name: "access-group in", setup: []string{"configure", "interface Vlan10"}, line: "ip access-group Z in", shows: "interface Vlan10\n   ip access-group Z in\n!"},
		{name: "access-group out", setup: []string{"configure", "interface Vlan10"}, line: "ip access-group Z out", err: ErrInvalid},
		{name: "access-group without direction", setup: []string{"configure", "interface Vlan10"}, line: "ip access-group Z", err: ErrIncomplete},
		{name: "no access-group", setup: []string{"configure", "interface Vlan10", "ip access-group Z in"}, line: "no ip access-group Z in", shows: "interface Vlan10\n!"},
		{name: "vlan name", setup: []string{"configure", "vlan 210"}, line: "name pumps", shows: "vlan 210\n   name pumps\n!"},
		{name: "vlan alone", setup: []string{"configure"}, line: "vlan", err: ErrIncomplete},
		{name: "vlan 0", setup: []string{"configure"}, line: "vlan 0", err: ErrInvalid},

		// Access lists.
		{name: "acl prompt", setup: []string{"configure"}, line: "ip access-list Z-IN", prompt: "switch(config-acl-Z-IN)#"},
		{name: "acl alone", setup: []string{"configure"}, line: "ip access-list", err: ErrIncomplete},
		{name: "tcp ports both sides, log", setup: []string{"configure", "ip access-list A"}, line: "10 permit tcp 10.0.0.0/8 eq 1024 host 1.2.3.4 eq 443 log", shows: "   10 permit tcp 10.0.0.0/8 eq 1024 host 1.2.3.4 eq 443 log"},
		{name: "several ports", setup: []string{"configure", "ip access-list A"}, line: "permit tcp any any eq 104 11112", shows: "   10 permit tcp any any eq 104 11112"},
		{name: "range, prefix masked", setup: []string{"configure", "ip access-list A"}, line: "permit udp any range 1000 2000 10.1.2.3/24", shows: "   10 permit udp any range 1000 2000 10.1.2.0/24"},
		{name: "established", setup: []string{"configure", "ip access-list A"}, line: "permit tcp any 10.61.0.0/16 established", shows: "   10 permit tcp any 10.61.0.0/16 established"},
		{name: "protocol number", setup: []string{"configure", "ip access-list A"}, line: "deny 17 any any", shows: "   10 deny 17 any any"},
		{name: "abbreviations spelled out", setup: []string{"configure", "ip access-list A"}, line: "perm icmp any any", shows: "   10 permit icmp any any"},
		{name: "next sequence number", setup: []string{"configure", "ip access-list A", "15 deny ip any any"}, line: "permit ip any any", shows: "   15 deny ip any any\n   25 permit ip any any"},
		{name: "inserted by sequence", setup: []string{"configure", "ip access-list A", "10 deny ip any any", "30 deny ip any any"}, line: "20 permit ip host 1.1.1.1 any", shows: "   10 deny ip any any\n   20 permit ip host 1.1.1.1 any\n   30 deny ip any any"},
		{name: "no seq", setup: []string{"configure", "ip access-list A", "10 deny ip any any", "20 permit ip any any"}, line: "no 10", shows: "ip access-list A\n   20 permit ip any any\n!"},
		{name: "duplicate seq", setup: []string{"configure", "ip access-list A", "10 deny ip any any"}, line: "10 permit ip any any", err: "% Duplicate sequence number"},
		{name: "ports missing", setup: []string{"configure", "ip access-list A"}, line: "permit tcp any any eq", err: ErrIncomplete},
		{name: "destination missing", setup: []string{"configure", "ip access-list A"}, line: "permit tcp any", err: ErrIncomplete},
		{name: "host without address", setup: []string{"configure", "ip access-list A"}, line: "permit tcp any host", err: ErrIncomplete},
		{name: "host any", setup: []string{"configure", "ip access-list A"}, line: "permit tcp host any any", err: ErrInvalid},
		{name: "udp established", setup: []string{"configure", "ip access-list A"}, line: "permit udp any any established", err: ErrInvalid},
		{name: "icmp ports", setup: []string{"configure", "ip access-list A"}, line: "permit icmp any any eq 80", err: ErrInvalid},
		{name: "ip or icmp", setup: []string{"configure", "ip access-list A"}, line: "permit i any any", err: ErrAmbiguous},
		{name: "bad address", setup: []string{"configure", "ip access-list A"}, line: "permit ip 10.0.0.300/8 any", err: ErrInvalid},
		{name: "backwards range", setup: []string{"configure", "ip access-list A"}, line: "permit tcp any any range 20 10", err: ErrInvalid},
		{name: "port too big", setup: []string{"configure", "ip access-list A"}, line: "permit tcp any any eq 65536", err: ErrInvalid},
		{name: "seq 0", setup: []string{"configure", "ip access-list A"}, line: "0 permit ip any any", err: ErrInvalid},
		{name: "seq alone", setup: []string{"configure", "ip access-list A"}, line: "10", err: ErrIncomplete},
		{name: "seq outside an acl", setup: []string{"configure"}, line: "10 permit ip any any", err: ErrInvalid},
		{name: "global command from acl mode", setup: []string{"configure", "ip access-list A"}, line: "interface Et1", prompt: "switch(config-if-Et1)#"},
		{name: "no acl", setup: []string{"configure", "ip access-list A", "permit ip any any", "exit"}, line: "no ip access-list A", hides: "ip access-list A"},

		// Saving.
		{name: "write memory", line: "write memory"},
		{name: "write alone", line: "write", err: ErrIncomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh, out := testShell()
			for _, l := range tc.setup {
				sh.step(l)
				if strings.Contains(out.String(), "%") {
					t.Fatalf("setup line %q refused: %q", l, out.String())
				}
			}
			before := sh.f.running.render()
			out.Reset()
			sh.step(tc.line)
			got := strings.TrimSpace(strings.ReplaceAll(out.String(), "\r\n", "\n"))
			if tc.err != "" {
				if !strings.HasPrefix(got, tc.err) {
					t.Fatalf("%q printed %q, want %q", tc.line, got, tc.err)
				}
				if sh.f.running.render() != before {
					t.Errorf("refused line changed the running configuration")
				}
				return
			}
			if strings.HasPrefix(got, "%") {
				t.Fatalf("%q refused: %q", tc.line, got)
			}
			if tc.prompt != "" && sh.prompt() != tc.prompt {
				t.Errorf("prompt %q, want %q", sh.prompt(), tc.prompt)
			}
			if tc.hides != "" && strings.Contains(sh.f.running.render(), tc.hides) {
				t.Errorf("configuration still shows %q:\n%s", tc.hides, sh.f.running.render())
			}
			if tc.shows != "" {
				if !strings.Contains(sh.cfg().render(), tc.shows+"\n") && !strings.Contains(sh.f.running.render(), tc.shows+"\n") {
					t.Errorf("configuration lacks %q:\n%s", tc.shows, sh.f.running.render())
				}
			}
		})
	}
}
