package aclsem

import (
	"net/netip"
	"strings"
	"testing"
)

// The expected verdicts below are worked out by hand from the vendors'
// documents cited in the evaluator (first match, implicit deny,
// established = ACK or RST, object-group members with network masks,
// longest match and the implicit "0/0 except" of Junos address lists), not
// from the evaluator's own output.

func tcp(src string, sport int, dst string, dport int, flags int) Packet {
	return Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: TCP, SrcPort: sport, DstPort: dport, Flags: flags}
}

func udp(src string, sport int, dst string, dport int) Packet {
	return Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: UDP, SrcPort: sport, DstPort: dport}
}

func icmp(src, dst string, typ int) Packet {
	return Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: ICMP, ICMPType: typ}
}

type verdictCase struct {
	name   string
	vlan   int
	p      Packet
	permit bool
	logged bool
	line   string // substring of the deciding line
}

func runCases(t *testing.T, f *Filters, cases []verdictCase) {
	t.Helper()
	for _, c := range cases {
		v := f.Forward(c.vlan, 0, c.p)
		if v.Permit != c.permit || v.Logged != c.logged || !strings.Contains(v.Line, c.line) {
			t.Errorf("%s: %s on VLAN %d: permit=%v logged=%v by %q; want permit=%v logged=%v by a line containing %q",
				c.name, c.p, c.vlan, v.Permit, v.Logged, v.Line, c.permit, c.logged, c.line)
		}
	}
}

const iosSnippet = `hostname sw1
!
object-group network SERVERS
 description web servers
 host 192.0.2.10
 198.51.100.0 255.255.255.0
object-group network ALL
 group-object SERVERS
 10.9.0.0/16
object-group network EMPTY
 description nobody
object-group service WEB
 tcp eq www
 tcp-udp eq domain
ip access-list extended IN10
 10 permit tcp 10.1.0.0 0.0.255.255 object-group SERVERS eq www
 20 deny tcp any any eq 22 log
 remark replies to the web servers' clients
 permit tcp any eq 443 10.1.0.0 0.0.255.255 established
 permit icmp any any echo-reply
 permit udp host 10.1.1.1 range 1000 2000 any gt 1023
 deny ip object-group EMPTY any
 permit object-group WEB 10.1.0.0 0.0.255.255 object-group ALL
 5 deny ip host 10.1.9.9 any
interface GigabitEthernet1/0/1
 switchport access vlan 10
interface Vlan10
 ip address 10.1.0.1 255.255.0.0
 ip access-group IN10 in
interface Vlan11
 description no filter
end
`

func TestIOS(t *testing.T) {
	f, err := ParseIOS(iosSnippet)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, f, []verdictCase{
		{"object-group member host", 10, tcp("10.1.2.3", 40000, "192.0.2.10", 80, SYN), true, false, "10 permit tcp"},
		{"object-group member with network mask", 10, tcp("10.1.2.3", 40000, "198.51.100.7", 80, SYN), true, false, "10 permit tcp"},
		{"wildcard 0.0.255.255 excludes another /16", 10, tcp("10.2.2.3", 40000, "198.51.100.9", 80, SYN), false, false, "implicit deny"},
		{"sequence 5 sorts before 10", 10, tcp("10.1.9.9", 40000, "192.0.2.10", 80, SYN), false, false, "5 deny ip host 10.1.9.9"},
		{"deny with log", 10, tcp("10.1.2.3", 40000, "198.51.100.7", 22, SYN), false, true, "20 deny tcp"},
		{"established refuses a SYN", 10, tcp("203.0.113.5", 443, "10.1.2.3", 50000, SYN), false, false, "implicit deny"},
		{"established takes an ACK", 10, tcp("203.0.113.5", 443, "10.1.2.3", 50000, ACK), true, false, "established"},
		{"established takes a RST", 10, tcp("203.0.113.5", 443, "10.1.2.3", 50000, RST), true, false, "established"},
		{"established takes SYN+ACK", 10, tcp("203.0.113.5", 443, "10.1.2.3", 50000, SYN|ACK), true, false, "established"},
		{"established source port must match", 10, tcp("203.0.113.5", 444, "10.1.2.3", 50000, ACK), false, false, "implicit deny"},
		{"icmp echo-reply is type 0", 10, icmp("10.1.2.3", "8.8.8.8", 0), true, false, "echo-reply"},
		{"icmp echo is not echo-reply", 10, icmp("10.1.2.3", "8.8.8.8", 8), false, false, "implicit deny"},
		{"range is inclusive, gt is strict (1024)", 10, udp("10.1.1.1", 2000, "10.7.7.7", 1024), true, false, "range 1000 2000"},
		{"gt is strict (1023)", 10, udp("10.1.1.1", 1500, "10.7.7.7", 1023), false, false, "implicit deny"},
		{"empty object-group matches nothing", 10, udp("10.1.2.3", 5000, "10.9.1.1", 53), true, false, "object-group WEB"},
		{"service group tcp-udp domain, nested network group", 10, tcp("10.1.2.3", 5000, "10.9.1.1", 53, SYN), true, false, "object-group WEB"},
		{"service group tcp eq www", 10, tcp("10.1.2.3", 5000, "192.0.2.10", 80, SYN), true, false, "10 permit"},
		{"service group: other port", 10, tcp("10.1.2.3", 5000, "10.9.1.1", 8080, SYN), false, false, "implicit deny"},
		{"udp www is not in the group", 10, udp("10.1.2.3", 5000, "10.9.1.1", 80), false, false, "implicit deny"},
		{"no filter on Vlan11", 11, tcp("10.1.2.3", 5000, "10.9.1.1", 8080, SYN), true, false, "no filter bound"},
	})
}

func TestIOSRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"wildcard bits in an object-group": "object-group network X\n 10.0.0.0 0.0.0.255\n",
		"unknown option":                   "ip access-list extended A\n permit tcp any any eq 80 dscp ef\n",
		"unknown port name":                "ip access-list extended A\n permit tcp any any eq https\n",
		"unbound list":                     "interface Vlan5\n ip access-group NOPE in\n",
		"undefined object-group":           "ip access-list extended A\n permit ip object-group G any\n",
		"port on ip":                       "ip access-list extended A\n permit ip any eq 80 any\n",
		"duplicate sequence":               "ip access-list extended A\n 10 permit ip any any\n 10 deny ip any any\n",
		"a filter twice on one VLAN":       "ip access-list extended A\nip access-list extended B\ninterface Vlan5\n ip access-group A in\n ip access-group B in\n",
	} {
		if _, err := ParseIOS(text); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

const eosSnippet = `hostname leaf1
!
ip access-list IN20
   counters per-entry
   10 permit tcp 10.2.0.0/16 any eq 443
   20 permit tcp 10.2.0.0/16 eq 443 any established
   30 permit icmp 10.2.0.0 0.0.255.255 any echo
   40 permit ip 10.2.0.0/16 10.61.150.0/24 log
   50 permit udp host 10.2.0.5 eq ntp any
   9000000 deny ip any any log
!
ip access-list standard ONLYSRC
   10 permit host 10.3.0.1
!
interface Vlan20
   ip access-group IN20 in
!
interface Vlan30
   ip access-group ONLYSRC in
!
`

func TestEOS(t *testing.T) {
	f, err := ParseEOS(eosSnippet)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, f, []verdictCase{
		{"prefix source", 20, tcp("10.2.3.4", 40000, "10.10.0.1", 443, SYN), true, false, "10 permit"},
		{"other port: explicit deny logged", 20, tcp("10.2.3.4", 40000, "10.10.0.1", 444, SYN), false, true, "9000000 deny"},
		{"established reply", 20, tcp("10.2.3.4", 443, "10.9.9.9", 40000, ACK), true, false, "20 permit"},
		{"monitor entry logs", 20, udp("10.2.3.4", 40000, "10.61.150.9", 9), true, true, "40 permit ip"},
		{"icmp echo", 20, icmp("10.2.3.4", "10.9.9.9", 8), true, false, "30 permit icmp"},
		{"icmp echo-reply not echo", 20, icmp("10.2.3.4", "10.9.9.9", 0), false, true, "9000000"},
		{"port name ntp", 20, udp("10.2.0.5", 123, "10.9.9.9", 40000), true, false, "50 permit"},
		{"standard list: source only", 30, udp("10.3.0.1", 1, "1.2.3.4", 2), true, false, "permit host"},
		{"standard list: implicit deny", 30, udp("10.3.0.2", 1, "1.2.3.4", 2), false, false, "implicit deny"},
	})
	if _, err := ParseEOS("ip access-list A\n   10 permit tcp any any eq 80 ttl eq 3\n"); err == nil {
		t.Error("an unknown option parsed")
	}
}

const junosSet = `set policy-options prefix-list clients 10.4.0.0/16
set policy-options prefix-list servers 10.10.0.0/16
set policy-options prefix-list empty
set policy-options prefix-list carve 10.10.5.0/24
set firewall family inet filter F term q from source-prefix-list empty
set firewall family inet filter F term q then discard
set firewall family inet filter F term web from source-prefix-list clients
set firewall family inet filter F term web from destination-prefix-list servers
set firewall family inet filter F term web from destination-prefix-list carve except
set firewall family inet filter F term web from protocol tcp
set firewall family inet filter F term web from destination-port 443
set firewall family inet filter F term web from destination-port 8000-8100
set firewall family inet filter F term web then accept
set firewall family inet filter F term reply from source-prefix-list clients
set firewall family inet filter F term reply from protocol tcp
set firewall family inet filter F term reply from source-port https
set firewall family inet filter F term reply from tcp-established
set firewall family inet filter F term reply then accept
set firewall family inet filter F term ping from protocol icmp
set firewall family inet filter F term ping from icmp-type echo-request
set firewall family inet filter F term ping then count ping
set firewall family inet filter F term skip from protocol udp
set firewall family inet filter F term skip then next term
set firewall family inet filter F term dns from protocol udp
set firewall family inet filter F term dns from destination-port domain
set firewall family inet filter F term default then count default
set firewall family inet filter F term default then log
set firewall family inet filter F term default then discard
set interfaces irb unit 40 family inet filter input F
set interfaces ge-0/0/1 unit 0 family ethernet-switching vlan members v40
`

