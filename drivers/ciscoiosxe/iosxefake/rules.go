package iosxefake

import (
	"fmt"
	"strconv"
	"strings"
)

// Mode is a CLI command mode; its prompt is the hostname followed by
// Prompt().
type Mode int

// The modes the fake has, with their prompts as the CLI guide lists them.
const (
	ModeUserExec     Mode = iota // Switch>
	ModePrivExec                 // Switch#
	ModeConfig                   // Switch(config)#
	ModeInterface                // Switch(config-if)#
	ModeExtACL                   // Switch(config-ext-nacl)#
	ModeNetworkGroup             // Switch(config-network-group)#
	ModeArchive                  // Switch(config-archive)#
	ModeVLAN                     // Switch(config-vlan)#
	modeCount
)

// Prompt is what follows the hostname in the mode's prompt.
func (m Mode) Prompt() string {
	return [...]string{">", "#", "(config)#", "(config-if)#", "(config-ext-nacl)#", "(config-network-group)#", "(config-archive)#", "(config-vlan)#"}[m]
}

func (m Mode) configuring() bool { return m >= ModeConfig }

// Documents the grammar follows. Each rule's Doc names one of them and the
// section or command it comes from.
const (
	docCLI       = "https://www.cisco.com/en/US/docs/wireless/controller/3.2_0_se/cleanair/b_ca_32se_5700_cr_chapter_01.html (Using the Command-Line Interface, Cisco IOS XE: Command Modes; Abbreviated Commands; no and default Forms)"
	docCLIErrors = "https://www.cisco.com/en/US/docs/switches/metro/me3600x_3800x/trash/swcli.html (Using the Command-Line Interface: Understanding CLI Error Messages)"
	docACL       = "https://www.cisco.com/en/US/docs/switches/metro/me3600x_3800x/trash/swacl.pdf (Configuring Network Security with ACLs: Configuring IPv4 ACLs, Creating Named Standard and Extended ACLs, Applying an IPv4 ACL to a Terminal Line or Interface)"
	docACLCmd    = "https://www.cisco.com/E-Learning/bulk/public/tac/cim/cib/using_cisco_ios_software/cmdrefs/ip_access-list.htm (ip access-list {standard | extended} name; no form)"
	docRACL9k    = "https://www.cisco.com/c/fr_ca/support/docs/switches/catalyst-9500-series-switches/217266-validate-security-acls-on-catalyst-9000.pdf (Validate Security ACLs on Catalyst 9000: Scenario 3, RACL on an SVI)"
	docObjGroup  = "https://cisco.com/c/en/us/td/docs/routers/ios/config/17-x/sec-vpn/b-security-vpn/m_sec_zbf_ogacl-xe.html (Object Groups for ACLs, IOS XE 17: Creating a Network Object Group; Creating an Object-Group-Based ACL)"
	docL2        = "https://cisco.com/c/en/us/td/docs/switches/lan/catalyst6500/ios/12-2ZY/configuration/guide/swcg/layer2.html (Configuring LAN Interfaces for Layer 2 Switching: Configuring a LAN Interface as a Layer 2 Access Port)"
	docSwAccess  = "Cisco ME 3400 Ethernet Access Switch Command Reference, switchport access vlan {vlan-id} (1 to 4094; the no form resets the access VLAN), as mirrored at http://38.142.81.21:8001/manual/cisco/me-3400/specifications-english/page-633.html"
	docConfirm   = "https://www.cisco.com/c/en/us/td/docs/routers/ios/config/17-x/syst-mgmt/b-system-management/m_cm-config-rollback-confirmed-change.html (Configuration Rollback Confirmed Change: configure terminal revert timer; configure confirm; configure revert)"
	docReplace   = "https://www.cisco.com/c/en/us/td/docs/routers/ios/config/17-x/syst-mgmt/b-system-management/m_cm-config-rollback-0.html (Configuration Replace and Configuration Rollback: archive, path, maximum; archive config; configure replace target-url force)"
	docTerminal  = "https://cisco.com/c/en/us/support/switches/catalyst-9300-series-switches/products-command-reference-list.html (Command Reference, Cisco IOS XE (Catalyst 9300): terminal length 0-512, terminal width 0-512; write memory; show running-config; show access-lists)"
	docPorts     = "https://github.com/YangModels/yang/blob/main/vendor/cisco/xe/17121/Cisco-IOS-XE-acl.yang (acl-port-type: IOS-XE's port names); https://github.com/ChartinoLabs/Muninn/issues/1184 (C9300 IOS-XE 17.18 show access-lists: eq www, eq domain, eq 443)"
	docConfirmEx = "https://github.com/napalm-automation/napalm test/ios commit-confirm tests run against a device (show archive config rollback timer: \"Timer value: 3 min\"; \"%No Rollback Confirmed Change pending\")"
	docVLAN      = "https://manualshive.com/ru/manual/cisco/catalyst-2960-series/66776?page=2195 (Catalyst 2960 configuration guide, Normal-Range VLAN Configuration Guidelines: VLAN IDs 1 and 1002-1005 are created automatically and cannot be removed; in VTP transparent mode VLAN configuration is saved in the running configuration; VLANs 1006-4094 only in transparent mode)"
	docVLANMsg   = "published Catalyst CLI sessions (lab transcripts: \"switchport access vlan 10\" answered \"% Access VLAN does not exist. Creating vlan 10\"); no Cisco document found gives the text"
	docCopy      = "published IOS sessions (copy running-config startup-config: \"Destination filename [startup-config]? \", then \"Building configuration...\" and \"[OK]\")"
	docArchiveCK = "https://github.com/napalm-automation/napalm napalm/ios/ios.py (published device output: \"Archive feature not enabled\", \"%Please turn config archive on\", configure revert now)"
	docReplaceEx = "https://gist.github.com/ryankearney/8920941 (published session: show archive and configure replace output, \"Total number of passes\", \"Rollback Done\")"
)

