package main

import (
	"reflect"
	"testing"
)

func TestParsePorts(t *testing.T) {
	got, err := parsePorts("22, 7,5000-5003,7,")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{7, 22, 5000, 5001, 5002, 5003}; !reflect.DeepEqual(got, want) {
		t.Fatalf("parsePorts = %v, want %v", got, want)
	}
	for _, bad := range []string{"0", "65536", "x", "10-5", "5-", "-5"} {
		if _, err := parsePorts(bad); err == nil {
			t.Errorf("parsePorts(%q): want an error", bad)
		}
	}
}

func TestICMPChecksum(t *testing.T) {
	// Echo request, id 0x1234, seq 1, no payload: checksum 0xe5ca.
	msg := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1}
	if got := icmpChecksum(msg); got != 0xe5ca {
		t.Fatalf("icmpChecksum = %#04x, want 0xe5ca", got)
	}
}

func TestParseTarget(t *testing.T) {
	for _, c := range []struct{ in, def, want string }{
		{"10.0.0.1:443", "tcp", "tcp:10.0.0.1:443"},
		{"udp:10.0.0.1:7", "tcp", "udp:10.0.0.1:7"},
		{"icmp:10.0.0.1", "tcp", "icmp:10.0.0.1"},
		{"10.0.0.1", "icmp", "icmp:10.0.0.1"},
	} {
		got, err := parseTarget(c.in, c.def)
		if err != nil || got.String() != c.want {
			t.Errorf("parseTarget(%q, %q) = %v, %v; want %s", c.in, c.def, got, err, c.want)
		}
	}
	for _, bad := range []string{"10.0.0.1", "icmp:10.0.0.1:7", "sctp:10.0.0.1:1", "tcp:host"} {
		if _, err := parseTarget(bad, "tcp"); err == nil {
			t.Errorf("parseTarget(%q): want an error", bad)
		}
	}
}
