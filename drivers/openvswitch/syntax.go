package openvswitch

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Two layers of quoting meet in a Config line: the shell's (the line is
// part of a command line) and OVSDB's (a string value with spaces or
// punctuation is a JSON string). Both are written the one way Running and
// Render share, and read back by parse.

var (
	shellSafe = regexp.MustCompile(`^[A-Za-z0-9_.:=/@+,%-]+$`)
	ovsSafe   = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// words joins shell words, quoting those that need it.
func words(ws ...string) string {
	out := make([]string, len(ws))
	for i, w := range ws {
		if shellSafe.MatchString(w) {
			out[i] = w
		} else {
			out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// ovsString writes a string value as ovs-vsctl reads it.
func ovsString(s string) string {
	if ovsSafe.MatchString(s) {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func readOVSString(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		var out string
		err := json.Unmarshal([]byte(s), &out)
		return out, err
	}
	if !ovsSafe.MatchString(s) {
		return "", fmt.Errorf("value %q: quote it as a JSON string", s)
	}
	return s, nil
}

// splitWords splits a line into shell words: the inverse of words.
func splitWords(line string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		in    bool // inside a word
		quote bool // inside '...'
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote && c == '\'':
			quote = false
		case quote:
			cur.WriteByte(c)
		case c == '\'':
			quote, in = true, true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			in = true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote {
		return nil, fmt.Errorf("unterminated quote")
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// parse reads a Config written by print.
func (d *driver) parse(text string) (*state, error) {
	st := &state{}
	scope := strings.Join(d.scope, " ")
	for n, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("line %d %q: %s", n+1, line, fmt.Sprintf(format, a...))
		}
		w, err := splitWords(line)
		if err != nil {
			return nil, bad("%v", err)
		}
		switch {
		case len(w) == 5 && w[0] == "--" && w[1] == "set" && w[2]+" "+w[3] == scope:
			v, ok := strings.CutPrefix(w[4], "external_ids:"+keyQuarantineVLAN+"=")
			if st.quarantineVLAN, err = strconv.Atoi(v); !ok || err != nil || !validVLAN(st.quarantineVLAN) {
				return nil, bad("want external_ids:%s=VLAN", keyQuarantineVLAN)
			}
		case len(w) >= 4 && w[0] == "--" && w[1] == "set" && w[2] == "port":
			p := port{name: w[3]}
			for _, a := range w[4:] {
				if err := p.set(a); err != nil {
					return nil, bad("%v", err)
				}
			}
			st.ports = append(st.ports, p)
		default:
			return nil, bad("want -- set port NAME ... or -- set %s ...", scope)
		}
	}
	return st, nil
}

// checkConfig parses a configuration handed to Apply and checks every
// value against the grammar Render writes: port names, VLANs from 1 to
// 4094, access mode only, each port once. Apply writes its transaction
// from the result, never from the text.
func (d *driver) checkConfig(text string) (*state, error) {
	st, err := d.parse(text)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range st.ports {
		switch {
		case !portName.MatchString(p.name):
			return nil, fmt.Errorf("port %q: want letters, digits and _.:@+/- only", p.name)
		case seen[p.name]:
			return nil, fmt.Errorf("port %s is set twice", p.name)
		case p.tag != 0 && !validVLAN(p.tag):
			return nil, fmt.Errorf("port %s: VLAN %d: want 1 to 4094", p.name, p.tag)
		case p.mode != "" && p.mode != "access":
			return nil, fmt.Errorf("port %s: vlan_mode %q: Ward sets access ports only", p.name, p.mode)
		}
		seen[p.name] = true
	}
	slices.SortFunc(st.ports, func(a, b port) int { return strings.Compare(a.name, b.name) })
	return st, nil
}

// set reads one column assignment of a "set port" operation.
func (p *port) set(a string) error {
	col, val, ok := strings.Cut(a, "=")
	var err error
	switch {
	case !ok:
		return fmt.Errorf("%q: want column=value", a)
	case col == "tag" && val == "[]":
		p.tag = 0
	case col == "tag":
		if p.tag, err = strconv.Atoi(val); err != nil {
			return fmt.Errorf("tag %q: not a VLAN", val)
		}
	case col == "vlan_mode" && val == "[]":
		p.mode = ""
	case col == "vlan_mode":
		p.mode, err = readOVSString(val)
	case col == "external_ids:"+keyDevice:
		p.device, err = readOVSString(val)
	case col == "external_ids:"+keyZone:
		p.zone, err = readOVSString(val)
	case col == "external_ids:"+keyVLAN:
		if p.home, err = strconv.Atoi(val); err != nil || !validVLAN(p.home) {
			return fmt.Errorf("external_ids:%s %q: not a VLAN", keyVLAN, val)
		}
	default:
		return fmt.Errorf("%q: Ward sets only tag, vlan_mode and external_ids:%s, :%s and :%s", a, keyDevice, keyVLAN, keyZone)
	}
	return err
}

// decodeOptional reads an OVSDB column of at most one value: the value
// itself, or ["set",[]] when empty (leaving v as it is).
func decodeOptional(raw json.RawMessage, v any) error {
	var empty []json.RawMessage
	if json.Unmarshal(raw, &empty) == nil {
		if len(empty) == 2 && string(empty[0]) == `"set"` && string(empty[1]) == "[]" {
			return nil
		}
		return fmt.Errorf("column value %s: want one value or an empty set", raw)
	}
	return json.Unmarshal(raw, v)
}

// decodeMap reads an OVSDB map of strings, ["map",[["k","v"],...]].
func decodeMap(raw json.RawMessage, into map[string]string) error {
	var m []json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 2 || string(m[0]) != `"map"` {
		return fmt.Errorf("column value %s: want a map", raw)
	}
	var pairs [][2]string
	if err := json.Unmarshal(m[1], &pairs); err != nil {
		return fmt.Errorf("column value %s: want a map of strings: %w", raw, err)
	}
	for _, kv := range pairs {
		into[kv[0]] = kv[1]
	}
	return nil
}
