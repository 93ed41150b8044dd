package junosfake

import (
	"strings"
	"testing"
)

// Expected values below are written from the Junos documents and published
// sessions the grammar cites, not from the fake's output.
func TestStatementGrammar(t *testing.T) {
	cases := []struct {
		in   string
		want []string // the statements it stores, as display set prints them
		err  string   // the CLI's error text; col the caret column in the words after "set"
		col  int
	}{
		{in: "vlans v210 vlan-id 210", want: []string{"vlans v210 vlan-id 210"}},
		{in: "vlans v210 l3-interface irb.210", want: []string{"vlans v210 l3-interface irb.210"}},
		{in: "interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode access vlan members v210",
			want: []string{"interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode access",
				"interfaces ge-0/0/5 unit 0 family ethernet-switching vlan members v210"}},
		{in: "interfaces irb unit 210 family inet filter input zone-pumps", want: []string{"interfaces irb unit 210 family inet filter input zone-pumps"}},
		{in: "policy-options prefix-list pumps 10.61.210.0/24", want: []string{"policy-options prefix-list pumps 10.61.210.0/24"}},
		// prefix-list: no length means /32.
		{in: "policy-options prefix-list srv 10.10.0.5", want: []string{"policy-options prefix-list srv 10.10.0.5/32"}},
		{in: "firewall family inet filter f term t1 from source-prefix-list pumps", want: []string{"firewall family inet filter f term t1 from source-prefix-list pumps"}},
		{in: "firewall family inet filter f term t1 from protocol tcp destination-port 443", want: []string{
			"firewall family inet filter f term t1 from protocol tcp", "firewall family inet filter f term t1 from destination-port 443"}},
		{in: "firewall family inet filter f term t1 from destination-port 11112-11115", want: []string{"firewall family inet filter f term t1 from destination-port 11112-11115"}},
		{in: "firewall family inet filter f term ret from tcp-established", want: []string{"firewall family inet filter f term ret from tcp-established"}},
		{in: "firewall family inet filter f term t1 then count c1 log accept", want: []string{
			"firewall family inet filter f term t1 then count c1", "firewall family inet filter f term t1 then log", "firewall family inet filter f term t1 then accept"}},
		// prefix-list name { ip-addresses; }: the entries are optional.
		{in: "policy-options prefix-list quarantine", want: []string{"policy-options prefix-list quarantine"}},
		{in: "interfaces ge-0/0/5 description ward-210", want: []string{"interfaces ge-0/0/5 description ward-210"}},
		{in: "interfaces ge-0/0/5 description \"ward 210\"", err: "syntax error.", col: 32},
		// Keywords may be abbreviated when the abbreviation is unique.
		{in: "vla v210 vlan-i 210", want: []string{"vlans v210 vlan-id 210"}},

		{in: "vlanz v210 vlan-id 210", err: "syntax error.", col: 0},
		{in: "vlans v210 vlan-id 5000", err: "Value 5000 is not within range (1..4094) at '5000'", col: 19},
		{in: "vlans v210 vlan-id", err: "missing argument.", col: -1},
		{in: "interfaces ge-0/0/5 unit 0 family ethernet-switching port-mode access", err: "syntax error.", col: 53},
		{in: "firewall family inet filter f term t1 from destination-port 70000", err: "syntax error.", col: 60},
		{in: "firewall family inet filter f term t1 then reject", err: "syntax error.", col: 43},
		{in: "firewall family inet6 filter f term t1 then accept", err: "syntax error.", col: 16},
		{in: "policy-options prefix-list p 10.0.0.0/33", err: "syntax error.", col: 29},
		{in: "interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode routed", err: "syntax error.", col: 68},
		// "v" abbreviates nothing under firewall filter term ... from; under
		// interfaces ... family ethernet-switching "vlan" is the only one.
		{in: "firewall family inet filter f term t1 from d 1.1.1.1", err: "'d' is ambiguous.", col: 43},
		{in: "system", err: "missing argument.", col: -1},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			leaves, err := matchStatement(statementPats, tokenize(c.in))
			if c.err != "" {
				if err == nil {
					t.Fatalf("accepted %q, want %q", c.in, c.err)
				}
				if err.Message != c.err || err.Col != c.col {
					t.Fatalf("got %q at column %d, want %q at %d", err.Message, err.Col, c.err, c.col)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			var got []string
			for _, l := range leaves {
				got = append(got, strings.Join(l.levels, " "))
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestCommandGrammar(t *testing.T) {
	cases := []struct {
		pats []pattern
		in   string
		want string // matched words, or the error
	}{
		{operationalPats, "configure exclusive", "configure exclusive"},
		{operationalPats, "conf pri", "configure private"},
		{operationalPats, "set cli screen-length 0", "set cli screen-length 0"},
		{operationalPats, "show configuration | display set", "show configuration | display set"},
		{operationalPats, "show configuration|display set", "show configuration | display set"},
		{operationalPats, "shoe", "unknown command."},
		{operationalPats, "s", "'s' is ambiguous."},
		{operationalPats, "show configuration id", "syntax error."},
		{configurationPats, "commit confirmed 5", "commit confirmed 5"},
		{configurationPats, "commit confirmed 0", "Value 0 is not within range (1..65535) at '0'"},
		{configurationPats, "rollback 50", "Value 50 is not within range (0..49) at '50'"},
		{configurationPats, "show | compare", "show | compare"},
		{configurationPats, "exit configuration-mode", "exit configuration-mode"},
		{configurationPats, "comit", "unknown command."},
		{configurationPats, "load merge terminal", "load merge terminal"},
		{configurationPats, "load replace terminal", "syntax error."},
	}
	for _, c := range cases {
		cmd, err := matchCommand(c.pats, tokenize(c.in))
		got := ""
		if err != nil {
			got = err.Message
		} else {
			got = strings.Join(cmd.words, " ")
		}
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// Every rule cites a document.
func TestRulesCiteDocuments(t *testing.T) {
	for _, table := range [][]Rule{OperationalCommands, ConfigurationCommands, Statements} {
		for _, r := range table {
			if !strings.Contains(r.Doc, "https://") {
				t.Errorf("rule %q cites no document", r.Pattern)
			}
		}
	}
}

func TestDeleteAndShow(t *testing.T) {
	root := &node{}
	for _, line := range []string{
		"vlans v210 vlan-id 210",
		"vlans v210 vlan-id 211", // replaces
		"policy-options prefix-list p 10.0.0.0/24",
		"policy-options prefix-list p 10.0.1.0/24", // adds
		"firewall family inet filter f term t1 then accept",
		"firewall family inet filter f term t1 then discard", // replaces the action
		"firewall family inet filter f term t1 from protocol tcp",
		"firewall family inet filter f term t1 from protocol udp",
	} {
		leaves, err := matchStatement(statementPats, tokenize(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		for _, l := range leaves {
			root.set(l)
		}
	}
	want := `vlans {
    v210 {
        vlan-id 211;
    }
}
policy-options {
    prefix-list p {
        10.0.0.0/24;
        10.0.1.0/24;
    }
}
firewall {
    family inet {
        filter f {
            term t1 {
                then {
                    discard;
                }
                from {
                    protocol [ tcp udp ];
                }
            }
        }
    }
}`
	if got := strings.Join(root.text(0), "\n"); got != want {
		t.Fatalf("show:\n%s\nwant\n%s", got, want)
	}
	levels, err := matchDeletePath(statementPats, tokenize("vlans v210 vlan-id"))
	if err != nil {
		t.Fatal(err)
	}
	if !root.delete(levels) {
		t.Fatal("delete vlans v210 vlan-id found nothing")
	}
	levels, _ = matchDeletePath(statementPats, tokenize("firewall family inet filter f"))
	root.delete(levels)
	want2 := "set policy-options prefix-list p 10.0.0.0/24\nset policy-options prefix-list p 10.0.1.0/24"
	if got := strings.Join(root.setLines(), "\n"); got != want2 {
		t.Fatalf("after delete:\n%s\nwant\n%s", got, want2)
	}
	if _, err := matchDeletePath(statementPats, tokenize("firewall family")); err == nil || err.Message != "missing argument." {
		t.Fatalf("delete firewall family: %v, want missing argument.", err)
	}
}
