package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// input is a body being parsed, with what is needed to say where in it a
// problem is.
type input struct {
	body []byte // without a leading byte order mark
	// lineOff and lineNo cache the last line lookup: lookups mostly move
	// forward, so counting newlines from the last one keeps a long NDJSON
	// body linear.
	lineOff, lineNo int
}

// newInput checks what every format needs of a body: something in it, and
// UTF-8 throughout. encoding/json would quietly replace invalid bytes with
// U+FFFD, which would make two different senders' IDs collide and store text
// the sensor never wrote, so invalid UTF-8 is refused with its position.
func newInput(body []byte, p *problems) (*input, bool) {
	in := &input{body: body, lineNo: 1}
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		in.body = body[3:]
	}
	if len(bytes.TrimSpace(in.body)) == 0 {
		p.add(Error{Message: "the body is empty; send one alert as a JSON object, several as a JSON array, or JSON lines (see docs/alerts.md)"})
		return nil, false
	}
	if !utf8.Valid(in.body) {
		off := invalidUTF8(in.body)
		p.add(Error{Line: in.line(off), Message: "the body is not valid UTF-8 (column " + itoa(in.column(off)) + "); send it as UTF-8"})
		return nil, false
	}
	return in, true
}

// invalidUTF8 returns the offset of the first byte that is not valid UTF-8.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// line returns the 1-based line of the byte at off.
func (in *input) line(off int) int {
	off = min(max(off, 0), len(in.body))
	if off < in.lineOff {
		in.lineOff, in.lineNo = 0, 1
	}
	in.lineNo += bytes.Count(in.body[in.lineOff:off], []byte{'\n'})
	in.lineOff = off
	return in.lineNo
}

// column returns the 1-based column (in bytes) of the byte at off.
func (in *input) column(off int) int {
	off = min(max(off, 0), len(in.body))
	return off - bytes.LastIndexByte(in.body[:off], '\n')
}

// record is one JSON value of the body that should hold one alert.
type record struct {
	raw   []byte // the value's text
	index int    // 1-based position among the body's records
	line  int    // line where the value starts
	start int    // offset of the value in the body
}

// records calls fn with each top-level JSON value of the body in turn; the
// elements of a top-level array are records of their own, so an array of
// alerts and alerts one per line read the same. It stops when fn returns
// false, and at invalid JSON, which it reports.
func (in *input) records(p *problems, fn func(record) bool) {
	dec := json.NewDecoder(bytes.NewReader(in.body))
	index := 0
	for {
		start := skipSpace(in.body, int(dec.InputOffset()))
		if start >= len(in.body) {
			return
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			in.syntaxError(p, err, index+1)
			return
		}
		if raw[0] != '[' {
			index++
			if !fn(record{raw: raw, index: index, line: in.line(start), start: start}) {
				return
			}
			continue
		}
		more := walkArray(raw, func(el []byte, off int) bool {
			index++
			return fn(record{raw: el, index: index, line: in.line(start + off), start: start + off})
		})
		if !more {
			return
		}
	}
}

// syntaxError reports invalid JSON found while reading record index.
func (in *input) syntaxError(p *problems, err error, index int) {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Offset counts the byte that made the text invalid.
		off := int(se.Offset) - 1
		p.add(Error{Alert: index, Line: in.line(off),
			Message: "invalid JSON at column " + itoa(in.column(off)) + ": " + se.Error()})
	case errors.Is(err, io.ErrUnexpectedEOF):
		p.add(Error{Alert: index, Line: in.line(len(in.body)),
			Message: "invalid JSON: the body ends inside a value; send complete JSON (was it cut off?)"})
	default:
		p.add(Error{Alert: index, Message: "invalid JSON: " + err.Error()})
	}
	p.stop()
}

// detectKeys are the members detect looks for. Decoding into a struct
// rather than a map keeps detection cheap on a large first record.
type detectKeys struct {
	Alerts    json.RawMessage `json:"alerts"`
	Receiver  json.RawMessage `json:"receiver"`
	Version   json.RawMessage `json:"version"`
	EventType json.RawMessage `json:"event_type"`
	TS        json.RawMessage `json:"ts"`
	Note      json.RawMessage `json:"note"`
	UID       json.RawMessage `json:"uid"`
	Path      json.RawMessage `json:"_path"`
}

// firstKeys returns which of detectKeys the body's first object (or the
// first element of a first array) has. All are nil when the body does not
// start with an object; the parser then reports why.
func (in *input) firstKeys() detectKeys {
	var keys detectKeys
	var p problems
	in.records(&p, func(r record) bool {
		if r.raw[0] == '{' {
			_ = json.Unmarshal(r.raw, &keys) // a wrong type still marks the key present
		}
		return false
	})
	return keys
}

// walkArray calls fn with each element of the JSON array data and the
// element's offset in data, until fn returns false; it reports whether fn
// always asked for more. data must be a valid JSON array.
func walkArray(data []byte, fn func(el []byte, off int) bool) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return true
	}
	for dec.More() {
		off := skipSpace(data, int(dec.InputOffset()))
		if off < len(data) && data[off] == ',' {
			off = skipSpace(data, off+1)
		}
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return true
		}
		if !fn(el, off) {
			return false
		}
	}
	return true
}

// valueOffset returns the offset in the JSON object data of the value of
// its first member named key, or -1 when it has none. data must be valid.
func valueOffset(data []byte, key string) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return -1
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return -1
		}
		off := skipSpace(data, int(dec.InputOffset()))
		if off < len(data) && data[off] == ':' {
			off = skipSpace(data, off+1)
		}
		if t == key {
			return off
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return -1
		}
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// kind names the JSON type of a value for messages.
func kind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
