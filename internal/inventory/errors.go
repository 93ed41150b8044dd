package inventory

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxProblems is how many problems a parse collects before it stops reading:
// enough to fix a file in one pass, small enough that a garbage 50 MB upload
// does not produce a 50 MB error.
const MaxProblems = 1000

// maxValueShown caps the value quoted in an error message.
const maxValueShown = 64

// RowError is one problem with one device (or, with Line 0, with the file).
type RowError struct {
	// Line is the source line of the row in a CSV file, or the 1-based index
	// of the record in a JSON or NetBox array (see Record). Zero means the
	// problem is with the file as a whole, or, from Validate, that the device
	// has no source position.
	Line int
	// Record reports that Line is a record index in a JSON array, not a line
	// number; messages then say "record N".
	Record bool
	// Device is the device's name where it is known, to help find the row.
	Device string
	// Field is the column or JSON field at fault; empty when the problem is
	// with the row as a whole.
	Field string
	// Value is the offending value, shortened to 64 characters.
	Value string
	// Reason says what is wrong and what to do about it.
	Reason string
}

// Error formats the problem on one line, e.g.
// line 4 (pump-3w-01): mac "zz:00": not a MAC address (want ...).
func (e RowError) Error() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e RowError) write(b *strings.Builder) {
	if e.Line > 0 {
		if e.Record {
			fmt.Fprintf(b, "record %d", e.Line)
		} else {
			fmt.Fprintf(b, "line %d", e.Line)
		}
		if e.Device != "" {
			if printable(e.Device) {
				fmt.Fprintf(b, " (%s)", shorten(e.Device))
			} else {
				fmt.Fprintf(b, " (%q)", shorten(e.Device))
			}
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Value != "" {
			fmt.Fprintf(b, " %q", e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
}

// ParseError is why a file was rejected: every problem found in it. Imports
// are all-or-nothing, so one ParseError means no device was taken.
type ParseError struct {
	// File names the file in messages. The parsers read an io.Reader and
	// leave it empty; callers that know the name set it (ParseFile does).
	File string
	// Problems in file order: file-level problems have Line 0.
	Problems []RowError
	// Truncated reports that parsing stopped after MaxProblems problems and
	// the file holds more.
	Truncated bool
}

// Error lists every problem, one per line under a summary, e.g.
//
//	inventory.csv: 3 bad rows:
//	  line 4: mac "zz:00": not a MAC address (want 6 bytes like 00:1a:2b:3c:4d:01)
//	  ...
func (e *ParseError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if len(e.Problems) == 1 && !e.Truncated {
		e.Problems[0].write(&b)
		return b.String()
	}
	rows := map[int]bool{}
	fileLevel := 0
	for _, p := range e.Problems {
		if p.Line > 0 {
			rows[p.Line] = true
		} else {
			fileLevel++
		}
	}
	unit := "rows"
	if len(e.Problems) > 0 && e.Problems[len(e.Problems)-1].Record {
		unit = "records"
	}
	switch {
	case len(rows) == 0:
		fmt.Fprintf(&b, "%d problems", len(e.Problems))
	case len(rows) == len(e.Problems):
		fmt.Fprintf(&b, "%d bad %s", len(rows), plural(len(rows), unit))
	default:
		fmt.Fprintf(&b, "%d bad %s (%d problems)", len(rows), plural(len(rows), unit), len(e.Problems))
	}
	if e.Truncated {
		b.WriteString(", stopped reading after the first ")
		fmt.Fprint(&b, len(e.Problems))
	}
	b.WriteString(":")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		p.write(&b)
	}
	if e.Truncated {
		b.WriteString("\n  … and more; fix these and import again")
	}
	return b.String()
}

func plural(n int, unit string) string {
	if n == 1 {
		return strings.TrimSuffix(unit, "s")
	}
	return unit
}

// problems collects RowErrors up to MaxProblems.
type problems struct {
	list      []RowError
	truncated bool
	record    bool // Line is a record index (JSON)
}

// add records a problem and reports whether the parser may go on reading.
func (p *problems) add(e RowError) bool {
	if len(p.list) >= MaxProblems {
		p.truncated = true
		return false
	}
	e.Record = p.record && e.Line > 0
	p.list = append(p.list, e)
	return true
}

// addAll records several problems; false means stop reading.
func (p *problems) addAll(es []RowError) bool {
	for _, e := range es {
		if !p.add(e) {
			return false
		}
	}
	return true
}

// full reports that the parser should stop reading.
func (p *problems) full() bool { return p.truncated }

// err is the collected ParseError, or nil when nothing went wrong.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ParseError{Problems: p.list, Truncated: p.truncated}
}

// shorten cuts a value for display in an error message.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= maxValueShown {
		return s
	}
	n := 0
	for i := range s {
		if n == maxValueShown {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// printable reports whether s can be shown unquoted.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