const junosBraces = `policy-options {
    prefix-list clients {
        10.4.0.0/16;
    }
    prefix-list servers {
        10.10.0.0/16;
    }
    prefix-list empty;
    prefix-list carve {
        10.10.5.0/24;
    }
}
firewall {
    family inet {
        filter F {
            term q {
                from {
                    source-prefix-list {
                        empty;
                    }
                }
                then discard;
            }
            term web {
                from {
                    source-prefix-list {
                        clients;
                    }
                    destination-prefix-list {
                        servers;
                        carve except;
                    }
                    protocol tcp;
                    destination-port [ 443 8000-8100 ];
                }
                then accept;
            }
            term reply {
                from {
                    source-prefix-list {
                        clients;
                    }
                    protocol tcp;
                    source-port https;
                    tcp-established;
                }
                then accept;
            }
            term ping {
                from {
                    protocol icmp;
                    icmp-type echo-request;
                }
                then count ping;
            }
            term skip {
                from {
                    protocol udp;
                }
                then next term;
            }
            term dns {
                from {
                    protocol udp;
                    destination-port domain;
                }
            }
            term default {
                then {
                    count default;
                    log;
                    discard;
                }
            }
        }
    }
}
vlans {
    v40 {
        vlan-id 40;
        l3-interface irb.4;
    }
}
interfaces {
    irb {
        unit 4 {
            family inet {
                filter {
                    input F;
                }
            }
        }
    }
}
`

func junosCases() []verdictCase {
	return []verdictCase{
		{"empty prefix-list matches nothing", 40, tcp("10.4.1.1", 40000, "10.10.1.1", 443, SYN), true, false, "term web"},
		{"port range", 40, tcp("10.4.1.1", 40000, "10.10.1.1", 8100, SYN), true, false, "term web"},
		{"longest match: carve except", 40, tcp("10.4.1.1", 40000, "10.10.5.1", 443, SYN), false, true, "term default"},
		{"other port", 40, tcp("10.4.1.1", 40000, "10.10.1.1", 22, SYN), false, true, "term default"},
		{"tcp-established refuses a SYN", 40, tcp("10.4.1.1", 443, "10.99.0.1", 40000, SYN), false, true, "term default"},
		{"tcp-established takes an ACK", 40, tcp("10.4.1.1", 443, "10.99.0.1", 40000, ACK), true, false, "term reply"},
		{"no terminating action accepts, count logs", 40, icmp("10.4.1.1", "10.99.0.1", 8), true, true, "term ping"},
		{"echo-reply is another type", 40, icmp("10.4.1.1", "10.99.0.1", 0), false, true, "term default"},
		{"next term, then a term with no then", 40, udp("10.4.1.1", 40000, "10.99.0.1", 53), true, false, "term dns"},
		{"next term falls to the default", 40, udp("10.4.1.1", 40000, "10.99.0.1", 54), false, true, "term default"},
	}
}

func TestJunosSet(t *testing.T) {
	f, err := ParseJunos(junosSet)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, f, junosCases())
}

// TestJunosBraces: the brace form of the same configuration (irb unit 4
// routing VLAN 40 by its vlans stanza) gives the same verdicts.
func TestJunosBraces(t *testing.T) {
	f, err := ParseJunos(junosBraces)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Inbound(40); !ok {
		t.Fatal("irb.4 is VLAN 40's l3-interface, but no filter is bound on VLAN 40")
	}
	runCases(t, f, junosCases())
}

func TestJunosImplicitDiscard(t *testing.T) {
	f, err := ParseJunos("set firewall family inet filter G term a from protocol tcp\nset firewall family inet filter G term a then accept\nset interfaces irb unit 7 family inet filter input G\n")
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, f, []verdictCase{
		{"accepted", 7, tcp("1.1.1.1", 1, "2.2.2.2", 2, SYN), true, false, "term a"},
		{"implicit discard", 7, udp("1.1.1.1", 1, "2.2.2.2", 2), false, false, "implicit discard"},
	})
	for name, text := range map[string]string{
		"port without protocol": "set firewall family inet filter G term a from destination-port 80\n",
		"unknown condition":     "set firewall family inet filter G term a from dscp ef\n",
		"unknown action":        "set firewall family inet filter G term a then policer p\n",
		"undefined list":        "set firewall family inet filter G term a from source-prefix-list nope\n",
		"unbound filter":        "set interfaces irb unit 7 family inet filter input nope\n",
		"two terminating":       "set firewall family inet filter G term a then accept\nset firewall family inet filter G term a then discard\n",
	} {
		if _, err := ParseJunos(text); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
