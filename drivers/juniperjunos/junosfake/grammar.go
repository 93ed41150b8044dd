package junosfake

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Documents the grammar cites. Each rule names one of these, with the
// section or statement it comes from.
const (
	docCLIConfig     = "https://juniper.net/documentation/us/en/software/junos/cli/topics/topic-map/cli-configuration.html (CLI Configuration Mode Overview: Configuration Mode Commands)"
	docConfigure     = "https://juniper.net/documentation/en_US/junos12.3/topics/reference/general/junos-cli-configure-command-types.html (Forms of the configure Command)"
	docExclusive     = "https://juniper.net/documentation/en_US/junos12.3/topics/task/configuration/junos-cli-configure-exclusive-command-using.html (Using the configure exclusive Command)"
	docCommit        = "https://www.juniper.net/documentation/en_US/junos/topics/reference/command-summary/commit.html (commit: <check> <confirmed> <minutes>)"
	docConfirmed     = "https://juniper.net/documentation/us/en/software/junos/junos-xml-protocol/topics/task/junos-xml-protocol-configuration-committing-with-confirmation.html (confirmed commit: 10 minutes by default, 1..65,535 minutes, automatic rollback)"
	docLoad          = "https://www.juniper.net/techpubs/en_US/junos14.1/topics/example/junos-software-config-file-loading.html (load ... terminal, Ctrl-d ends the input)"
	docRollback      = "https://juniper.net/documentation/en_US/junos12.3/topics/reference/command-summary/show-system-rollback.html (rollback numbers 0 through 49)"
	docCompare       = "https://juniper.net/documentation/us/en/software/junos/junos-xml-protocol/topics/task/junos-xml-protocol-requesting-configuration-comparison.html (show | compare in configuration mode)"
	docShowCLI       = "https://juniper.net/documentation/en_US/junos12.3/topics/reference/command-summary/show-cli.html (CLI screen-length, screen-width, complete-on-space)"
	docFilterMatch   = "https://www.juniper.net/documentation/us/en/software/junos/routing-policy/topics/concept/firewall-filter-match-conditions-for-ipv4-traffic.html (match conditions at [edit firewall family inet filter filter-name term term-name from])"
	docFirewallHier  = "https://juniper.net/documentation/en_US/junos12.1x47/topics/reference/statement-hierarchy/firewall-hierarchy-security.html (firewall family ... filter term from / then { accept; count; discard; })"
	docFilterFrom    = "https://juniper.net/documentation/en_US/junos9.2/topics/reference/configuration-statement/from-firewall-filter-ex-series.html (from, EX Series)"
	docFilterIPv6Ex  = "https://juniper.net/documentation/us/en/software/junos/routing-policy/topics/example/filter-match-ipv6-configuring-cli.html (set then count NAME log accept)"
	docPrefixList    = "https://www.juniper.net/documentation/en_US/junos/topics/reference/configuration-statement/prefix-list-edit-policy-options.html (prefix-list name { ip-addresses; }, /32 when the length is omitted)"
	docIRB           = "https://juniper.net/documentation/en_US/junos13.2/topics/reference/configuration-statement/irb-edit-interfaces.html (irb unit family inet { address; filter { input filter-name; } })"
	docL3Interface   = "https://juniper.net/documentation/en_US/junos13.2/topics/reference/configuration-statement/l3-interface-edit-vlans-qfx-series.html (l3-interface irb.N under [edit vlans vlan-name], ELS)"
	docEthSwitching  = "https://juniper.net/documentation/en_US/junos9.6/topics/reference/configuration-statement/family-ethernet-switching-edit-interfaces-ex-series.html (family ethernet-switching { vlan { members [ names ]; } })"
	docELSSwitching  = "https://networkingdocs.hpe.com/documentation/us/en/software/junos/cli-reference/topics/ref/statement/family-ethernet-switching-edit-interfaces-qfx-series-els.html (family ethernet-switching, ELS: interface-mode (access | trunk), vlan members); https://docs.ansible.com/ansible/latest/modules/junos_l2_interfaces_module.html (ELS configures interface-mode, older releases port-mode)"
	docVLANs         = "https://juniper.net/documentation/en_US/junos13.2/topics/task/verification/bridging-integrated-routing-bridging-interface-els.html (ELS VLANs with tags and IRB interfaces)"
	docDescription   = "https://juniper.net/documentation/en_US/junos9.2/topics/reference/configuration-statement/description-interfaces-ex-series.html (description text; text with spaces in quotes)"
	docSystemExample = "https://juniper.net/documentation/en_US/junos12.3/topics/task/configuration/junos-cli-configure-exclusive-command-using.html (set system host-name in the example session)"
)

