package aclsem

import (
	"fmt"
	"strconv"
	"strings"
)

// eosDialect is how EOS writes IP access list rules (EOS User Manual,
// "ACLs and Route Maps", https://www.arista.com/en/um-eos/eos-acls-and-route-maps):
// "SEQ permit|deny PROTOCOL SOURCE [PORTS] DESTINATION [PORTS] [OPTIONS]",
// addresses as any, host A, A.B.C.D/LEN or A.B.C.D WILDCARD, the
// "established" TCP option and "log". Port names: those EOS prints in its
// default control-plane ACL ("eq ssh telnet www snmp bgp https msdp ldp",
// "eq bootps bootpc snmp rip ntp ldp ptp-event ptp-general"; Arista EOS
// SDK RPC guide, "ACL rules",
// https://aristanetworks.github.io/eossdkrpc/guides/aclrules), with their
// IANA port numbers; a name not in the table is an error rather than a
// guess. ICMP messages carry Cisco's names (echo, echo-reply, ...).
func eosDialect() *dialect {
	return &dialect{
		os: "arista_eos",
		tcpPorts: map[string]int{
			"ssh": 22, "telnet": 23, "www": 80, "snmp": 161, "bgp": 179, "https": 443, "msdp": 639, "ldp": 646,
		},
		udpPorts: map[string]int{
			"bootps": 67, "bootpc": 68, "ntp": 123, "snmp": 161, "ptp-event": 319, "ptp-general": 320,
			"rip": 520, "ldp": 646,
		},
		icmpNames: ciscoICMPNames(),
		prefixes:  true,
		logWords:  []string{"log"},
	}
}

// ParseEOS reads the IP access lists of an EOS configuration (running-
// config form: "!" separators, sub-commands indented) and those bound on
// its VLAN interfaces:
//
//	ip access-list NAME            [SEQ] permit|deny|remark ...; counters per-entry
//	ip access-list standard NAME   [SEQ] permit|deny SOURCE [log]
//	interface VlanN                ip access-group NAME in|out
//
// Other top-level commands and their sub-commands are skipped; any other
// line inside an access list is an error.
func ParseEOS(text string) (*Filters, error) {
	d := eosDialect()
	f := newFilters(d.os)
	kind, name, vlan := "skip", "", 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimRight(raw, " \r\t")
		trim := strings.TrimSpace(line)
		if trim == "" || trim == "!" || strings.HasPrefix(trim, "! ") || trim == "end" {
			continue
		}
		w := strings.Fields(trim)
		fail := func(err error) error { return fmt.Errorf("line %d %q: %w", i+1, trim, err) }
		if line[0] != ' ' {
			kind = "skip"
			switch {
			case len(w) == 3 && w[0] == "ip" && w[1] == "access-list":
				kind, name = "acl", w[2]
				if w[2] == "standard" {
					return nil, fail(fmt.Errorf("an access list named %q", w[2]))
				}
			case len(w) == 4 && w[0] == "ip" && w[1] == "access-list" && w[2] == "standard":
				kind, name = "std", w[3]
			case len(w) >= 2 && w[0] == "interface" && strings.HasPrefix(strings.Join(w[1:], ""), "Vlan"):
				n, err := strconv.Atoi(strings.TrimPrefix(strings.Join(w[1:], ""), "Vlan"))
				if err != nil || n < 1 || n > 4094 {
					return nil, fail(fmt.Errorf("not a VLAN interface"))
				}
				kind, vlan = "vlan", n
			case len(w) >= 2 && w[0] == "ip" && w[1] == "access-list":
				return nil, fail(fmt.Errorf("an access list this evaluator does not read"))
			}
			if kind == "acl" || kind == "std" {
				if _, dup := f.filters[name]; !dup {
					f.filters[name] = &accessList{name: name}
				}
			}
			continue
		}
		switch kind {
		case "acl", "std":
			if trim == "counters per-entry" || (len(w) == 2 && w[0] == "statistics" && w[1] == "per-entry") {
				continue // counting, not filtering
			}
			var e ace
			var ok bool
			var err error
			if kind == "acl" {
				e, ok, err = d.parseEntry(trim, w)
			} else {
				e, ok, err = d.parseStandard(trim, w)
			}
			if err != nil {
				return nil, fail(err)
			}
			if ok {
				if err := f.filters[name].(*accessList).add(e); err != nil {
					return nil, fail(err)
				}
			}
		case "vlan":
			// "ip access-group NAME in" applies the list to packets the
			// interface receives (EOS User Manual, "ACLs and Route Maps",
			// Applying ACLs to interfaces).
			if len(w) >= 2 && w[0] == "ip" && w[1] == "access-group" {
				if len(w) != 4 || (w[3] != "in" && w[3] != "out") {
					return nil, fail(fmt.Errorf("ip access-group NAME in|out expected"))
				}
				if err := f.bind(vlan, w[3], w[2]); err != nil {
					return nil, fail(err)
				}
			}
		}
	}
	return f, f.check()
}
