package nftables

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// table is the inet ward table in the one form both Render and Running
// print: nft's own listing layout, with the sets sorted by name, each set's
// elements sorted by address and on one line, a host prefix written as a
// bare address (as nft prints it), and everything else (set attributes,
// chains and their rules) as nft lists it. Rendering and reading back both
// end in (*table).script, so a table applied and read back prints the same.
type table struct {
	sets   []*set   // printed sorted by name
	blocks []*block // chains (and anything else nft lists), in order
}

type set struct {
	name  string
	attrs []string // lines other than the elements, in order
	elems []element
}

// element is one set element: an address prefix, or (for elements Ward
// does not write, such as ranges added by hand) the text nft printed.
type element struct {
	prefix netip.Prefix // valid for addresses
	raw    string
}

type block struct {
	kind, name string // "chain", "forward"
	lines      []string
}

func (s *set) dynamic() bool {
	return slices.Contains(s.attrs, quoteComment(quarantineComment))
}

// script prints the table as an nft script that replaces it; a nil table
// (no table on the device) prints as "".
func (t *table) script() string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(preamble)
	b.WriteString("table " + tableName + " {\n")
	sets := slices.Clone(t.sets)
	slices.SortStableFunc(sets, func(a, b *set) int { return strings.Compare(a.name, b.name) })
	first := true
	sep := func() {
		if !first {
			b.WriteString("\n")
		}
		first = false
	}
	for _, s := range sets {
		sep()
		b.WriteString("\tset " + s.name + " {\n")
		for _, a := range s.attrs {
			b.WriteString("\t\t" + a + "\n")
		}
		if len(s.elems) > 0 {
			b.WriteString("\t\telements = { ")
			for i, e := range sortElements(s.elems) {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(e.String())
			}
			b.WriteString(" }\n")
		}
		b.WriteString("\t}\n")
	}
	for _, bl := range t.blocks {
		sep()
		b.WriteString("\t" + bl.kind + " " + bl.name + " {\n")
		for _, l := range bl.lines {
			b.WriteString("\t\t" + l + "\n")
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func (e element) String() string {
	if !e.prefix.IsValid() {
		return e.raw
	}
	if e.prefix.IsSingleIP() {
		return e.prefix.Addr().String()
	}
	return e.prefix.String()
}

func sortElements(elems []element) []element {
	out := slices.Clone(elems)
	slices.SortFunc(out, compareElements)
	return slices.CompactFunc(out, func(a, b element) bool { return compareElements(a, b) == 0 })
}

func compareElements(a, b element) int {
	switch av, bv := a.prefix.IsValid(), b.prefix.IsValid(); {
	case av && bv:
		return cmp.Or(a.prefix.Addr().Compare(b.prefix.Addr()), cmp.Compare(a.prefix.Bits(), b.prefix.Bits()))
	case av != bv: // addresses first
		if av {
			return -1
		}
		return 1
	}
	return strings.Compare(a.raw, b.raw)
}

// parseElement reads one element as nft prints or Ward writes it.
func parseElement(s string) element {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return element{prefix: p.Masked()}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return element{prefix: netip.PrefixFrom(a, a.BitLen())}
	}
	return element{raw: s}
}

// parseTable reads the inet ward table from nft's listing (`nft list table
// inet ward`) or from a script Render wrote; "" is no table (nil). It
// knows the layout, not nft's grammar: set elements are parsed, every other
// line is kept as printed.
func parseTable(text string) (*table, error) {
	lines := strings.Split(text, "\n")
	var (
		t     *table
		cur   *block // the block being read, when not a set
		cs    *set   // the set being read
		elems *strings.Builder
		done  bool
	)
	for n, raw := range lines {
		line := strings.TrimSpace(raw)
		bad := func(why string) error {
			return fmt.Errorf("line %d %q: %s", n+1, line, why)
		}
		switch {
		case line == "":
		case elems != nil: // inside a set's elements = { ... }
			elems.WriteString(" " + line)
			if strings.HasSuffix(line, "}") {
				cs.elems = splitElements(elems.String())
				elems = nil
			}
		case done:
			return nil, bad("text after the end of the table")
		case t == nil:
			switch line {
			case "table " + tableName, "delete table " + tableName:
			case "table " + tableName + " {":
				t = &table{}
			default:
				return nil, bad("expected the table " + tableName)
			}
		case cs == nil && cur == nil:
			if line == "}" {
				done = true
				continue
			}
			kind, name, ok := blockStart(line)
			if !ok {
				return nil, bad("expected a set, a chain or the end of the table")
			}
			if kind == "set" {
				cs = &set{name: name}
				t.sets = append(t.sets, cs)
			} else {
				cur = &block{kind: kind, name: name}
				t.blocks = append(t.blocks, cur)
			}
		case line == "}":
			cs, cur = nil, nil
		case cs != nil && strings.HasPrefix(line, "elements = {"):
			elems = &strings.Builder{}
			elems.WriteString(line)
			if strings.HasSuffix(line, "}") {
				cs.elems = splitElements(elems.String())
				elems = nil
			}
		case cs != nil:
			cs.attrs = append(cs.attrs, line)
		default:
			cur.lines = append(cur.lines, line)
		}
	}
	if t != nil && !done {
		return nil, fmt.Errorf("the table %s does not end", tableName)
	}
	return t, nil
}

func blockStart(line string) (kind, name string, ok bool) {
	f := strings.Fields(line)
	if len(f) != 3 || f[2] != "{" {
		return "", "", false
	}
	return f[0], f[1], true
}

func splitElements(s string) []element {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "elements = {")
	s = strings.TrimSuffix(s, "}")
	var out []element
	for _, e := range strings.Split(s, ",") {
		if strings.TrimSpace(e) != "" {
			out = append(out, parseElement(e))
		}
	}
	return out
}

func quoteComment(c string) string { return `comment "` + c + `"` }

// wardBlock cuts the inet ward table out of a listing of several tables
// (nft list sets inet): from its first line to the closing brace at the
// start of a line.
func wardBlock(listing string) (string, bool) {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(listing, "\n") {
		switch {
		case !in && line == "table "+tableName+" {":
			in = true
		case !in:
			continue
		}
		b.WriteString(line + "\n")
		if line == "}" {
			return b.String(), true
		}
	}
	return "", false
}