// Rule is one accepted command pattern. Tokens are separated by spaces; a
// token in angle brackets is a value of that kind (see kinds). In
// configuration statements, ";" separates the levels of the hierarchy
// ("filter <name>" is one level), which is how `show` nests them.
type Rule struct {
	Pattern string
	// List: the last level is one value of a list (prefix-list entries,
	// vlan members, ports): setting another adds to it. Otherwise a new
	// value replaces the old one under the same keyword.
	List bool
	// Choice groups leaves that replace each other (accept / discard).
	Choice string
	// Container: the statement is a container that may be empty (an empty
	// prefix-list); it ends the line, and shows as the bare statement
	// while it has nothing in it.
	Container bool
	Doc       string
}

// OperationalCommands are accepted at the user@host> prompt.
var OperationalCommands = []Rule{
	{Pattern: "configure", Doc: docConfigure},
	{Pattern: "configure private", Doc: docConfigure},
	{Pattern: "configure exclusive", Doc: docConfigure},
	{Pattern: "set cli screen-length <screen-length>", Doc: docShowCLI},
	{Pattern: "set cli screen-width <screen-width>", Doc: docShowCLI},
	{Pattern: "set cli complete-on-space <on-off>", Doc: docShowCLI},
	{Pattern: "show configuration", Doc: docCompare},
	{Pattern: "show configuration | display set", Doc: docCompare},
	{Pattern: "exit", Doc: docCLIConfig},
	{Pattern: "quit", Doc: docCLIConfig},
}

// ConfigurationCommands are accepted at the user@host# prompt; "<statement>"
// is a path of Statements.
var ConfigurationCommands = []Rule{
	{Pattern: "set <statement>", Doc: docCLIConfig},
	{Pattern: "delete <statement>", Doc: docCLIConfig},
	{Pattern: "show", Doc: docCLIConfig},
	{Pattern: "show | compare", Doc: docCompare},
	{Pattern: "show | display set", Doc: docCompare},
	{Pattern: "commit", Doc: docCommit},
	{Pattern: "commit check", Doc: docCommit},
	{Pattern: "commit confirmed", Doc: docConfirmed},
	{Pattern: "commit confirmed <minutes>", Doc: docConfirmed},
	{Pattern: "rollback", Doc: docRollback},
	{Pattern: "rollback <rollback>", Doc: docRollback},
	{Pattern: "load set terminal", Doc: docLoad},
	{Pattern: "load merge terminal", Doc: docLoad},
	{Pattern: "load override terminal", Doc: docLoad},
	{Pattern: "exit", Doc: docCLIConfig},
	{Pattern: "quit", Doc: docCLIConfig},
	{Pattern: "exit configuration-mode", Doc: docCLIConfig},
}

const termPrefix = "firewall;family inet;filter <name>;term <name>;"

// Prefix-list and address match conditions are containers of names (each
// may carry except), so show prints "source-prefix-list { pumps; }".

