package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// ParseJSON reads an inventory JSON file: an array of objects with the same
// fields as the CSV columns (name, mac, ip, class, vendor, model, firmware,
// criticality, site, location, switch, port), each a string, plus an
// optional "labels" object of strings:
//
//	[{"name": "pump-3w-01", "ip": "10.61.210.11", "criticality": "life_critical",
//	  "labels": {"asset_tag": "A-1001"}}]
//
// An unknown field is an error. Problems name the record by its 1-based
// index in the array (RowError.Record). Like ParseCSV it is all-or-nothing.
func ParseJSON(r io.Reader) ([]Device, error) {
	s, err := newJSONStream(r)
	if err != nil {
		return nil, err
	}
	tok, ok := s.first()
	if !ok {
		return nil, s.p.err()
	}
	if tok != json.Delim('[') {
		reason := `want a JSON array of devices, like [{"name": "pump-3w-01", "ip": "10.61.210.11", "criticality": "life_critical"}]`
		if tok == json.Delim('{') {
			reason += "; if this is a NetBox export, import it as netbox"
		}
		s.p.add(RowError{Reason: reason})
		return nil, s.p.err()
	}
	var devices deviceList
	dups := newDuplicates("record")
	n := s.array(func(i int, raw json.RawMessage) {
		d, ipText, errs := jsonRecord(raw, i)
		if d.Line != 0 { // an object: validate what could be read
			errs = append(errs, checkDeviceExcept(&d, ipText, dups, errs)...)
		}
		if len(errs) == 0 {
			devices.add(d)
		}
		s.p.addAll(errs)
	})
	s.end()
	if err := s.p.err(); err != nil {
		return nil, err
	}
	if n == 0 {
		s.p.add(RowError{Reason: "no devices in file: the array is empty"})
		return nil, s.p.err()
	}
	return devices.devices(), nil
}

// jsonRecord decodes one record of an inventory JSON array and returns the
// problems with its shape: unknown fields, values of the wrong type. d.Line
// is 0 when the record is not an object at all.
func jsonRecord(raw json.RawMessage, i int) (d Device, ipText string, errs []RowError) {
	if !utf8.Valid(raw) {
		return d, "", []RowError{{Line: i, Reason: notUTF8}}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return d, "", []RowError{{Line: i, Reason: fmt.Sprintf(`is %s, not an object; want {"name": ..., "ip": ..., "criticality": ...}`, jsonKind(raw))}}
	}
	d.Line = i
	if name, ok := obj["name"]; ok {
		_ = json.Unmarshal(name, &d.Name) // a wrong type is reported below
	}
	d.Name = strings.TrimSpace(d.Name)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fields := d.cells(&ipText)
	bad := func(field, reason string) {
		errs = append(errs, RowError{Line: i, Device: d.Name, Field: field, Reason: reason})
	}
	for _, k := range keys {
		v := obj[k]
		if k == "labels" {
			if err := json.Unmarshal(v, &d.Labels); err != nil {
				d.Labels = nil
				reason := fmt.Sprintf(`is %s; want an object of strings, like {"asset_tag": "A-1001"}`, jsonKind(v))
				if jsonKind(v) == "an object" {
					reason = `has a value that is not a string; label values are strings (quote them)`
				}
				bad(k, reason)
			}
			continue
		}
		c := columnIndex(k)
		if c < 0 {
			bad(shorten(k), unknownJSONField(k))
			continue
		}
		if kind := jsonKind(v); kind != "a string" && kind != "null" {
			bad(k, fmt.Sprintf("is %s; want a string (quote it)", kind))
			continue
		}
		_ = json.Unmarshal(v, fields[c]) // a string or null: cannot fail
	}
	return d, ipText, errs
}

func unknownJSONField(k string) string {
	want := strings.Join(columns[:], ", ") + ", labels"
	switch lower := strings.ToLower(k); {
	case lower != k && (isColumn(lower) || lower == "labels"):
		return fmt.Sprintf("unknown field; did you mean %q? (field names are lowercase)", lower)
	case k == "device_type" || k == "primary_ip" || k == "custom_fields":
		return "unknown field; this looks like a NetBox export: import it as netbox"
	}
	return fmt.Sprintf("unknown field; want %s (put anything else in labels)", want)
}