// Rule is one accepted command form of a mode. Pattern uses the notation
// described in match.go; Doc cites the vendor document it comes from.
type Rule struct {
	Mode    Mode
	Pattern string
	Doc     string
	// when, if set, restricts the rule to a context (switchport commands
	// on physical ports only): outside it the command is invalid input.
	when  func(s *session) bool
	apply func(s *session, args []string) string
}

// Grammar is the rule table: every command the fake accepts, per mode.
func Grammar() []Rule { return buildRules() }

// An address in an extended ACE, as the ACL guide lists the forms.
const addr = "{ any | host <ipv4> | <ipv4> <ipv4> | object-group <word> }"

// A TCP or UDP port operator.
func portop(proto string) string {
	p := "<" + proto + "port>"
	return "{ eq " + p + " | gt " + p + " | lt " + p + " | neq " + p + " | range " + p + " " + p + " }"
}

// ICMP message types accepted by name (the ACL guide's icmp-message list, the
// subset Ward needs for ping and its replies).
const icmpType = "{ echo | echo-reply | unreachable | time-exceeded }"

func acePatterns(proto string) []string {
	switch proto {
	case "tcp":
		return []string{"{ permit | deny } tcp " + addr + " [ " + portop("tcp") + " ] " + addr + " [ " + portop("tcp") + " ] [ established ] [ log ]"}
	case "udp":
		return []string{"{ permit | deny } udp " + addr + " [ " + portop("udp") + " ] " + addr + " [ " + portop("udp") + " ] [ log ]"}
	case "icmp":
		return []string{"{ permit | deny } icmp " + addr + " " + addr + " [ " + icmpType + " ] [ log ]"}
	}
	return []string{"{ permit | deny } { ip | <n:0-255> } " + addr + " " + addr + " [ log ]"}
}