// Statements is the configuration hierarchy the fake accepts: what Ward's
// Junos driver needs for a routed zone firewall (irb units with an input
// filter, filters with terms on prefix-lists) and access ports (VLANs and
// ethernet-switching members).
var Statements = []Rule{
	{Pattern: "system;host-name <name>", Doc: docSystemExample},

	{Pattern: "policy-options;prefix-list <name>", Container: true, Doc: docPrefixList},
	{Pattern: "policy-options;prefix-list <name>;<prefix>", List: true, Doc: docPrefixList},

	{Pattern: termPrefix + "from;source-prefix-list;<name>", List: true, Doc: docFilterMatch},
	{Pattern: termPrefix + "from;destination-prefix-list;<name>", List: true, Doc: docFilterMatch},
	{Pattern: termPrefix + "from;source-address;<prefix>", List: true, Doc: docFilterMatch},
	{Pattern: termPrefix + "from;destination-address;<prefix>", List: true, Doc: docFilterMatch},
	{Pattern: termPrefix + "from;protocol <protocol>", List: true, Doc: docFilterMatch},
	{Pattern: termPrefix + "from;source-port <port>", List: true, Doc: docFilterMatch},
	{Pattern: termPrefix + "from;destination-port <port>", List: true, Doc: docFilterMatch},
	{Pattern: termPrefix + "from;icmp-type <icmp-type>", List: true, Doc: docFilterMatch},
	{Pattern: termPrefix + "from;tcp-established", Doc: docFilterMatch},
	{Pattern: termPrefix + "then;accept", Choice: "action", Doc: docFirewallHier},
	{Pattern: termPrefix + "then;discard", Choice: "action", Doc: docFirewallHier},
	{Pattern: termPrefix + "then;count <name>", Doc: docFirewallHier},
	{Pattern: termPrefix + "then;log", Doc: docFilterIPv6Ex},

	{Pattern: "interfaces;irb;unit <unit>;family inet;address <prefix>", List: true, Doc: docIRB},
	{Pattern: "interfaces;irb;unit <unit>;family inet;filter;input <name>", Doc: docIRB},
	{Pattern: "interfaces;<interface>;description <description>", Doc: docDescription},
	{Pattern: "interfaces;<interface>;unit <unit>;family ethernet-switching;interface-mode <interface-mode>", Doc: docELSSwitching},
	{Pattern: "interfaces;<interface>;unit <unit>;family ethernet-switching;vlan;members <name>", List: true, Doc: docEthSwitching},

	{Pattern: "vlans;<name>;vlan-id <vlan-id>", Doc: docVLANs},
	{Pattern: "vlans;<name>;l3-interface <irb-unit>", Doc: docL3Interface},
}

// kind checks one value token. range is set for numbers, so that an
// out-of-range value gets the range message instead of a syntax error.
type kind struct {
	match  func(string) bool
	lo, hi int
	number bool
	// canon rewrites an accepted value the way the device stores it.
	canon func(string) string
}

