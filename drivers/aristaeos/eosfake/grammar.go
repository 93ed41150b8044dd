package eosfake

import (
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Mode is a CLI command mode.
type Mode int

// The command modes, with the prompt each shows (hostname "switch").
const (
	ModeExec   Mode = iota // switch>
	ModePriv               // switch#
	ModeConfig             // switch(config)#, or switch(config-s-NAME)# in a session
	ModeIf                 // switch(config-if-Et5)#, switch(config-if-Vl210)#
	ModeVlan               // switch(config-vlan-210)#
	ModeACL                // switch(config-acl-NAME)#
)

// The error texts EOS prints. "% Invalid input" is shown in Arista Warrior
// 2nd ed., ch. 33 "Aristacisms" (SW1(config-if-Et5)#Duplex full / % Invalid
// input); the incomplete and ambiguous forms are the ones scrapligo's
// arista_eos platform definition (assets/platforms/arista_eos.yaml,
// failed-when-contains) was written against, and what its driver treats as
// a failure. No Arista document listing them was found.
const (
	ErrInvalid    = "% Invalid input"
	ErrIncomplete = "% Incomplete command"
	ErrAmbiguous  = "% Ambiguous command"
)

// ErrDuplicateSeq is what EOS prints for a sequence number already in use
// (transcript from an Arista switch in
// https://github.com/carlmontanari/scrapli/pull/356; the same error for
// ACLs in https://github.com/ansible-collections/arista.eos/issues/284).
// scrapligo v1.4.3's arista_eos failed-when-contains does not list it: a
// driver must add it to notice the failure.
const ErrDuplicateSeq = "% Duplicate sequence number"

var (
	errDuplicateSeq = errors.New(ErrDuplicateSeq)
	errInvalid      = errors.New(ErrInvalid)
	errIncomplete   = errors.New(ErrIncomplete)
	errAmbiguous    = errors.New(ErrAmbiguous)
)

// Documents the grammar cites.
const (
	docManual   = "Arista EOS User Manual 4.20.5F, ch. 3 Command-Line Interface, Command Modes (https://www.arista.com/en/um-eos; copy at https://it.scribd.com/document/394814189/EOS-4-20-5F-Manual-pdf)"
	docSession  = "Arista EOS User Manual, Configure Session (https://www.arista.com/en/um-eos/eos-configure-session)"
	docSessCmds = "Arista EOS User Manual, Session Management Commands: commit timer (https://www.arista.com/en/um-eos/eos-session-management-commands)"
	docSessBlog = "Config Session Timers - Arista EOS: configure session NAME commit|abort from EXEC (https://advertisingemergency.net/?p=112); Config Session Commit Timer (https://eos.arista.com/author/7261-skommu/)"
	docDiffs    = "show session-config diffs examples (https://null.53bits.co.uk/index.php?page=configuration-session; https://ngworx.ag/en/blog/arista-eos-config-sessions/)"
	docACL      = "Arista EOS User Manual, ACLs and Route Maps: Access Control Lists, ip access-list, permit/deny (IPv4 ACL), ip access-group (https://www.arista.com/en/um-eos/eos-acls-and-route-maps); entry forms as in the arista.eos.eos_acls examples (https://github.com/ansible-collections/arista.eos/blob/main/docs/arista.eos.eos_acls_module.rst); established for tcp as capirca's arista generator emits it (https://github.com/google/capirca/blob/master/doc/generators/arista.md)"
	docSwitch   = "Arista EOS User Manual, VLANs: switchport access vlan, switchport mode (https://www.arista.com/en/um-eos/eos-vlans); examples int e2 / SW1(config-if-Et2)# switchport mode access / switchport access vlan 800 and int vlan 800 / SW1(config-if-Vl800)# (https://ccie.ninja/post/advanced-config-management-with-arista-eos) and (config-if-Et10)#switchport access vlan N (https://github.com/pkeroulas/nmos-testing-jtnm/blob/master/docs/arista_cmd_helper.md)"
	docVlan     = "Arista EOS User Manual, VLANs: vlan, name (https://www.arista.com/en/um-eos/eos-vlans); prompt SW1(config-vlan-800)# (https://ccie.ninja/post/advanced-config-management-with-arista-eos)"
	docIPAddr   = "Arista EOS User Manual, IPv4: ip address (https://www.arista.com/en/um-eos/eos-ipv4); SW1(config-if-Vl800)# ip address 10.0.0.50/24 (https://ccie.ninja/post/advanced-config-management-with-arista-eos); no ip address (Arista Warrior 2nd ed., ch. 9, https://www.oreilly.com/library/view/arista-warrior-2nd/9781491953037/ch09.html)"
	docTerm     = "scrapligo arista_eos platform on-open (terminal width 32767, terminal length 0); output as in fakenos arista_eos (https://github.com/fakenos/fakenos/blob/main/docs/platforms/arista_eos.md)"
	docSave     = "Arista EOS User Manual, ch. 3/ch. 4 File management: copy running-config startup-config, write (https://www.arista.com/en/um-eos)"
	docICMP     = "Arista EOS User Manual, ACLs and Route Maps, IPv4 ACL Rule Parameters: Message type, rules filter ICMP type (https://www.arista.com/en/um-eos/eos-acls-and-route-maps); the type names as the arista.eos.eos_acls module writes them after the destination, echo and echo-reply among them (https://github.com/ansible-collections/arista.eos/blob/main/docs/arista.eos.eos_acls_module.rst)"
	docDescr    = "Arista EOS User Manual, Ethernet Ports / Interface Configuration: description (https://www.arista.com/en/um-eos/eos-ethernet-ports); shown in the running configuration as the interface's first line"
)

// Rule is one accepted command pattern. Words are keywords the user may
// abbreviate to any unambiguous prefix, as on EOS; what follows them is
// parsed by the rule itself.
type Rule struct {
	Modes  []Mode
	Words  []string
	Seq    bool   // an optional leading sequence number (ACL entries)
	Syntax string // the arguments after Words, for people
	Doc    string // the vendor document the rule follows
	run    func(sh *shell, seq int, args []string) (string, error)
}

// Grammar is the table of every command the fake accepts. Anything else is
// refused with one of EOS's error texts.
func Grammar() []Rule { return grammar }

var anyConfig = []Mode{ModeConfig, ModeIf, ModeVlan, ModeACL}

var grammar = []Rule{
	// EXEC and privileged EXEC.
	{Modes: []Mode{ModeExec}, Words: []string{"enable"}, Doc: docManual, run: func(sh *shell, _ int, a []string) (string, error) {
		return "", sh.noArgs(a, func() { sh.mode = ModePriv })
	}},
	{Modes: []Mode{ModePriv}, Words: []string{"disable"}, Doc: docManual, run: func(sh *shell, _ int, a []string) (string, error) {
		return "", sh.noArgs(a, func() { sh.mode = ModeExec })
	}},
	{Modes: []Mode{ModeExec, ModePriv}, Words: []string{"terminal", "length"}, Syntax: "0-32767", Doc: docTerm, run: runTermLength},
	{Modes: []Mode{ModeExec, ModePriv}, Words: []string{"terminal", "width"}, Syntax: "10-32767", Doc: docTerm, run: runTermWidth},
	{Modes: []Mode{ModeExec, ModePriv}, Words: []string{"exit"}, Doc: docManual, run: func(sh *shell, _ int, a []string) (string, error) {
		return "", sh.noArgs(a, func() { sh.quit = true })
	}},
	{Modes: append([]Mode{ModePriv}, anyConfig...), Words: []string{"show", "running-config"}, Doc: docManual, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) > 0 {
			return "", errInvalid
		}
		return sh.f.running.render(), nil
	}},
	{Modes: []Mode{ModePriv}, Words: []string{"configure"}, Doc: docManual, run: func(sh *shell, _ int, a []string) (string, error) {
		return "", sh.noArgs(a, sh.enterConfig)
	}},
	{Modes: []Mode{ModePriv}, Words: []string{"configure", "terminal"}, Doc: docManual, run: func(sh *shell, _ int, a []string) (string, error) {
		return "", sh.noArgs(a, sh.enterConfig)
	}},
	{Modes: []Mode{ModePriv}, Words: []string{"configure", "session"}, Syntax: "NAME [commit|abort]", Doc: docSession + "; " + docSessBlog, run: runConfigureSession},
	{Modes: []Mode{ModePriv}, Words: []string{"copy", "running-config", "startup-config"}, Doc: docSave, run: runSave},
	{Modes: []Mode{ModePriv}, Words: []string{"write", "memory"}, Doc: docSave, run: runSave},

	// Global configuration (also reached from the sub-modes, as on EOS:
	// a global command in a sub-mode leaves the sub-mode).
	{Modes: []Mode{ModeConfig}, Words: []string{"interface"}, Syntax: "EthernetN|EtN|VlanN|VlN", Doc: docSwitch, run: runInterface},
	{Modes: []Mode{ModeConfig}, Words: []string{"no", "interface"}, Syntax: "VlanN", Doc: docSwitch, run: runNoInterface},
	{Modes: []Mode{ModeConfig}, Words: []string{"vlan"}, Syntax: "1-4094", Doc: docVlan, run: runVlan},
	{Modes: []Mode{ModeConfig}, Words: []string{"no", "vlan"}, Syntax: "1-4094", Doc: docVlan, run: runNoVlan},
	{Modes: []Mode{ModeConfig}, Words: []string{"ip", "access-list"}, Syntax: "NAME", Doc: docACL, run: runACL},
	{Modes: []Mode{ModeConfig}, Words: []string{"no", "ip", "access-list"}, Syntax: "NAME", Doc: docACL, run: runNoACL},
	{Modes: anyConfig, Words: []string{"exit"}, Doc: docManual, run: func(sh *shell, _ int, a []string) (string, error) {
		return "", sh.noArgs(a, sh.exit)
	}},
	{Modes: anyConfig, Words: []string{"end"}, Doc: docManual + "; " + docSession, run: func(sh *shell, _ int, a []string) (string, error) {
		return "", sh.noArgs(a, sh.end)
	}},

	// Configure session.
	{Modes: anyConfig, Words: []string{"show", "session-config"}, Syntax: "[diffs]", Doc: docSession + "; " + docDiffs, run: runShowSession},
	{Modes: anyConfig, Words: []string{"commit"}, Doc: docSession, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) > 0 {
			return "", errInvalid
		}
		return "", sh.commit(0)
	}},
	{Modes: anyConfig, Words: []string{"commit", "timer"}, Syntax: "hh:mm:ss", Doc: docSessCmds, run: runCommitTimer},
	{Modes: anyConfig, Words: []string{"abort"}, Doc: docSession, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) > 0 {
			return "", errInvalid
		}
		return "", sh.abort()
	}},
	{Modes: anyConfig, Words: []string{"rollback", "clean-config"}, Doc: docSession, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) > 0 {
			return "", errInvalid
		}
		if sh.sess == nil {
			return "", errInvalid
		}
		sh.sess.cfg = newConfig(sh.sess.cfg.hostname, sh.sess.cfg.ports)
		return "", nil
	}},

	// Interface configuration.
	{Modes: []Mode{ModeIf}, Words: []string{"switchport", "mode", "access"}, Doc: docSwitch, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) > 0 || !sh.onEthernet() {
			return "", errInvalid
		}
		return "", nil // access is the default mode; the running configuration does not show it
	}},
	{Modes: []Mode{ModeIf}, Words: []string{"switchport", "access", "vlan"}, Syntax: "1-4094", Doc: docSwitch, run: runAccessVlan},
	{Modes: []Mode{ModeIf}, Words: []string{"no", "switchport", "access", "vlan"}, Syntax: "[1-4094]", Doc: docSwitch, run: runNoAccessVlan},
	{Modes: []Mode{ModeIf}, Words: []string{"ip", "address"}, Syntax: "A.B.C.D/LEN", Doc: docIPAddr, run: runIPAddress},
	{Modes: []Mode{ModeIf}, Words: []string{"no", "ip", "address"}, Doc: docIPAddr, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) > 0 || sh.onEthernet() {
			return "", errInvalid
		}
		sh.cfg().intf(sh.target).address = ""
		return "", nil
	}},
	{Modes: []Mode{ModeIf}, Words: []string{"ip", "access-group"}, Syntax: "NAME in", Doc: docACL, run: runAccessGroup},
	{Modes: []Mode{ModeIf}, Words: []string{"description"}, Syntax: "TEXT", Doc: docDescr, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) == 0 {
			return "", errIncomplete
		}
		sh.cfg().intf(sh.target).description = strings.Join(a, " ")
		return "", nil
	}},
	{Modes: []Mode{ModeIf}, Words: []string{"no", "description"}, Doc: docDescr, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) > 0 {
			return "", errInvalid
		}
		sh.cfg().intf(sh.target).description = ""
		return "", nil
	}},
	{Modes: []Mode{ModeIf}, Words: []string{"no", "ip", "access-group"}, Syntax: "[NAME] in", Doc: docACL, run: runNoAccessGroup},

	// VLAN configuration.
	{Modes: []Mode{ModeVlan}, Words: []string{"name"}, Syntax: "NAME", Doc: docVlan, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) == 0 {
			return "", errIncomplete
		}
		if len(a) > 1 || !nameRe.MatchString(a[0]) {
			return "", errInvalid
		}
		id, _ := strconv.Atoi(sh.target)
		sh.cfg().vlans[id] = a[0]
		return "", nil
	}},
	{Modes: []Mode{ModeVlan}, Words: []string{"no", "name"}, Doc: docVlan, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) > 0 {
			return "", errInvalid
		}
		id, _ := strconv.Atoi(sh.target)
		sh.cfg().vlans[id] = ""
		return "", nil
	}},

	// ACL configuration.
	{Modes: []Mode{ModeACL}, Words: []string{"permit"}, Seq: true, Syntax: "PROTOCOL SOURCE [PORTS] DESTINATION [PORTS] [ICMP-TYPE] [established] [log]", Doc: docACL + "; " + docICMP, run: runEntry("permit")},
	{Modes: []Mode{ModeACL}, Words: []string{"deny"}, Seq: true, Syntax: "PROTOCOL SOURCE [PORTS] DESTINATION [PORTS] [ICMP-TYPE] [established] [log]", Doc: docACL + "; " + docICMP, run: runEntry("deny")},
	{Modes: []Mode{ModeACL}, Words: []string{"no"}, Syntax: "SEQUENCE", Doc: docACL, run: func(sh *shell, _ int, a []string) (string, error) {
		if len(a) == 0 {
			return "", errIncomplete
		}
		seq, err := strconv.Atoi(a[0])
		if len(a) > 1 || err != nil || seq < 1 {
			return "", errInvalid
		}
		sh.cfg().acls[sh.target].remove(seq)
		return "", nil
	}},
}

