package iosxefake

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A pattern is written as words separated by spaces:
//
//	keyword         a keyword, matched case-insensitively, abbreviable to any
//	                prefix that no other keyword possible at that position shares
//	<kind>          a parameter: word, line (the rest of the line), ipv4, url,
//	                iftype, ifnum, ifname, tcpport, udpport (a number or
//	                IOS's name, read back as IOS shows it), or n:LO-HI (a
//	                number in LO..HI)
//	[ ... ]         optional
//	{ a | b c }     one of the alternatives
//
// Patterns compile to a small NFA (as in Thompson's construction) so that
// every rule of a mode advances token by token together: that is what lets
// the matcher tell an ambiguous abbreviation, an incomplete command and an
// invalid token apart, and point the caret at the token that failed.

type opcode int

const (
	opKeyword opcode = iota
	opParam
	opSplit
	opJump
	opMatch
)

type inst struct {
	op      opcode
	keyword string
	param   param
	x, y    int
}

type param struct {
	kind   string
	lo, hi int64
}

type program []inst

// compilePattern turns a pattern into a program; a malformed pattern is a
// bug in the rule table, so it panics (the table is checked by a test).
func compilePattern(pattern string) program {
	toks := strings.Fields(pattern)
	var p program
	rest := p.seq(toks, pattern)
	if len(rest) != 0 {
		panic(fmt.Sprintf("iosxefake: pattern %q: unexpected %q", pattern, rest[0]))
	}
	p = append(p, inst{op: opMatch})
	return p
}

// seq compiles tokens until a closing bracket or bar, and returns what is left.
func (p *program) seq(toks []string, pattern string) []string {
	for len(toks) > 0 {
		t := toks[0]
		switch t {
		case "]", "}", "|":
			return toks
		case "[":
			split := len(*p)
			*p = append(*p, inst{op: opSplit})
			toks = p.seq(toks[1:], pattern)
			if len(toks) == 0 || toks[0] != "]" {
				panic(fmt.Sprintf("iosxefake: pattern %q: unclosed [", pattern))
			}
			toks = toks[1:]
			(*p)[split].x, (*p)[split].y = split+1, len(*p)
		case "{":
			// a | b | c compiles to: split(a, next); a; jump end; next: split(b, next2); b; jump end; next2: c; end:
			toks = toks[1:]
			var jumps []int
			for {
				split := len(*p)
				*p = append(*p, inst{op: opSplit, x: split + 1})
				toks = p.seq(toks, pattern)
				if len(toks) == 0 {
					panic(fmt.Sprintf("iosxefake: pattern %q: unclosed {", pattern))
				}
				if toks[0] == "}" {
					// The last alternative needs no split: remove it.
					*p = append((*p)[:split], (*p)[split+1:]...)
					for i := split; i < len(*p); i++ {
						shift(&(*p)[i], split)
					}
					toks = toks[1:]
					break
				}
				jumps = append(jumps, len(*p))
				*p = append(*p, inst{op: opJump})
				(*p)[split].y = len(*p)
				toks = toks[1:] // "|"
			}
			for _, j := range jumps {
				(*p)[j].x = len(*p)
			}
		default:
			if strings.HasPrefix(t, "<") && strings.HasSuffix(t, ">") {
				*p = append(*p, inst{op: opParam, param: parseParam(t[1:len(t)-1], pattern)})
			} else {
				*p = append(*p, inst{op: opKeyword, keyword: strings.ToLower(t)})
			}
			toks = toks[1:]
		}
	}
	return toks
}

// shift moves the targets of an instruction that was after the removed
// instruction at index removed one place back.
func shift(in *inst, removed int) {
	if in.op == opSplit || in.op == opJump {
		if in.x > removed {
			in.x--
		}
		if in.y > removed {
			in.y--
		}
	}
}

func parseParam(s, pattern string) param {
	if strings.HasPrefix(s, "n:") {
		lo, hi, ok := strings.Cut(s[2:], "-")
		l, err1 := strconv.ParseInt(lo, 10, 64)
		h, err2 := strconv.ParseInt(hi, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			panic(fmt.Sprintf("iosxefake: pattern %q: bad range %q", pattern, s))
		}
		return param{kind: "n", lo: l, hi: h}
	}
	switch s {
	case "word", "line", "ipv4", "url", "iftype", "ifnum", "ifname", "tcpport", "udpport":
		return param{kind: s}
	}
	panic(fmt.Sprintf("iosxefake: pattern %q: unknown parameter <%s>", pattern, s))
}

// accept reports whether tok fits the parameter, and its canonical form.
func (p param) accept(tok string) (string, bool) {
	switch p.kind {
	case "word", "line":
		return tok, true
	case "n":
		n, err := strconv.ParseInt(tok, 10, 64)
		if err != nil || n < p.lo || n > p.hi {
			return "", false
		}
		return strconv.FormatInt(n, 10), true
	case "ipv4":
		a, err := netip.ParseAddr(tok)
		if err != nil || !a.Is4() {
			return "", false
		}
		return a.String(), true
	case "url":
		if i := strings.Index(tok, ":"); i > 0 {
			return tok, true
		}
		return "", false
	case "iftype":
		t, ok := interfaceType(tok)
		return t, ok
	case "ifnum":
		return tok, validIfNum(tok)
	case "ifname":
		return canonicalInterface(tok)
	case "tcpport":
		return portName("tcp", tok)
	case "udpport":
		return portName("udp", tok)
	}
	return "", false
}

