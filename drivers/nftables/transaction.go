package nftables

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// How Apply changes the table (see Apply): not by replacing it, which would
// take the quarantine sets' members with it, but in one nft transaction
// that deletes every chain and every static set the table has now (their
// names come from a listing without set members, nft -t) and declares the
// configuration's sets and chains afresh. A quarantine set is only ever
// declared: `add set` of a set that exists with the same declaration
// changes nothing, so its members, whoever adds or removes them meanwhile,
// are never read and never written by an apply.

// checkConfig parses a configuration handed to Apply and checks it holds
// only what Render writes, so nothing outside the table model reaches the
// device: sets of addresses, the forward hook, and rules made of nft's
// words, anonymous sets and quoted comments, with no way out of their chain
// (no ';', no unbalanced brace, no '#', no '$'). A nil table is the empty
// configuration (no table wanted).
func checkConfig(text string) (*table, error) {
	t, err := parseTable(text)
	if err != nil {
		return nil, fmt.Errorf("it is not an inet ward table as Render writes it: %w", err)
	}
	if t == nil {
		if strings.TrimSpace(strings.NewReplacer("table "+tableName, "", "delete table "+tableName, "").Replace(text)) != "" {
			return nil, fmt.Errorf("it holds text but no table %s", tableName)
		}
		return nil, nil
	}
	seen := map[string]bool{}
	for _, s := range t.sets {
		if err := checkSet(s); err != nil {
			return nil, fmt.Errorf("set %s: %w", s.name, err)
		}
		if seen["set "+s.name] {
			return nil, fmt.Errorf("set %s is declared twice", s.name)
		}
		seen["set "+s.name] = true
	}
	for _, b := range t.blocks {
		if b.kind != "chain" {
			return nil, fmt.Errorf("%s %s: Ward writes sets and chains only", b.kind, b.name)
		}
		if !identifier.MatchString(b.name) || len(b.name) > maxName {
			return nil, fmt.Errorf("chain name %q: want letters, digits and _", b.name)
		}
		if seen["chain "+b.name] {
			return nil, fmt.Errorf("chain %s is declared twice", b.name)
		}
		seen["chain "+b.name] = true
		for i, l := range b.lines {
			if i == 0 && hookLine.MatchString(l) {
				continue
			}
			if err := checkRule(l); err != nil {
				return nil, fmt.Errorf("chain %s, line %q: %w", b.name, clip(l), err)
			}
		}
	}
	return t, nil
}

var (
	// hookLine is the one base chain declaration Render writes.
	hookLine = regexp.MustCompile(`^type filter hook forward priority filter; policy (accept|drop);$`)
	setAttr  = regexp.MustCompile(`^(type (ipv4_addr|ipv6_addr)|flags interval|comment "[ !#-\[\]-~]{0,128}")$`)
	// ruleWord is what a rule may hold outside quotes: nft's words,
	// addresses, ports, set references and anonymous sets.
	ruleWord = regexp.MustCompile(`^[A-Za-z0-9_.:/@,{}-]+$`)
	// directives are nft's file-level words, which its grammar accepts
	// inside a chain too: include would read another file.
	directives = map[string]bool{"include": true, "define": true, "redefine": true, "undefine": true}
	// quoted is a quoted string nft stores and prints back unchanged.
	quoted = regexp.MustCompile(`"[ !#-\[\]-~]*"`)
)

