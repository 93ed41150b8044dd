package inventory

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxLineBytes bounds one physical line of a CSV file, so a file that is not
// CSV at all (or has no newlines) is rejected before it fills memory.
const maxLineBytes = 1 << 20

// labelColumn marks a header position that holds a label, not a field.
const labelColumn = -1

// ParseCSV reads an inventory CSV file: a header naming the columns of the
// contract (name,mac,ip,class,vendor,model,firmware,criticality,site,
// location,switch,port) in any order, of which name, ip and criticality are
// required; any other column becomes a label of that name. Header names are
// matched ignoring case and surrounding spaces; a UTF-8 byte order mark is
// skipped; rows whose cells are all empty are skipped.
//
// It is all-or-nothing: it returns every device, or a *ParseError with every
// problem found (up to MaxProblems), each naming its line and column. Cells
// are text: a cell such as =SUM(A1) is stored verbatim (see ExportCSV).
func ParseCSV(r io.Reader) ([]Device, error) {
	var p problems
	br, problem := openText(r)
	if problem != nil {
		p.add(*problem)
		return nil, p.err()
	}
	limited := &lineLimiter{r: br, line: 1}
	cr := csv.NewReader(limited)
	cr.FieldsPerRecord = -1 // counted per row, so one bad row does not hide the rest
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		p.add(RowError{Reason: "no devices in file: it is empty; the first line must be the header " + strings.Join(columns[:], ",")})
		return nil, p.err()
	}
	if err != nil {
		p.add(csvReadError(err, limited))
		return nil, p.err()
	}
	cols, labels := readHeader(header, &p)
	if len(p.list) > 0 {
		return nil, p.err()
	}

	var devices deviceList
	dups := newDuplicates("line")
	rows := 0
	for !p.full() {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !p.add(csvReadError(err, limited)) {
				break
			}
			if errors.As(err, new(*lineTooLongError)) {
				break
			}
			continue
		}
		if blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		if rows++; rows > MaxDevices {
			p.add(RowError{Line: line, Reason: fmt.Sprintf("more than %d devices in one file; split it and import the parts separately", MaxDevices)})
			break
		}
		if len(rec) != len(cols) {
			p.add(RowError{Line: line, Reason: fmt.Sprintf("has %d cells but the header has %d columns; quote any cell that contains a comma", len(rec), len(cols))})
			continue
		}
		d := Device{Line: line}
		var ipText string
		fields := d.cells(&ipText)
		for i, v := range rec {
			if c := cols[i]; c != labelColumn {
				*fields[c] = v
			} else if strings.TrimSpace(v) != "" {
				if d.Labels == nil {
					d.Labels = make(map[string]string, len(labels))
				}
				d.Labels[labels[i]] = v
			}
		}
		if errs := checkDevice(&d, ipText, dups); len(errs) > 0 {
			p.addAll(errs)
			continue
		}
		devices.add(d)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if devices.n == 0 {
		p.add(RowError{Reason: "no devices in file: it has a header but no rows"})
		return nil, p.err()
	}
	return devices.devices(), nil
}

// checkDevice parses ipText into d, validates d and checks it against the
// devices before it in the file.
func checkDevice(d *Device, ipText string, dups *duplicates) []RowError {
	var ipErr *RowError
	addr, reason := parseIP(ipText)
	if reason != "" {
		ipErr = &RowError{Line: d.Line, Device: strings.TrimSpace(d.Name), Field: "ip", Value: shorten(strings.TrimSpace(ipText)), Reason: reason}
	}
	d.IP = addr
	errs := validate(d, ipErr)
	return append(errs, dups.check(d, errs)...)
}

// checkDeviceExcept is checkDevice for a record whose fields in known
// already have problems: it leaves those fields out of the result, so a
// value of the wrong type is not also reported as missing.
func checkDeviceExcept(d *Device, ipText string, dups *duplicates, known []RowError) []RowError {
	if len(known) == 0 {
		return checkDevice(d, ipText, dups)
	}
	errs := slices.DeleteFunc(checkDevice(d, ipText, dups), func(e RowError) bool {
		return slices.ContainsFunc(known, func(k RowError) bool { return k.Field == e.Field })
	})
	return errs
}