// jsonKind names the JSON type of a value for messages.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonStream reads a JSON document that holds an array of records one
// record at a time, so a large file is never held in memory whole.
type jsonStream struct {
	dec   *json.Decoder
	lines *lineIndex
	p     problems
}

func newJSONStream(r io.Reader) (*jsonStream, error) {
	s := &jsonStream{p: problems{record: true}}
	br, problem := openText(r)
	if problem != nil {
		s.p.add(*problem)
		return nil, s.p.err()
	}
	s.lines = &lineIndex{r: br}
	s.dec = json.NewDecoder(s.lines)
	return s, nil
}

// first reads the document's first token; false means the problem is
// recorded.
func (s *jsonStream) first() (json.Token, bool) {
	tok, err := s.dec.Token()
	if err == io.EOF {
		s.p.add(RowError{Reason: "no devices in file: it is empty"})
		return nil, false
	}
	if err != nil {
		s.syntax(err, 0)
		return nil, false
	}
	return tok, true
}

// array calls fn for each element of the array whose '[' was just read,
// with its 1-based index, until the array ends or the problems are full,
// and returns how many elements it read.
func (s *jsonStream) array(fn func(i int, raw json.RawMessage)) int {
	n := 0
	for s.dec.More() {
		if s.p.full() {
			return n
		}
		n++
		if n > MaxDevices {
			s.p.add(RowError{Reason: fmt.Sprintf("more than %d devices in one file; split it and import the parts separately", MaxDevices)})
			return n
		}
		var raw json.RawMessage
		if err := s.dec.Decode(&raw); err != nil {
			s.syntax(err, n)
			return n
		}
		s.lines.forget(s.dec.InputOffset())
		fn(n, raw)
	}
	if _, err := s.dec.Token(); err != nil { // the closing ']'
		s.syntax(err, 0)
	}
	return n
}

// end checks that nothing follows the document.
func (s *jsonStream) end() {
	if len(s.p.list) > 0 {
		return
	}
	if _, err := s.dec.Token(); err != io.EOF {
		line := s.lines.lineAt(s.dec.InputOffset())
		s.p.add(RowError{Reason: fmt.Sprintf("line %d: unexpected data after the end of the JSON document; a file holds one array", line)})
	}
}

// syntax records a JSON syntax error with the line it is on; record is the
// record being read, or 0.
func (s *jsonStream) syntax(err error, record int) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var reason string
	switch {
	case errors.As(err, &se):
		reason = fmt.Sprintf("line %d: invalid JSON: %s", s.lines.lineAt(se.Offset), se.Error())
	case errors.As(err, &te):
		reason = fmt.Sprintf("line %d: invalid JSON: %s", s.lines.lineAt(te.Offset), te.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), err == io.EOF:
		reason = "invalid JSON: the file ends in the middle of the document; is it truncated?"
	default:
		reason = "cannot read the file: " + err.Error()
	}
	s.p.add(RowError{Line: record, Reason: reason})
}

// lineIndex passes reads through and remembers where the newlines are, so
// a byte offset from the JSON decoder can be turned into a line number. It
// forgets newlines before the last record read, to stay small.
type lineIndex struct {
	r        io.Reader
	offset   int64   // bytes read so far
	newlines []int64 // offsets of newlines not yet forgotten
	dropped  int     // newlines forgotten
}

func (l *lineIndex) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; ; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		l.newlines = append(l.newlines, l.offset+int64(i+j))
		i += j + 1
	}
	l.offset += int64(n)
	return n, err
}

// forget drops newlines before offset; later lookups are at or after it.
func (l *lineIndex) forget(offset int64) {
	i, _ := slices.BinarySearch(l.newlines, offset)
	l.dropped += i
	l.newlines = append(l.newlines[:0], l.newlines[i:]...)
}

// lineAt returns the 1-based line of a byte offset.
func (l *lineIndex) lineAt(offset int64) int {
	i, _ := slices.BinarySearch(l.newlines, offset)
	return l.dropped + i + 1
}