var (
	reName        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	reInterface   = regexp.MustCompile(`^(ge|xe|et|mge)-\d{1,2}/\d{1,2}/\d{1,3}$`)
	reIRBUnit     = regexp.MustCompile(`^irb\.\d{1,5}$`)
	reDescription = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,254}$`)
	rePortRange   = regexp.MustCompile(`^(\d{1,5})-(\d{1,5})$`)
)

// portNames are text synonyms from the destination-port row of docFilterMatch.
var portNames = map[string]bool{
	"bgp": true, "bootpc": true, "bootps": true, "dhcp": true, "domain": true, "ftp": true, "ftp-data": true,
	"http": true, "https": true, "ldap": true, "ntp": true, "radius": true, "radacct": true, "smtp": true,
	"snmp": true, "snmptrap": true, "ssh": true, "syslog": true, "tacacs": true, "telnet": true, "tftp": true,
}

// protocolNames are text synonyms of the protocol match condition (docFilterMatch).
var protocolNames = map[string]bool{
	"ah": true, "egp": true, "esp": true, "gre": true, "icmp": true, "igmp": true, "ipip": true,
	"ospf": true, "pim": true, "rsvp": true, "sctp": true, "tcp": true, "udp": true, "vrrp": true,
}

var icmpTypes = map[string]bool{
	"echo-reply": true, "echo-request": true, "time-exceeded": true, "unreachable": true,
}

func numberKind(lo, hi int) kind {
	return kind{number: true, lo: lo, hi: hi, match: func(s string) bool {
		n, err := strconv.Atoi(s)
		return err == nil && n >= lo && n <= hi
	}}
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

var kinds = map[string]kind{
	"name": {match: reName.MatchString},
	// Descriptions without spaces need no quotes (docDescription); the
	// fake reads no quoted strings.
	"description": {match: reDescription.MatchString},
	"interface":   {match: reInterface.MatchString},
	"irb-unit":    {match: reIRBUnit.MatchString},
	"unit":        numberKind(0, 16385),
	"vlan-id":     numberKind(1, 4094),
	"minutes":     numberKind(1, 65535),
	"rollback":    numberKind(0, 49),
	// screen-length 0 turns the pager off (docShowCLI).
	"screen-length":  numberKind(0, 100000),
	"screen-width":   numberKind(0, 100000),
	"on-off":         {match: func(s string) bool { return s == "on" || s == "off" }},
	"interface-mode": {match: func(s string) bool { return s == "access" || s == "trunk" }},
	"icmp-type":      {match: func(s string) bool { return icmpTypes[s] || isByte(s) }},
	"protocol":       {match: func(s string) bool { return protocolNames[s] || isByte(s) }},
	"port": {match: func(s string) bool {
		if portNames[s] {
			return true
		}
		if m := rePortRange.FindStringSubmatch(s); m != nil {
			a, _ := strconv.Atoi(m[1])
			b, _ := strconv.Atoi(m[2])
			return a <= b && b <= 65535
		}
		n, err := strconv.Atoi(s)
		return err == nil && n >= 0 && n <= 65535
	}},
	"prefix": {match: func(s string) bool {
		_, ok := canonPrefix(s)
		return ok
	}, canon: func(s string) string {
		c, _ := canonPrefix(s)
		return c
	}},
}

func isByte(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 255
}

// canonPrefix accepts an IPv4 prefix; without a length it is a /32
// (docPrefixList).
func canonPrefix(s string) (string, bool) {
	if !strings.Contains(s, "/") {
		s += "/32"
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return "", false
	}
	return p.String(), true
}

// token is one word of an input line and where it starts in the line.
type token struct {
	text string
	col  int
}

// tokenize splits a line on blanks; "|" is a word of its own, as the CLI
// reads "show|compare" like "show | compare".
func tokenize(line string) []token {
	var out []token
	start := -1
	flush := func(i int) {
		if start >= 0 {
			out = append(out, token{line[start:i], start})
			start = -1
		}
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			flush(i)
		case c == '|':
			flush(i)
			out = append(out, token{"|", i})
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(line))
	return out
}

// CLIError is input the CLI rejects: Message is the OS's text and Col the
// column of the line the caret points at.
type CLIError struct {
	Col     int
	Message string
}

func (e *CLIError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Message) }

// Error texts, exactly as published Junos sessions print them: "unknown
// command." for a word that is no command, "syntax error." for a word that
// does not fit where it stands, "missing argument." when the line stops
// early, "'s' is ambiguous." for an abbreviation of more than one keyword
// (the errors scrapligo's juniper_junos platform lists in
// failed-when-contains), and the range message for a number out of range.
const (
	msgUnknown  = "unknown command."
	msgSyntax   = "syntax error."
	msgMissing  = "missing argument."
	fmtAmbig    = "'%s' is ambiguous."
	fmtRange    = "Value %s is not within range (%d..%d) at '%s'"
	msgNotFound = "warning: statement not found"
)

// pattern is a rule split into words, with the level each word belongs to.
type pattern struct {
	rule  *Rule
	words []string
	level []int // index of the hierarchy level of each word
}

func compile(rules []Rule) []pattern {
	out := make([]pattern, 0, len(rules))
	for i := range rules {
		r := &rules[i]
		p := pattern{rule: r}
		for li, lvl := range strings.Split(r.Pattern, ";") {
			for _, w := range strings.Fields(lvl) {
				p.words = append(p.words, w)
				p.level = append(p.level, li)
			}
		}
		out = append(out, p)
	}
	return out
}

func isValue(w string) bool { return strings.HasPrefix(w, "<") && strings.HasSuffix(w, ">") }

// step narrows the candidate patterns by the word at position i: an exact
// keyword first, then a unique abbreviation of a keyword, then values.
// It returns the survivors and the word as the device stores it.
func step(cands []pattern, i int, tok token) ([]pattern, string, *CLIError) {
	var exact, values []pattern
	prefixKW := map[string]bool{}
	var prefixed []pattern
	var rangeErr *CLIError
	for _, p := range cands {
		if i >= len(p.words) {
			continue
		}
		w := p.words[i]
		if !isValue(w) {
			if w == tok.text {
				exact = append(exact, p)
			} else if strings.HasPrefix(w, tok.text) {
				prefixKW[w] = true
				prefixed = append(prefixed, p)
			}
			continue
		}
		k := kinds[strings.Trim(w, "<>")]
		if k.match(tok.text) {
			values = append(values, p)
		} else if k.number && isNumber(tok.text) && rangeErr == nil {
			rangeErr = &CLIError{Col: tok.col, Message: fmt.Sprintf(fmtRange, tok.text, k.lo, k.hi, tok.text)}
		}
	}
	switch {
	case len(exact) > 0:
		return exact, tok.text, nil
	case len(prefixKW) == 1:
		for kw := range prefixKW {
			return prefixed, kw, nil
		}
	case len(prefixKW) > 1:
		return nil, "", &CLIError{Col: tok.col, Message: fmt.Sprintf(fmtAmbig, tok.text)}
	case len(values) > 0:
		val := tok.text
		if k := kinds[strings.Trim(values[0].words[i], "<>")]; k.canon != nil {
			val = k.canon(val)
		}
		return values, val, nil
	case rangeErr != nil:
		return nil, "", rangeErr
	}
	return nil, "", &CLIError{Col: tok.col, Message: msgSyntax}
}

// command is a matched command line: the rule, its words as stored, and,
// for set/delete, the statement words after the verb.
type command struct {
	rule  *Rule
	words []string
	rest  []token
}

// matchCommand matches a whole command line against commands. A first word
// that starts no command is "unknown command."; words after it that do not
// fit are "syntax error.".
func matchCommand(pats []pattern, toks []token) (*command, *CLIError) {
	if len(toks) == 0 {
		return nil, nil
	}
	cands := pats
	var words []string
	for i, tok := range toks {
		// "<statement>" takes the rest of the line: statements are matched
		// by matchStatement, which knows the hierarchy.
		for _, p := range cands {
			if i < len(p.words) && p.words[i] == "<statement>" {
				return &command{rule: p.rule, words: words, rest: toks[i:]}, nil
			}
		}
		next, w, err := step(cands, i, tok)
		if err != nil {
			if i == 0 && err.Message == msgSyntax {
				err.Message = msgUnknown
			}
			return nil, err
		}
		cands, words = next, append(words, w)
	}
	for _, p := range cands {
		if len(p.words) == len(words) {
			return &command{rule: p.rule, words: words}, nil
		}
	}
	for _, p := range cands {
		if len(p.words) > len(words) && p.words[len(words)] == "<statement>" {
			return nil, &CLIError{Col: -1, Message: msgMissing}
		}
	}
	return nil, &CLIError{Col: -1, Message: msgMissing}
}

// leaf is one configuration statement as stored: its levels ("filter f1",
// "term t1", "then", "accept") and what a new value replaces.
type leaf struct {
	levels []string
	key    string // leaves under one parent with the same key replace each other
	rule   *Rule
}

// matchStatement matches the words after set. Several statements of one
// container may share a line ("interface-mode access vlan members v210"),
// as Junos allows; each is returned as its own leaf.
func matchStatement(pats []pattern, toks []token) ([]leaf, *CLIError) {
	if len(toks) == 0 {
		return nil, &CLIError{Col: -1, Message: msgMissing}
	}
	return matchFrom(pats, toks, nil, 0)
}

func matchFrom(pats []pattern, toks []token, prefix []string, startWord int) ([]leaf, *CLIError) {
	cands := pats
	words := append([]string(nil), prefix...)
	for ti, tok := range toks {
		i := startWord + ti
		next, w, err := step(cands, i, tok)
		if err != nil {
			return nil, err
		}
		cands, words = next, append(words, w)
		// A complete statement with words left over: the rest continues in
		// the same container.
		for _, p := range cands {
			if len(p.words) != len(words) || (p.rule.Container && ti != len(toks)-1) {
				continue
			}
			l := makeLeaf(p, words)
			if ti == len(toks)-1 {
				return []leaf{l}, nil
			}
			parentWords := len(words) - levelLen(p, p.level[len(p.level)-1])
			more, err := matchFrom(samePrefix(pats, words[:parentWords]), toks[ti+1:], words[:parentWords], parentWords)
			if err != nil {
				return nil, err
			}
			return append([]leaf{l}, more...), nil
		}
	}
	return nil, &CLIError{Col: -1, Message: msgMissing}
}

// samePrefix keeps the patterns that can continue after the given words.
func samePrefix(pats []pattern, words []string) []pattern {
	var out []pattern
	for _, p := range pats {
		if len(p.words) <= len(words) {
			continue
		}
		ok := true
		for i, w := range words {
			if p.words[i] != w && !(isValue(p.words[i]) && kinds[strings.Trim(p.words[i], "<>")].match(w)) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

func levelLen(p pattern, lvl int) int {
	n := 0
	for _, l := range p.level {
		if l == lvl {
			n++
		}
	}
	return n
}

func makeLeaf(p pattern, words []string) leaf {
	var levels []string
	for i, w := range words {
		if i == 0 || p.level[i] != p.level[i-1] {
			levels = append(levels, w)
		} else {
			levels[len(levels)-1] += " " + w
		}
	}
	last := levels[len(levels)-1]
	key := strings.Fields(last)[0]
	switch {
	case p.rule.List:
		key = last
	case p.rule.Choice != "":
		key = "choice:" + p.rule.Choice
	}
	return leaf{levels: levels, key: key, rule: p.rule}
}

// matchDeletePath matches the words after delete: any whole level of a
// statement path (a container, a leaf, or a leaf's keyword without its
// value). It returns the levels to delete.
func matchDeletePath(pats []pattern, toks []token) ([]string, *CLIError) {
	if len(toks) == 0 {
		return nil, &CLIError{Col: -1, Message: msgMissing}
	}
	cands := pats
	var words []string
	for i, tok := range toks {
		next, w, err := step(cands, i, tok)
		if err != nil {
			return nil, err
		}
		cands, words = next, append(words, w)
	}
	n := len(words)
	for _, p := range cands {
		atLevelEnd := n == len(p.words) || p.level[n] != p.level[n-1]
		lastLevel := p.level[n-1] == p.level[len(p.level)-1]
		keywordOfLeaf := lastLevel && n == len(p.words)-1 && isValue(p.words[n]) && !p.rule.List
		if atLevelEnd || keywordOfLeaf {
			levels := makeLeaf(p, words).levels
			return levels, nil
		}
	}
	return nil, &CLIError{Col: -1, Message: msgMissing}
}
