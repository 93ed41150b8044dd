package alert

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxValueShown caps the value quoted in an error message, so a huge field
// does not make a huge response.
const maxValueShown = 64

// Error is one problem with a body or with one alert in it.
type Error struct {
	// Alert is the 1-based position of the alert's record in the body:
	// the JSON value, array element, EVE or Zeek line, or element of an
	// Alertmanager "alerts" list. Records that are skipped (EVE events other
	// than alerts) are counted too, so the number matches what was sent.
	// Zero means the problem is with the body as a whole.
	Alert int
	// Line is the 1-based line of the body where the alert starts, or where
	// invalid JSON was found; zero when not known.
	Line int
	// Field is the JSON field at fault, dotted for nested fields
	// (alert.severity, labels.ip); empty when the problem is not one field's.
	Field string
	// Value is the offending value, shortened to 64 characters; empty when
	// there is none to show.
	Value string
	// Message says what is wrong and what to do about it. When Value is set
	// it reads on from the value: "is not an IP address (...)".
	Message string
}

// Error formats the problem on one line, e.g.
//
//	alert 3 (line 3): field "src_ip": "10.1.1" is not an IP address (want ...)
func (e Error) Error() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e Error) write(b *strings.Builder) {
	switch {
	case e.Alert > 0 && e.Line > 0:
		b.WriteString("alert " + itoa(e.Alert) + " (line " + itoa(e.Line) + "): ")
	case e.Alert > 0:
		b.WriteString("alert " + itoa(e.Alert) + ": ")
	case e.Line > 0:
		b.WriteString("line " + itoa(e.Line) + ": ")
	}
	if e.Field != "" {
		b.WriteString("field " + strconv.Quote(e.Field) + ": ")
	}
	if e.Value != "" {
		b.WriteString(strconv.Quote(e.Value) + " ")
	}
	b.WriteString(e.Message)
}

// ParseError is why a body was refused: every problem found in it, in body
// order. Intake is all-or-nothing, so a ParseError means no alert was taken.
type ParseError struct {
	// Problems holds at least one and at most MaxErrors problems.
	Problems []Error
	// Truncated reports that Parse stopped reading after MaxErrors problems
	// and the body may hold more.
	Truncated bool
}

// Error returns the problem itself when there is one, and otherwise a
// summary line followed by one indented line per problem.
func (e *ParseError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 && !e.Truncated {
		e.Problems[0].write(&b)
		return b.String()
	}
	b.WriteString(itoa(len(e.Problems)) + " problems")
	if e.Truncated {
		b.WriteString(" (stopped reading after the first " + itoa(len(e.Problems)) + ")")
	}
	b.WriteString(":")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		p.write(&b)
	}
	return b.String()
}

// Unwrap returns the problems, so errors.As finds the first *Error.
func (e *ParseError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i := range e.Problems {
		errs[i] = &e.Problems[i]
	}
	return errs
}

// problems collects Errors up to MaxErrors.
type problems struct {
	list      []Error
	truncated bool
	stopped   bool
}

// add records a problem and reports whether reading may go on. Reading goes
// on after the MaxErrors-th problem, so that Truncated is set only when the
// body really holds more.
func (p *problems) add(e Error) bool {
	if len(p.list) >= MaxErrors {
		p.truncated = true
		p.stopped = true
		return false
	}
	p.list = append(p.list, e)
	return !p.stopped
}

// stop ends reading after a problem that makes the rest meaningless.
func (p *problems) stop() { p.stopped = true }

// full reports that reading should stop.
func (p *problems) full() bool { return p.stopped }

// count is the number of problems so far.
func (p *problems) count() int { return len(p.list) }

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ParseError{Problems: p.list, Truncated: p.truncated}
}

// shorten cuts a value for display, on a character boundary.
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

func itoa(n int) string { return strconv.Itoa(n) }