func checkSet(s *set) error {
	if !identifier.MatchString(s.name) || len(s.name) > maxName {
		return fmt.Errorf("name %q: want letters, digits and _", s.name)
	}
	var typ string
	for _, a := range s.attrs {
		if !setAttr.MatchString(a) {
			return fmt.Errorf("%q: Ward writes type ipv4_addr or ipv6_addr, flags interval and a comment only", clip(a))
		}
		if t, ok := strings.CutPrefix(a, "type "); ok {
			if typ != "" {
				return fmt.Errorf("two types")
			}
			typ = t
		}
	}
	if typ == "" {
		return fmt.Errorf("no type")
	}
	if s.dynamic() && len(s.elems) > 0 {
		return fmt.Errorf("a quarantine set lists %d members: they are state, changed with AddToSet and RemoveFromSet, never by an apply", len(s.elems))
	}
	for _, e := range s.elems {
		if !e.prefix.IsValid() {
			return fmt.Errorf("element %q is not an address or prefix", clip(e.raw))
		}
		if e.prefix.Addr().Is6() != (typ == "ipv6_addr") || e.prefix.Addr().Is4In6() {
			return fmt.Errorf("element %s is not of type %s", e, typ)
		}
	}
	return nil
}

// checkRule checks one rule line: words, anonymous sets one deep, and
// quoted strings, nothing that ends the chain or the line early.
func checkRule(line string) error {
	depth := 0
	for _, w := range strings.Fields(quoted.ReplaceAllString(line, `""`)) {
		if w == `""` {
			continue
		}
		if !ruleWord.MatchString(w) || directives[w] {
			return fmt.Errorf("%q: not a word Ward writes in a rule", clip(w))
		}
		for _, c := range w {
			switch c {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth < 0 || depth > 1 {
				return fmt.Errorf("unbalanced or nested braces")
			}
		}
	}
	if depth != 0 {
		return fmt.Errorf("unbalanced braces")
	}
	return nil
}

// transaction writes the nft script that turns the table cur (its
// structure, read with nft -t: no members) into want, leaving the members
// of want's quarantine sets as they are. recreate names the quarantine
// sets whose declaration changed (see Apply), which are deleted and
// declared anew. A nil want deletes the whole table.
func transaction(cur, want *table, recreate []string) string {
	if want == nil {
		return preamble // creates the table if absent, so the delete cannot fail
	}
	var b strings.Builder
	b.WriteString("add table " + tableName + "\n")
	if cur != nil {
		// Rules first, so that nothing refers to the chains and sets
		// deleted next.
		for _, bl := range cur.blocks {
			b.WriteString("flush chain " + tableName + " " + bl.name + "\n")
		}
		for _, bl := range cur.blocks {
			b.WriteString("delete chain " + tableName + " " + bl.name + "\n")
		}
		for _, s := range cur.sets {
			if !s.dynamic() || !keepsSet(want, s.name) || slices.Contains(recreate, s.name) {
				b.WriteString("delete set " + tableName + " " + s.name + "\n")
			}
		}
	}
	// Quarantine sets are declared first, so that on a new table they are
	// created first: nft lists a table's sets in the order they were
	// made, and the quarantine sets, kept by every later apply, then stay
	// where they are while the static sets after them are made anew. The
	// listing of a table does not change order from one apply to the next.
	for _, s := range want.sets {
		if s.dynamic() {
			b.WriteString("add set " + tableName + " " + s.name + " { " + strings.Join(s.attrs, "; ") + "; }\n")
		}
	}
	b.WriteString(strings.TrimPrefix(want.script(), preamble))
	return b.String()
}

// keepsSet reports whether want has a quarantine set called name.
func keepsSet(want *table, name string) bool {
	if want == nil {
		return false
	}
	return slices.ContainsFunc(want.sets, func(s *set) bool { return s.name == name && s.dynamic() })
}

// changedDeclarations returns the quarantine sets of want that cur also has
// as quarantine sets, declared otherwise (another type or flags): `add set`
// cannot change a declaration, so these must be recreated.
func changedDeclarations(cur, want *table) []string {
	if cur == nil || want == nil {
		return nil
	}
	var out []string
	for _, ws := range want.sets {
		if !ws.dynamic() {
			continue
		}
		i := slices.IndexFunc(cur.sets, func(s *set) bool { return s.name == ws.name && s.dynamic() })
		if i >= 0 && !slices.Equal(cur.sets[i].attrs, ws.attrs) {
			out = append(out, ws.name)
		}
	}
	return out
}
