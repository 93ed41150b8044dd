package iosxefake

import "strconv"

// IOS shows a TCP or UDP port it has a name for by that name, whatever was
// typed: "eq 80" reads back as "eq www", "eq 53" as "eq domain", "eq 443"
// stays a number. The names and numbers are Cisco's, from the acl-port-type
// enumeration of the IOS-XE native YANG model (Cisco-IOS-XE-acl.yang,
// https://github.com/YangModels/yang/blob/main/vendor/cisco/xe/17121/Cisco-IOS-XE-acl.yang);
// the display is as a Catalyst 9300 on IOS-XE 17.18 prints it
// (https://github.com/ChartinoLabs/Muninn/issues/1184: "permit tcp any any
// eq www", "permit tcp any any eq 443", "permit udp any any eq domain",
// "permit udp any eq bootps any"). Which names belong to TCP and which to
// UDP follows the model's grouping and the permit command's keyword lists
// (login, exec and cmd are TCP's 513, 512, 514; who, biff and syslog UDP's).

// portNames is the table for proto ("tcp" or "udp"); a function, not a
// package variable, so no test can change it for the others.
func portNames(proto string) map[int]string {
	if proto == "udp" {
		return map[int]string{
			512: "biff", 68: "bootpc", 67: "bootps", 9: "discard", 195: "dnsix", 53: "domain",
			7: "echo", 500: "isakmp", 434: "mobile-ip", 42: "nameserver", 138: "netbios-dgm",
			137: "netbios-ns", 139: "netbios-ss", 4500: "non500-isakmp", 123: "ntp",
			496: "pim-auto-rp", 520: "rip", 161: "snmp", 162: "snmptrap", 111: "sunrpc",
			514: "syslog", 49: "tacacs", 517: "talk", 69: "tftp", 37: "time", 513: "who", 177: "xdmcp",
		}
	}
	return map[int]string{
		179: "bgp", 19: "chargen", 13: "daytime", 9: "discard", 53: "domain", 7: "echo",
		79: "finger", 21: "ftp", 20: "ftp-data", 70: "gopher", 101: "hostname", 113: "ident",
		194: "irc", 543: "klogin", 544: "kshell", 515: "lpd", 135: "msrpc", 119: "nntp",
		496: "pim-auto-rp", 109: "pop2", 110: "pop3", 25: "smtp", 111: "sunrpc", 49: "tacacs",
		517: "talk", 23: "telnet", 37: "time", 540: "uucp", 43: "whois", 80: "www",
		513: "login", 512: "exec", 514: "cmd",
	}
}

// portName is how IOS shows port tok (a number or a name) of protocol
// proto, and whether tok is a port of that protocol at all.
func portName(proto, tok string) (string, bool) {
	names := portNames(proto)
	if n, err := strconv.Atoi(tok); err == nil {
		if n < 0 || n > 65535 || strconv.Itoa(n) != tok {
			return "", false
		}
		if name, ok := names[n]; ok {
			return name, true
		}
		return tok, true
	}
	for _, name := range names {
		if name == tok {
			return name, true
		}
	}
	return "", false
}