var (
	nameRe  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,99}$`)
	timerRe = regexp.MustCompile(`^(\d{1,2}):(\d{2}):(\d{2})$`)
)

// keyword reports whether tok abbreviates word.
func keyword(tok, word string) bool {
	return tok != "" && strings.HasPrefix(word, strings.ToLower(tok))
}

// match finds the rule a line's tokens select in mode, the way EOS reads a
// command: each token must abbreviate exactly one keyword that can follow
// the ones before it.
func match(mode Mode, toks []string) (*Rule, int, []string, error) {
	var cands []*Rule
	for i := range grammar {
		for _, m := range grammar[i].Modes {
			if m == mode {
				cands = append(cands, &grammar[i])
			}
		}
	}
	seq := 0
	if len(toks) > 0 {
		if n, err := strconv.Atoi(toks[0]); err == nil {
			var seqRules []*Rule
			for _, r := range cands {
				if r.Seq {
					seqRules = append(seqRules, r)
				}
			}
			if len(seqRules) == 0 || n < 1 || n > 4294967295 {
				return nil, 0, nil, errInvalid
			}
			cands, seq, toks = seqRules, n, toks[1:]
			if len(toks) == 0 {
				return nil, 0, nil, errIncomplete
			}
		}
	}
	for pos := 0; ; pos++ {
		var done, going []*Rule
		for _, r := range cands {
			if len(r.Words) == pos {
				done = append(done, r)
			} else {
				going = append(going, r)
			}
		}
		if pos == len(toks) {
			if len(done) == 1 {
				return done[0], seq, nil, nil
			}
			return nil, 0, nil, errIncomplete
		}
		words := map[string][]*Rule{}
		exact := ""
		for _, r := range going {
			w := r.Words[pos]
			if keyword(toks[pos], w) {
				words[w] = append(words[w], r)
				if strings.EqualFold(toks[pos], w) {
					exact = w
				}
			}
		}
		switch {
		case exact != "":
			cands = words[exact]
		case len(words) == 1:
			for _, rs := range words {
				cands = rs
			}
		case len(words) > 1:
			return nil, 0, nil, errAmbiguous
		case len(done) == 1:
			return done[0], seq, toks[pos:], nil
		default:
			return nil, 0, nil, errInvalid
		}
	}
}

func runTermLength(sh *shell, _ int, a []string) (string, error) {
	n, err := intArg(a, 0, 32767)
	if err != nil {
		return "", err
	}
	sh.pageLength = n
	if n == 0 {
		return "Pagination disabled", nil
	}
	return "", nil // no example of what EOS prints here was found
}

func runTermWidth(sh *shell, _ int, a []string) (string, error) {
	n, err := intArg(a, 10, 32767)
	if err != nil {
		return "", err
	}
	return "Width set to " + strconv.Itoa(n), nil
}

// intArg reads the single number argument of a command.
func intArg(a []string, lo, hi int) (int, error) {
	if len(a) == 0 {
		return 0, errIncomplete
	}
	n, err := strconv.Atoi(a[0])
	if len(a) > 1 || err != nil || n < lo || n > hi {
		return 0, errInvalid
	}
	return n, nil
}

func runSave(sh *shell, _ int, a []string) (string, error) {
	if len(a) > 0 {
		return "", errInvalid
	}
	sh.f.startup = sh.f.running.clone()
	return "Copy completed successfully.", nil
}

func runConfigureSession(sh *shell, _ int, a []string) (string, error) {
	if len(a) == 0 {
		// EOS names a session itself when none is given; the fake wants
		// the name, so a driver's transcript says which session it used.
		return "", errIncomplete
	}
	if len(a) > 2 || !nameRe.MatchString(a[0]) {
		return "", errInvalid
	}
	name := a[0]
	if len(a) == 2 {
		switch {
		case keyword(a[1], "commit"):
			return "", sh.f.confirmSession(name)
		case keyword(a[1], "abort"):
			return "", sh.f.abortSession(name)
		}
		return "", errInvalid
	}
	s := sh.f.sessions[name]
	if p := sh.f.pending; p != nil && p.name == name {
		// Entering a session whose commit timer runs: its commit is the
		// "second commit of that session" that confirms (docSessBlog).
		s = &session{name: name, cfg: sh.f.running.clone()}
	} else if s == nil {
		s = &session{name: name, cfg: sh.f.running.clone()}
		sh.f.sessions[name] = s
	}
	sh.sess = s
	sh.mode, sh.target = ModeConfig, ""
	return "", nil
}

func runShowSession(sh *shell, _ int, a []string) (string, error) {
	if sh.sess == nil {
		return "", errInvalid
	}
	switch {
	case len(a) == 0:
		return sh.sess.cfg.render(), nil
	case len(a) == 1 && keyword(a[0], "diffs"):
		return unifiedDiff("system:/running-config", "session:/"+sh.sess.name+"-session-config",
			sh.f.running.render(), sh.sess.cfg.render()), nil
	}
	return "", errInvalid
}

func runCommitTimer(sh *shell, _ int, a []string) (string, error) {
	if len(a) == 0 {
		return "", errIncomplete
	}
	m := timerRe.FindStringSubmatch(a[0])
	if len(a) > 1 || m == nil {
		return "", errInvalid
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	s, _ := strconv.Atoi(m[3])
	d := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
	if mi > 59 || s > 59 || d == 0 {
		return "", errInvalid
	}
	return "", sh.commit(d)
}

// interfaceName reads EthernetN / EtN / VlanN / VlN, also as two tokens
// ("Ethernet 5"), into the canonical name.
func interfaceName(a []string, ports int) (string, error) {
	if len(a) == 0 {
		return "", errIncomplete
	}
	s := strings.Join(a, "")
	if len(a) > 2 {
		return "", errInvalid
	}
	i := strings.IndexAny(s, "0123456789")
	if i < 1 {
		return "", errInvalid
	}
	kind, num := strings.ToLower(s[:i]), s[i:]
	if kind == "v" {
		return "", errAmbiguous // Vlan or Vxlan on EOS
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return "", errInvalid
	}
	switch {
	case strings.HasPrefix("ethernet", kind):
		if n < 1 || n > ports {
			return "", errInvalid
		}
		return "Ethernet" + strconv.Itoa(n), nil
	case strings.HasPrefix("vlan", kind):
		if n < 1 || n > 4094 {
			return "", errInvalid
		}
		return "Vlan" + strconv.Itoa(n), nil
	}
	return "", errInvalid
}

func runInterface(sh *shell, _ int, a []string) (string, error) {
	name, err := interfaceName(a, sh.cfg().ports)
	if err != nil {
		return "", err
	}
	sh.cfg().intf(name)
	sh.mode, sh.target = ModeIf, name
	return "", nil
}

func runNoInterface(sh *shell, _ int, a []string) (string, error) {
	name, err := interfaceName(a, sh.cfg().ports)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(name, "Ethernet") {
		return "", errInvalid // a physical port cannot be removed
	}
	delete(sh.cfg().intfs, name)
	return "", nil
}

func runVlan(sh *shell, _ int, a []string) (string, error) {
	id, err := intArg(a, 1, 4094)
	if err != nil {
		return "", err
	}
	c := sh.cfg()
	if _, ok := c.vlans[id]; !ok {
		c.vlans[id] = ""
	}
	sh.mode, sh.target = ModeVlan, strconv.Itoa(id)
	return "", nil
}

func runNoVlan(sh *shell, _ int, a []string) (string, error) {
	id, err := intArg(a, 1, 4094)
	if err != nil {
		return "", err
	}
	delete(sh.cfg().vlans, id)
	return "", nil
}

func runACL(sh *shell, _ int, a []string) (string, error) {
	if len(a) == 0 {
		return "", errIncomplete
	}
	if len(a) > 1 || !nameRe.MatchString(a[0]) {
		return "", errInvalid
	}
	c := sh.cfg()
	if c.acls[a[0]] == nil {
		c.acls[a[0]] = &acl{}
	}
	sh.mode, sh.target = ModeACL, a[0]
	return "", nil
}

func runNoACL(sh *shell, _ int, a []string) (string, error) {
	if len(a) == 0 {
		return "", errIncomplete
	}
	if len(a) > 1 {
		return "", errInvalid
	}
	delete(sh.cfg().acls, a[0])
	return "", nil
}

func runAccessVlan(sh *shell, _ int, a []string) (string, error) {
	if !sh.onEthernet() {
		return "", errInvalid
	}
	id, err := intArg(a, 1, 4094)
	if err != nil {
		return "", err
	}
	sh.cfg().intf(sh.target).accessVlan = id
	return "", nil
}

func runNoAccessVlan(sh *shell, _ int, a []string) (string, error) {
	if !sh.onEthernet() {
		return "", errInvalid
	}
	if len(a) > 0 {
		if _, err := intArg(a, 1, 4094); err != nil {
			return "", err
		}
	}
	sh.cfg().intf(sh.target).accessVlan = 0
	return "", nil
}

func runIPAddress(sh *shell, _ int, a []string) (string, error) {
	if sh.onEthernet() {
		// Ethernet ports are switchports here; a routed port needs
		// "no switchport", which the fake does not model.
		return "", errInvalid
	}
	if len(a) == 0 {
		return "", errIncomplete
	}
	p, err := netip.ParsePrefix(a[0])
	if len(a) > 1 || err != nil || !p.Addr().Is4() || p.Bits() < 1 || p.Bits() > 31 {
		return "", errInvalid
	}
	sh.cfg().intf(sh.target).address = p.String()
	return "", nil
}

func runAccessGroup(sh *shell, _ int, a []string) (string, error) {
	if len(a) < 2 {
		return "", errIncomplete
	}
	if len(a) > 2 || !nameRe.MatchString(a[0]) || !keyword(a[1], "in") {
		return "", errInvalid
	}
	sh.cfg().intf(sh.target).aclIn = a[0]
	return "", nil
}

func runNoAccessGroup(sh *shell, _ int, a []string) (string, error) {
	switch {
	case len(a) == 0:
		return "", errIncomplete
	case len(a) == 1 && keyword(a[0], "in"):
	case len(a) == 2 && keyword(a[1], "in"):
	default:
		return "", errInvalid
	}
	sh.cfg().intf(sh.target).aclIn = ""
	return "", nil
}

// runEntry parses an IPv4 ACL rule after permit/deny:
//
//	PROTOCOL SOURCE [eq PORT... | range LO HI] DESTINATION [eq PORT... | range LO HI] [established] [log]
//
// PROTOCOL is ip, tcp, udp, icmp or a number 0-255; ports and established
// only follow tcp (established) or tcp/udp (ports). The text kept is the
// canonical form the running configuration shows.
func runEntry(action string) func(sh *shell, seq int, a []string) (string, error) {
	return func(sh *shell, seq int, a []string) (string, error) {
		text, err := parseEntry(a)
		if err != nil {
			return "", err
		}
		if err := sh.cfg().acls[sh.target].add(seq, action+" "+text); err != nil {
			return "", err
		}
		return "", nil
	}
}

func parseEntry(a []string) (string, error) {
	if len(a) == 0 {
		return "", errIncomplete
	}
	var out []string
	proto := ""
	if n, err := strconv.Atoi(a[0]); err == nil {
		if n < 0 || n > 255 {
			return "", errInvalid
		}
		proto = strconv.Itoa(n)
	} else {
		var hits []string
		for _, p := range []string{"ip", "tcp", "udp", "icmp"} {
			if strings.EqualFold(a[0], p) {
				hits = []string{p}
				break
			}
			if keyword(a[0], p) {
				hits = append(hits, p)
			}
		}
		switch len(hits) {
		case 0:
			return "", errInvalid
		case 1:
			proto = hits[0]
		default:
			return "", errAmbiguous
		}
	}
	out = append(out, proto)
	a = a[1:]
	ports := proto == "tcp" || proto == "udp"
	for side := 0; side < 2; side++ {
		if len(a) == 0 {
			return "", errIncomplete
		}
		addr, used, ok := canonicalAddr(a)
		if !ok {
			if used == 1 && len(a) == 1 {
				return "", errIncomplete // "host" with no address
			}
			return "", errInvalid
		}
		out = append(out, addr)
		a = a[used:]
		if ports && len(a) > 0 {
			p, used, err := parsePorts(a)
			if err != nil {
				return "", err
			}
			if used > 0 {
				out = append(out, p)
				a = a[used:]
			}
		}
	}
	if proto == "icmp" && len(a) > 0 && icmpTypes[strings.ToLower(a[0])] {
		out = append(out, strings.ToLower(a[0]))
		a = a[1:]
	}
	for len(a) > 0 {
		switch {
		case proto == "tcp" && keyword(a[0], "established") && !contains(out, "established") && !contains(out, "log"):
			out = append(out, "established")
		case keyword(a[0], "log") && !contains(out, "log"):
			out = append(out, "log")
		default:
			return "", errInvalid
		}
		a = a[1:]
	}
	return strings.Join(out, " "), nil
}

// icmpTypes are the ICMP message type names an icmp entry takes after its
// destination (docICMP); the fake takes them in full only.
var icmpTypes = map[string]bool{
	"echo": true, "echo-reply": true, "unreachable": true, "time-exceeded": true, "redirect": true,
	"parameter-problem": true, "source-quench": true, "router-advertisement": true, "router-solicitation": true,
	"timestamp-request": true, "timestamp-reply": true, "information-request": true, "information-reply": true,
	"mask-request": true, "mask-reply": true,
}

// parsePorts reads "eq P [P...]" or "range LO HI" at the head of a; used
// is 0 when a does not start with a port operator.
func parsePorts(a []string) (string, int, error) {
	switch {
	case keyword(a[0], "eq") && len(a[0]) >= 1:
		var ps []string
		i := 1
		for ; i < len(a); i++ {
			n, err := strconv.Atoi(a[i])
			if err != nil {
				break
			}
			if n < 0 || n > 65535 {
				return "", 0, errInvalid
			}
			ps = append(ps, strconv.Itoa(n))
		}
		if len(ps) == 0 {
			if i == len(a) {
				return "", 0, errIncomplete
			}
			return "", 0, errInvalid
		}
		return "eq " + strings.Join(ps, " "), i, nil
	case keyword(a[0], "range") && len(a[0]) >= 1:
		if len(a) < 3 {
			return "", 0, errIncomplete
		}
		lo, err1 := strconv.Atoi(a[1])
		hi, err2 := strconv.Atoi(a[2])
		if err1 != nil || err2 != nil || lo < 0 || hi > 65535 || lo > hi {
			return "", 0, errInvalid
		}
		return "range " + strconv.Itoa(lo) + " " + strconv.Itoa(hi), 3, nil
	}
	return "", 0, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