// readHeader maps each header position to a contract column index (into
// columns) or labelColumn, with the label key in labels.
func readHeader(header []string, p *problems) (cols []int, labels []string) {
	cols = make([]int, len(header))
	labels = make([]string, len(header))
	known := 0
	for i, h := range header {
		h = strings.TrimSpace(h)
		cols[i], labels[i] = labelColumn, h
		if idx := columnIndex(strings.ToLower(h)); idx >= 0 {
			cols[i], labels[i] = idx, ""
			known++
		}
	}
	if known == 0 {
		got := strings.Join(header, ",")
		reason := fmt.Sprintf("wrong header: got %q; want the columns %s (any order; other columns become labels)", shorten(got), strings.Join(columns[:], ","))
		if len(header) == 1 && strings.Contains(got, ";") {
			reason += "; this file looks semicolon-separated: save it as comma-separated CSV"
		}
		p.add(RowError{Line: 1, Reason: reason})
		return nil, nil
	}

	seen := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		field := fmt.Sprintf("column %d", i+1)
		if !utf8.ValidString(h) {
			p.add(RowError{Line: 1, Field: field, Value: shorten(h), Reason: notUTF8})
			continue
		}
		key := strings.ToLower(h)
		if first, dup := seen[key]; dup {
			p.add(RowError{Line: 1, Field: field, Value: shorten(h),
				Reason: fmt.Sprintf("duplicate column: column %d has the same name (names are compared ignoring case); remove one", first)})
			continue
		}
		seen[key] = i + 1
		if cols[i] != labelColumn {
			continue
		}
		if h == "" {
			p.add(RowError{Line: 1, Field: field, Reason: "has no name; name it (it becomes a label) or delete the column"})
		} else if reason := checkLabelKey(h); reason != "" {
			p.add(RowError{Line: 1, Field: field, Value: shorten(h), Reason: reason + " (extra columns become labels)"})
		}
	}
	for _, req := range []string{"name", "ip", "criticality"} {
		if _, ok := seen[req]; !ok {
			p.add(RowError{Line: 1, Field: req, Reason: fmt.Sprintf("missing required column; the header needs name, ip and criticality (full header: %s)", strings.Join(columns[:], ","))})
		}
	}
	return cols, labels
}

func columnIndex(name string) int {
	for i, c := range columns {
		if c == name {
			return i
		}
	}
	return -1
}

// blank reports whether every cell of a row is empty or spaces, as in the
// trailing ",,,,," rows spreadsheets like to write.
func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// csvReadError turns an error from csv.Reader into a problem.
func csvReadError(err error, l *lineLimiter) RowError {
	var long *lineTooLongError
	if errors.As(err, &long) {
		return RowError{Line: long.line, Reason: fmt.Sprintf("line is over %d MiB long; this does not look like an inventory CSV file", maxLineBytes>>20)}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		reason := "bad quoting: " + pe.Err.Error()
		switch {
		case errors.Is(pe.Err, csv.ErrBareQuote):
			reason = fmt.Sprintf(`a " inside an unquoted cell (column %d); quote the whole cell and double the " inside it, like "12"" monitor"`, pe.Column)
		case errors.Is(pe.Err, csv.ErrQuote) && pe.Line != pe.StartLine:
			reason = fmt.Sprintf(`a quoted cell that starts here is not closed properly (found at line %d, column %d); check the quotes`, pe.Line, pe.Column)
		case errors.Is(pe.Err, csv.ErrQuote):
			reason = fmt.Sprintf(`text after the closing " of a quoted cell, or a quote that is never closed (column %d); double any " inside quotes`, pe.Column)
		}
		return RowError{Line: pe.StartLine, Reason: reason}
	}
	return RowError{Line: l.line, Reason: "cannot read the file: " + err.Error()}
}

// openText skips a UTF-8 byte order mark and rejects UTF-16, which
// spreadsheets write when asked for "Unicode text".
func openText(r io.Reader) (*bufio.Reader, *RowError) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, &RowError{Reason: "the file is UTF-16; save it as UTF-8 (in Excel: CSV UTF-8)"}
	}
	return br, nil
}

// lineLimiter fails a read once one physical line exceeds maxLineBytes.
type lineLimiter struct {
	r    io.Reader
	line int // current line, 1-based
	n    int // bytes of the current line so far
}

type lineTooLongError struct{ line int }

func (e *lineTooLongError) Error() string { return fmt.Sprintf("line %d is too long", e.line) }

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	chunk := p[:n]
	for {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			l.n += len(chunk)
			break
		}
		if l.n+i > maxLineBytes {
			return 0, &lineTooLongError{line: l.line}
		}
		l.n = 0
		l.line++
		chunk = chunk[i+1:]
	}
	if l.n > maxLineBytes {
		return 0, &lineTooLongError{line: l.line}
	}
	return n, err
}