func buildRules() []Rule {
	var r []Rule
	add := func(m Mode, pattern, doc string, apply func(*session, []string) string) {
		r = append(r, Rule{Mode: m, Pattern: pattern, Doc: doc, apply: apply})
	}
	addWhen := func(m Mode, pattern, doc string, when func(*session) bool, apply func(*session, []string) string) {
		r = append(r, Rule{Mode: m, Pattern: pattern, Doc: doc, when: when, apply: apply})
	}

	// Both EXEC modes.
	for _, m := range []Mode{ModeUserExec, ModePrivExec} {
		add(m, "terminal length <n:0-512>", docTerminal, func(s *session, a []string) string {
			s.length, _ = strconv.Atoi(a[2])
			return ""
		})
		add(m, "terminal width <n:0-512>", docTerminal, func(s *session, a []string) string {
			s.width, _ = strconv.Atoi(a[2])
			return ""
		})
		add(m, "exit", docCLI, func(s *session, _ []string) string { s.closing = true; return "" })
		add(m, "logout", docCLI, func(s *session, _ []string) string { s.closing = true; return "" })
	}
	add(ModeUserExec, "enable", docCLI, func(s *session, _ []string) string { s.wantEnable = true; return "" })

	// Privileged EXEC.
	add(ModePrivExec, "enable", docCLI, func(*session, []string) string { return "" })
	add(ModePrivExec, "disable", docCLI, func(s *session, _ []string) string { s.mode = ModeUserExec; return "" })
	add(ModePrivExec, "configure terminal", docCLI, func(s *session, _ []string) string {
		s.mode = ModeConfig
		return "Enter configuration commands, one per line.  End with CNTL/Z.\n"
	})
	add(ModePrivExec, "configure terminal revert timer <n:1-120>", docConfirm, (*session).configureRevertTimer)
	add(ModePrivExec, "configure confirm", docConfirm+"; "+docConfirmEx, (*session).configureConfirm)
	add(ModePrivExec, "configure revert now", docConfirm+"; "+docArchiveCK, (*session).configureRevertNow)
	add(ModePrivExec, "configure replace <url> force [ { time <n:1-120> | revert trigger [ error ] timer <n:1-120> } ]", docReplace+"; "+docConfirm+"; "+docReplaceEx, (*session).configureReplace)
	add(ModePrivExec, "show archive config rollback timer", docConfirm+"; "+docConfirmEx, (*session).showRollbackTimer)
	add(ModePrivExec, "archive config", docReplace, (*session).archiveConfig)
	add(ModePrivExec, "show archive", docReplace+"; "+docReplaceEx+"; "+docArchiveCK, (*session).showArchive)
	add(ModePrivExec, "show running-config", docTerminal, func(s *session, _ []string) string { return s.f.showRunning() })
	add(ModePrivExec, "show startup-config", docTerminal, func(s *session, _ []string) string { return s.f.showStartup() })
	add(ModePrivExec, "show access-lists [ <word> ]", docACL, func(s *session, a []string) string {
		name := ""
		if len(a) > 2 {
			name = a[2]
		}
		return s.f.cfg.showAccessLists(name)
	})
	add(ModePrivExec, "copy running-config startup-config", docTerminal+"; "+docCopy, func(s *session, _ []string) string {
		// IOS asks for the destination; return (or the default name)
		// saves, another name is not a file this fake keeps.
		s.ask = &question{prompt: "Destination filename [startup-config]? ", answer: func(s *session, a string) string {
			if a = strings.TrimSpace(a); a != "" && a != "startup-config" {
				return fmt.Sprintf("%%Error opening %s (No such file or directory)\n", a)
			}
			s.f.startup = s.f.cfg.clone()
			return "Building configuration...\n[OK]\n"
		}}
		return ""
	})
	add(ModePrivExec, "write memory", docTerminal, func(s *session, _ []string) string {
		s.f.startup = s.f.cfg.clone()
		return "Building configuration...\n[OK]\n"
	})

	// Every configuration mode: leave it, or run an EXEC command.
	for m := ModeConfig; m < modeCount; m++ {
		add(m, "end", docCLI, func(s *session, _ []string) string { s.mode = ModePrivExec; return "" })
		add(m, "exit", docCLI, func(s *session, _ []string) string {
			if s.mode == ModeConfig {
				s.mode = ModePrivExec
			} else {
				s.mode = ModeConfig
			}
			return ""
		})
		add(m, "do <line>", docCLI, func(s *session, a []string) string { return s.runDo(a[1]) })
	}

	// Global configuration.
	add(ModeConfig, "hostname <word>", docCLI, func(s *session, a []string) string { s.f.cfg.hostname = a[1]; return "" })
	add(ModeConfig, "interface <ifname>", docCLI+"; "+docL2, func(s *session, a []string) string { return s.enterInterface(a[1]) })
	add(ModeConfig, "interface <iftype> <ifnum>", docCLI+"; "+docL2, func(s *session, a []string) string {
		name, ok := canonicalInterface(a[1] + a[2])
		if !ok {
			return invalidAt(s, 2)
		}
		return s.enterInterface(name)
	})
	add(ModeConfig, "no interface <ifname>", docCLI+"; "+docRACL9k, func(s *session, a []string) string { return s.removeInterface(a[2]) })
	add(ModeConfig, "ip access-list extended <word>", docACLCmd+"; "+docACL, func(s *session, a []string) string {
		if s.f.cfg.acl(a[3]) == nil {
			s.f.cfg.acls = append(s.f.cfg.acls, &acl{name: a[3]})
		}
		s.mode, s.acl = ModeExtACL, a[3]
		return ""
	})
	add(ModeConfig, "no ip access-list extended <word>", docACLCmd, func(s *session, a []string) string {
		c := s.f.cfg
		for i, x := range c.acls {
			if x.name == a[4] {
				c.acls = append(c.acls[:i], c.acls[i+1:]...)
				break
			}
		}
		return ""
	})
	add(ModeConfig, "object-group network <word>", docObjGroup, func(s *session, a []string) string {
		if s.f.cfg.group(a[2]) == nil {
			s.f.cfg.groups = append(s.f.cfg.groups, &objectGroup{name: a[2]})
		}
		s.mode, s.group = ModeNetworkGroup, a[2]
		return ""
	})
	add(ModeConfig, "no object-group network <word>", docObjGroup, (*session).removeGroup)
	add(ModeConfig, "archive", docReplace, func(s *session, _ []string) string { s.mode = ModeArchive; return "" })
	add(ModeConfig, "no archive", docReplace, func(s *session, _ []string) string {
		s.f.cfg.archivePath, s.f.cfg.archiveMax = "", 0
		return ""
	})

	// VLANs, as a switch in VTP transparent mode keeps them.
	add(ModeConfig, "vlan <n:1-4094>", docVLAN, func(s *session, a []string) string {
		n, _ := strconv.Atoi(a[1])
		s.f.cfg.addVLAN(n)
		s.mode, s.vlan = ModeVLAN, n
		return ""
	})
	add(ModeConfig, "no vlan <n:1-4094>", docVLAN, func(s *session, a []string) string {
		n, _ := strconv.Atoi(a[2])
		if defaultVLAN(n) {
			return fmt.Sprintf("%%Default VLAN %d may not be deleted.\n", n)
		}
		delete(s.f.cfg.vlans, n)
		return ""
	})
	add(ModeVLAN, "name <word>", docVLAN, func(s *session, a []string) string {
		if defaultVLAN(s.vlan) {
			return fmt.Sprintf("%%Default VLAN %d may not have its name changed.\n", s.vlan)
		}
		s.f.cfg.vlans[s.vlan] = a[1]
		return ""
	})
	add(ModeVLAN, "no name", docVLAN, func(s *session, _ []string) string {
		if !defaultVLAN(s.vlan) {
			s.f.cfg.vlans[s.vlan] = ""
		}
		return ""
	})

	// Archive configuration.
	add(ModeArchive, "path <url>", docReplace, func(s *session, a []string) string { s.f.cfg.archivePath = a[1]; return "" })
	add(ModeArchive, "no path", docReplace, func(s *session, _ []string) string { s.f.cfg.archivePath = ""; return "" })
	add(ModeArchive, "maximum <n:1-14>", docReplace, func(s *session, a []string) string {
		s.f.cfg.archiveMax, _ = strconv.Atoi(a[1])
		return ""
	})
	add(ModeArchive, "no maximum", docReplace, func(s *session, _ []string) string { s.f.cfg.archiveMax = 0; return "" })

	// Interface configuration.
	physical := func(s *session) bool { return s.f.cfg.ifaces[s.iface] != nil && s.f.cfg.ifaces[s.iface].physical }
	svi := func(s *session) bool { return s.f.cfg.ifaces[s.iface] != nil && !s.f.cfg.ifaces[s.iface].physical }
	ifc := func(s *session) *iface { return s.f.cfg.ifaces[s.iface] }
	add(ModeInterface, "description <line>", docCLI, func(s *session, a []string) string { ifc(s).description = a[1]; return "" })
	add(ModeInterface, "no description", docCLI, func(s *session, _ []string) string { ifc(s).description = ""; return "" })
	add(ModeInterface, "shutdown", docCLI, func(s *session, _ []string) string { ifc(s).shutdown = true; return "" })
	add(ModeInterface, "no shutdown", docCLI, func(s *session, _ []string) string { ifc(s).shutdown = false; return "" })
	addWhen(ModeInterface, "switchport mode access", docL2, physical, func(s *session, _ []string) string { ifc(s).modeAccess = true; return "" })
	addWhen(ModeInterface, "no switchport mode", docL2, physical, func(s *session, _ []string) string { ifc(s).modeAccess = false; return "" })
	addWhen(ModeInterface, "switchport access vlan <n:1-4094>", docSwAccess+"; "+docL2+"; "+docVLANMsg, physical, func(s *session, a []string) string {
		n, _ := strconv.Atoi(a[3])
		ifc(s).accessVlan = n
		if _, ok := s.f.cfg.vlans[n]; !ok && !defaultVLAN(n) {
			s.f.cfg.addVLAN(n)
			return fmt.Sprintf("%% Access VLAN does not exist. Creating vlan %d\n", n)
		}
		return ""
	})
	addWhen(ModeInterface, "no switchport access vlan", docSwAccess, physical, func(s *session, _ []string) string { ifc(s).accessVlan = 0; return "" })
	addWhen(ModeInterface, "ip address <ipv4> <ipv4>", docRACL9k, svi, func(s *session, a []string) string {
		ifc(s).ipAddr, ifc(s).ipMask = a[2], a[3]
		return ""
	})
	addWhen(ModeInterface, "no ip address", docRACL9k, svi, func(s *session, _ []string) string {
		ifc(s).ipAddr, ifc(s).ipMask = "", ""
		return ""
	})
	add(ModeInterface, "ip access-group <word> { in | out }", docACL+"; "+docRACL9k, func(s *session, a []string) string {
		if a[3] == "in" {
			ifc(s).aclIn = a[2]
		} else {
			ifc(s).aclOut = a[2]
		}
		return ""
	})
	add(ModeInterface, "no ip access-group [ <word> ] { in | out }", docACL, func(s *session, a []string) string {
		dir := a[len(a)-1]
		name := ""
		if len(a) == 5 {
			name = a[3]
		}
		i := ifc(s)
		if dir == "in" && (name == "" || name == i.aclIn) {
			i.aclIn = ""
		}
		if dir == "out" && (name == "" || name == i.aclOut) {
			i.aclOut = ""
		}
		return ""
	})

	// Extended ACL configuration: entries with or without a sequence
	// number, removal by number or by content, remarks.
	for _, proto := range []string{"ip", "tcp", "udp", "icmp"} {
		for _, p := range acePatterns(proto) {
			add(ModeExtACL, p, docACL+"; "+docObjGroup+"; "+docPorts, (*session).addACE)
			add(ModeExtACL, "<n:1-2147483647> "+p, docACL, (*session).addACE)
			add(ModeExtACL, "no "+p, docACL, (*session).removeACE)
		}
	}
	add(ModeExtACL, "no <n:1-2147483647>", docACL, (*session).removeACE)
	add(ModeExtACL, "remark <line>", docACL, (*session).addACE)

	// Network object-group configuration.
	grp := func(s *session) *objectGroup { return s.f.cfg.group(s.group) }
	add(ModeNetworkGroup, "host <ipv4>", docObjGroup, func(s *session, a []string) string { return s.addGroupEntry("host " + a[1]) })
	add(ModeNetworkGroup, "<ipv4> <ipv4>", docObjGroup, func(s *session, a []string) string {
		if !isMask(a[1]) {
			return invalidAt(s, 1)
		}
		return s.addGroupEntry(a[0] + " " + a[1])
	})
	add(ModeNetworkGroup, "no host <ipv4>", docObjGroup, func(s *session, a []string) string { return s.removeGroupEntry("host " + a[2]) })
	add(ModeNetworkGroup, "no <ipv4> <ipv4>", docObjGroup, func(s *session, a []string) string { return s.removeGroupEntry(a[1] + " " + a[2]) })
	add(ModeNetworkGroup, "description <line>", docObjGroup, func(s *session, a []string) string { grp(s).description = a[1]; return "" })
	add(ModeNetworkGroup, "no description", docObjGroup, func(s *session, _ []string) string { grp(s).description = ""; return "" })
	return r
}