// interfaceTypes are the interface types the fake knows, as IOS spells them
// in show running-config; any unique case-insensitive prefix selects one.
func interfaceType(tok string) (string, bool) {
	var found string
	for _, t := range [...]string{"GigabitEthernet", "Vlan"} {
		if len(tok) > 0 && strings.HasPrefix(strings.ToLower(t), strings.ToLower(tok)) {
			if found != "" {
				return "", false
			}
			found = t
		}
	}
	return found, found != ""
}

func validIfNum(s string) bool {
	for _, part := range strings.Split(s, "/") {
		if _, err := strconv.ParseUint(part, 10, 16); err != nil {
			return false
		}
	}
	return s != ""
}

// canonicalInterface turns "Gi1/0/5", "gig1/0/5" or "vlan210" into the name
// IOS shows ("GigabitEthernet1/0/5", "Vlan210").
func canonicalInterface(tok string) (string, bool) {
	i := strings.IndexAny(tok, "0123456789")
	if i <= 0 {
		return "", false
	}
	t, ok := interfaceType(tok[:i])
	if !ok || !validIfNum(tok[i:]) {
		return "", false
	}
	if t == "Vlan" {
		n, err := strconv.Atoi(tok[i:])
		if err != nil || n < 1 || n > 4094 {
			return "", false
		}
		return t + strconv.Itoa(n), true
	}
	return t + tok[i:], true
}

// A failure is why a line was not accepted, in IOS's three kinds.
type failure struct {
	kind  failKind
	token int // index of the offending token (invalid input)
}

type failKind int

const (
	failNone failKind = iota
	failInvalid
	failIncomplete
	failAmbiguous
)

type thread struct {
	rule int
	pc   int
	args []string
}

// matchRules runs every rule's program over the tokens together. It returns
// the first rule (in table order) that accepts the whole line with its
// canonical arguments (keywords expanded, parameters normalised), or why
// none does.
func matchRules(progs []program, toks []string) (int, []string, failure) {
	var cur []thread
	for r := range progs {
		cur = addThread(cur, progs[r], thread{rule: r, pc: 0})
	}
	for i, tok := range toks {
		if len(cur) == 0 {
			return -1, nil, failure{kind: failInvalid, token: i}
		}
		low := strings.ToLower(tok)
		// The keyword this token stands for, among every keyword possible
		// here: an exact match wins, else a unique prefix.
		exact, prefixes := false, map[string]bool{}
		paramOK := false
		for _, th := range cur {
			in := progs[th.rule][th.pc]
			switch in.op {
			case opKeyword:
				if in.keyword == low {
					exact = true
				} else if strings.HasPrefix(in.keyword, low) {
					prefixes[in.keyword] = true
				}
			case opParam:
				if _, ok := in.param.accept(tok); ok {
					paramOK = true
				}
			}
		}
		keyword := ""
		switch {
		case exact:
			keyword = low
		case len(prefixes) == 1:
			for k := range prefixes {
				keyword = k
			}
		case len(prefixes) > 1 && !paramOK:
			return -1, nil, failure{kind: failAmbiguous, token: i}
		}
		var next []thread
		for _, th := range cur {
			in := progs[th.rule][th.pc]
			switch in.op {
			case opKeyword:
				if keyword != "" && in.keyword == keyword {
					next = addThread(next, progs[th.rule], advance(th, keyword))
				}
			case opParam:
				if in.param.kind == "line" {
					rest := strings.Join(toks[i:], " ")
					th2 := advance(th, rest)
					th2.pc = len(progs[th.rule]) - 1 // the rest of the line is consumed: only Match may follow
					if progs[th.rule][th.pc+1].op == opMatch {
						return th.rule, th2.args, failure{}
					}
					continue
				}
				if v, ok := in.param.accept(tok); ok {
					next = addThread(next, progs[th.rule], advance(th, v))
				}
			}
		}
		if len(next) == 0 {
			return -1, nil, failure{kind: failInvalid, token: i}
		}
		cur = next
	}
	for _, th := range cur {
		if progs[th.rule][th.pc].op == opMatch {
			return th.rule, th.args, failure{}
		}
	}
	return -1, nil, failure{kind: failIncomplete, token: len(toks)}
}

func advance(th thread, v string) thread {
	args := make([]string, len(th.args), len(th.args)+1)
	copy(args, th.args)
	return thread{rule: th.rule, pc: th.pc + 1, args: append(args, v)}
}

// addThread follows splits and jumps, adding the threads that wait on a
// token or have matched.
func addThread(list []thread, p program, th thread) []thread {
	if th.pc < 0 {
		return list
	}
	for _, o := range list {
		if o.rule == th.rule && o.pc == th.pc {
			return list // first arrival wins, as in Thompson's construction
		}
	}
	switch p[th.pc].op {
	case opSplit:
		a, b := th, th
		a.pc, b.pc = p[th.pc].x, p[th.pc].y
		list = addThread(list, p, a)
		return addThread(list, p, b)
	case opJump:
		th.pc = p[th.pc].x
		return addThread(list, p, th)
	}
	return append(list, th)
}
