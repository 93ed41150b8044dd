package junosfake

import (
	"strings"
)

// node is one level of the configuration hierarchy. Children keep the
// order they were added in: for filter terms that order is the meaning.
type node struct {
	seg  string
	key  string // leaves only: what a new value under the same parent replaces
	list bool
	leaf bool
	kids []*node
}

func (n *node) clone() *node {
	c := &node{seg: n.seg, key: n.key, list: n.list, leaf: n.leaf}
	for _, k := range n.kids {
		c.kids = append(c.kids, k.clone())
	}
	return c
}

func (n *node) child(seg string) *node {
	for _, k := range n.kids {
		if !k.leaf && k.seg == seg {
			return k
		}
	}
	return nil
}

// set adds a statement: containers are created as needed; a leaf replaces
// the leaf with the same key under the same parent.
func (n *node) set(l leaf) {
	cur := n
	if l.rule.Container {
		for _, seg := range l.levels {
			c := cur.child(seg)
			if c == nil {
				c = &node{seg: seg}
				cur.kids = append(cur.kids, c)
			}
			cur = c
		}
		return
	}
	for _, seg := range l.levels[:len(l.levels)-1] {
		c := cur.child(seg)
		if c == nil {
			c = &node{seg: seg}
			cur.kids = append(cur.kids, c)
		}
		cur = c
	}
	last := l.levels[len(l.levels)-1]
	for i, k := range cur.kids {
		if k.leaf && k.key == l.key {
			cur.kids[i] = &node{seg: last, key: l.key, list: l.rule.List, leaf: true}
			return
		}
	}
	cur.kids = append(cur.kids, &node{seg: last, key: l.key, list: l.rule.List, leaf: true})
}

// delete removes the statement or container at levels; the last level may
// be a leaf's keyword without its value. Containers left empty go too, as
// they do on the device. It reports whether anything was there.
func (n *node) delete(levels []string) bool {
	if len(levels) == 1 {
		for i, k := range n.kids {
			if k.seg == levels[0] || (k.leaf && !k.list && strings.Fields(k.seg)[0] == levels[0] && !strings.Contains(levels[0], " ")) {
				n.kids = append(n.kids[:i], n.kids[i+1:]...)
				return true
			}
		}
		return false
	}
	c := n.child(levels[0])
	if c == nil || !c.delete(levels[1:]) {
		return false
	}
	if len(c.kids) == 0 {
		for i, k := range n.kids {
			if k == c {
				n.kids = append(n.kids[:i], n.kids[i+1:]...)
				break
			}
		}
	}
	return true
}

// setLines is the configuration as `show configuration | display set`
// prints it: one set command per leaf, in hierarchy order.
func (n *node) setLines() []string {
	var out []string
	var walk func(*node, []string)
	walk = func(x *node, path []string) {
		for _, k := range x.kids {
			p := append(append([]string(nil), path...), k.seg)
			if k.leaf || len(k.kids) == 0 {
				// An empty container (a prefix-list with no entries) shows
				// as the bare statement.
				out = append(out, "set "+strings.Join(p, " "))
				continue
			}
			walk(k, p)
		}
	}
	walk(n, nil)
	return out
}

// text is the configuration as `show configuration` prints it: braces for
// containers, "keyword [ a b ];" for a list of more than one value.
func (n *node) text(indent int) []string {
	var out []string
	pad := strings.Repeat(" ", indent)
	done := map[*node]bool{}
	for _, k := range n.kids {
		if done[k] {
			continue
		}
		if !k.leaf && len(k.kids) == 0 {
			out = append(out, pad+k.seg+";")
			continue
		}
		if !k.leaf {
			out = append(out, pad+k.seg+" {")
			out = append(out, k.text(indent+4)...)
			out = append(out, pad+"}")
			continue
		}
		f := strings.Fields(k.seg)
		if k.list && len(f) == 2 {
			var vals []string
			for _, o := range n.kids {
				if o.leaf && o.list && strings.Fields(o.seg)[0] == f[0] && len(strings.Fields(o.seg)) == 2 {
					vals = append(vals, strings.Fields(o.seg)[1])
					done[o] = true
				}
			}
			if len(vals) > 1 {
				out = append(out, pad+f[0]+" [ "+strings.Join(vals, " ")+" ];")
				continue
			}
		}
		out = append(out, pad+k.seg+";")
	}
	return out
}

// compare prints the difference from old to n the way `show | compare`
// does: a "[edit path]" header, then the added (+) and removed (-)
// statements with their subtrees.
func compare(old, cur *node) []string {
	var out []string
	var walk func(a, b *node, path []string)
	walk = func(a, b *node, path []string) {
		var lines []string
		has := func(x *node, k *node) *node {
			for _, o := range x.kids {
				if o.leaf == k.leaf && o.seg == k.seg {
					return o
				}
			}
			return nil
		}
		for _, k := range a.kids {
			if has(b, k) == nil {
				lines = append(lines, mark("-", k)...)
			}
		}
		for _, k := range b.kids {
			if has(a, k) == nil {
				lines = append(lines, mark("+", k)...)
			}
		}
		if len(lines) > 0 {
			out = append(out, "[edit"+prefixSpace(strings.Join(path, " "))+"]")
			out = append(out, lines...)
		}
		for _, k := range b.kids {
			if o := has(a, k); o != nil && !k.leaf {
				walk(o, k, append(append([]string(nil), path...), k.seg))
			}
		}
	}
	walk(old, cur, nil)
	return out
}

func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// mark prints a subtree with a sign in the first column and its first
// level at column 3, each deeper level 4 further, as the sample output of
// show system rollback compare shows (docRollback).
func mark(sign string, k *node) []string {
	wrap := &node{kids: []*node{k}}
	var out []string
	for _, l := range wrap.text(3) {
		out = append(out, sign+l[1:])
	}
	return out
}

func sameConfig(a, b *node) bool {
	return strings.Join(a.setLines(), "\n") == strings.Join(b.setLines(), "\n")
}