// isMask reports whether s is a contiguous network mask (255.255.255.0),
// the form the object-group guide gives for network entries.
func isMask(s string) bool {
	var m uint32
	for _, p := range strings.Split(s, ".") {
		n, _ := strconv.Atoi(p)
		m = m<<8 | uint32(n)
	}
	inv := ^m
	return inv&(inv+1) == 0
}

// invalidAt is the invalid-input error pointing at token i of the line
// being run (a parameter that parses but is not valid here).
func invalidAt(s *session, i int) string {
	return s.caret(i) + "% Invalid input detected at '^' marker.\n\n"
}

func (s *session) enterInterface(name string) string {
	c := s.f.cfg
	if c.ifaces[name] == nil {
		if !strings.HasPrefix(name, "Vlan") {
			return invalidAt(s, len(s.toks)-1)
		}
		c.ifaces[name] = &iface{name: name}
	}
	s.mode, s.iface = ModeInterface, name
	return ""
}

func (s *session) removeInterface(name string) string {
	i := s.f.cfg.ifaces[name]
	if i == nil || i.physical {
		return invalidAt(s, 2)
	}
	delete(s.f.cfg.ifaces, name)
	return ""
}

// addACE adds an entry to the ACL being configured: at its sequence number,
// or 10 after the last one (the ACL guide's default increment).
func (s *session) addACE(a []string) string {
	l := s.f.cfg.acl(s.acl)
	seq := 0
	if n, err := strconv.Atoi(a[0]); err == nil {
		seq, a = n, a[1:]
	}
	text := strings.Join(a, " ")
	for _, e := range l.entries {
		if e.text == text && seq == 0 {
			return "" // the same entry again changes nothing
		}
	}
	if seq == 0 {
		seq = 10
		if n := len(l.entries); n > 0 {
			seq = l.entries[n-1].seq + 10
		}
	}
	at := len(l.entries)
	for i, e := range l.entries {
		if e.seq == seq {
			return "% Duplicate sequence number\n"
		}
		if e.seq > seq && at == len(l.entries) {
			at = i
		}
	}
	l.entries = append(l.entries, ace{})
	copy(l.entries[at+1:], l.entries[at:])
	l.entries[at] = ace{seq: seq, text: text}
	return ""
}

func (s *session) removeACE(a []string) string {
	l := s.f.cfg.acl(s.acl)
	a = a[1:] // "no"
	if n, err := strconv.Atoi(a[0]); err == nil && len(a) == 1 {
		for i, e := range l.entries {
			if e.seq == n {
				l.entries = append(l.entries[:i], l.entries[i+1:]...)
				break
			}
		}
		return ""
	}
	text := strings.Join(a, " ")
	for i, e := range l.entries {
		if e.text == text {
			l.entries = append(l.entries[:i], l.entries[i+1:]...)
			break
		}
	}
	return ""
}

func (s *session) addGroupEntry(e string) string {
	g := s.f.cfg.group(s.group)
	for _, x := range g.entries {
		if x == e {
			return ""
		}
	}
	g.entries = append(g.entries, e)
	return ""
}

func (s *session) removeGroupEntry(e string) string {
	g := s.f.cfg.group(s.group)
	for i, x := range g.entries {
		if x == e {
			if len(g.entries) == 1 && s.f.groupInUse(g.name) {
				return fmt.Sprintf("%% Cannot remove the last entry of object-group %s: it is used in an ACL\n", g.name)
			}
			g.entries = append(g.entries[:i], g.entries[i+1:]...)
			break
		}
	}
	return ""
}

func (s *session) removeGroup(a []string) string {
	name := a[3]
	if s.f.groupInUse(name) {
		return fmt.Sprintf("%% Cannot remove object-group %s: it is used in an ACL\n", name)
	}
	c := s.f.cfg
	for i, g := range c.groups {
		if g.name == name {
			c.groups = append(c.groups[:i], c.groups[i+1:]...)
			break
		}
	}
	return ""
}
