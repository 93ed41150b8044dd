package alert

import (
	"encoding/json"
	"time"
)

// zeekNotice is a notice.log record as Zeek writes it in JSON
// (LogAscii::use_json=T): flat, with dotted names for the connection's
// fields. Only what Ward uses is declared.
type zeekNotice struct {
	Path  *string         `json:"_path"`
	TS    json.RawMessage `json:"ts"`
	UID   string          `json:"uid"`
	OrigH *string         `json:"id.orig_h"`
	RespH *string         `json:"id.resp_h"`
	Note  string          `json:"note"`
	Msg   string          `json:"msg"`
	Sub   string          `json:"sub"`
	Src   *string         `json:"src"`
	Dst   *string         `json:"dst"`
}

// maxNoteBytes bounds a notice type (Scan::Port_Scan), which is part of the
// ID; Zeek's own are under 50 bytes.
const maxNoteBytes = 128

// maxUIDBytes bounds a connection UID (CgpsTT28ZTiuSEsfVi), part of the ID.
const maxUIDBytes = 64

// parseZeek reads notice.log records: one, an array, or JSON lines. Records
// of other logs, told apart by a _path other than "notice" (as Zeek writes
// when all logs share one stream), are skipped.
func parseZeek(in *input, o *options, p *problems) []Alert {
	c := &collector{o: o, p: p}
	in.records(p, func(r record) bool {
		report := func(field, value, message string) {
			p.add(Error{Alert: r.index, Line: r.line, Field: field, Value: shorten(value), Message: message})
		}
		if r.raw[0] != '{' {
			report("", "", "is "+kind(r.raw)+"; each Zeek log record is a JSON object")
			return !p.full()
		}
		var n zeekNotice
		err := json.Unmarshal(r.raw, &n)
		if err != nil {
			// The decoding stopped being exact at a wrong type; read _path
			// alone to know whether the record is a notice at all.
			var head struct {
				Path json.RawMessage `json:"_path"`
			}
			_ = json.Unmarshal(r.raw, &head)
			switch {
			case len(head.Path) == 0 || string(head.Path) == "null":
				n.Path = nil
			case head.Path[0] != '"':
				report("_path", "", "got "+kind(head.Path)+", want a string")
				return !p.full()
			}
		}
		if n.Path != nil && *n.Path != "notice" {
			return true
		}
		if !c.next() {
			return false
		}
		if err != nil {
			field, message := decodeProblem(err)
			report(field, "", message)
			return !p.full()
		}
		if a, ok := zeekAlertOf(r, &n, o, p); ok {
			c.keep(a, r.raw)
		}
		return !p.full()
	})
	if c.seen == 0 && p.count() == 0 {
		p.add(Error{Message: `the body holds no Zeek notice (every record has a "_path" other than "notice"); send notice.log records`})
	}
	return c.alerts
}

// zeekAlertOf maps one notice onto Alert.
func zeekAlertOf(r record, n *zeekNotice, o *options, p *problems) (Alert, bool) {
	bad := 0
	report := func(field, value, message string) {
		bad++
		p.add(Error{Alert: r.index, Line: r.line, Field: field, Value: shorten(value), Message: message})
	}
	// Zeek notices carry no severity: what a notice means is site policy.
	a := Alert{Format: FormatZeek, Source: FormatZeek, Severity: o.defaultSeverity, Line: r.line}

	if n.Note == "" {
		report("note", "", "is required: the notice type, like Scan::Port_Scan (is this a notice.log record?)")
	} else if reason := checkIdent(n.Note, maxNoteBytes); reason != "" {
		report("note", n.Note, reason)
	}
	if n.UID != "" {
		if reason := checkIdent(n.UID, maxUIDBytes); reason != "" {
			report("uid", n.UID, reason)
		}
	}

	ts, t, reason := zeekTime(n.TS)
	if reason != "" {
		report("ts", ts, reason)
	}
	a.Time = t

	a.Signature = n.Note
	a.Description = n.Msg
	if n.Sub != "" {
		a.Description += " (" + n.Sub + ")"
	}
	if reason := checkText(a.Description, MaxDescriptionBytes); reason != "" {
		report("msg", "", "with sub makes a description that "+reason)
	}

	// src is the notice's own statement of who did it (the scanner of
	// Scan::Port_Scan); the connection's originator comes next, then the
	// other side.
	a.Addresses = addCandidates(nil, []candidate{
		{"src", n.Src}, {"id.orig_h", n.OrigH}, {"dst", n.Dst}, {"id.resp_h", n.RespH},
	}, report)
	if bad == 0 && len(a.Addresses) == 0 {
		report("", "", "has no device address: none of src, id.orig_h, dst or id.resp_h is a device's IP address (host-level notices such as CaptureLoss::Too_Much_Loss name no device; do not forward them)")
	}

	// A notice with a connection is identified by its UID, type and time:
	// Zeek writes a UID once per connection, and the same notice on the same
	// connection at the same time is the same notice. Notices without a
	// connection (a scan is about a host) have no UID; the SHA-256 of the
	// compacted record identifies them, so only a byte-identical resend is a
	// duplicate.
	if n.UID != "" {
		a.ID = n.UID + ":" + n.Note + ":" + ts
	} else {
		a.ID = contentID(r.raw)
	}
	if reason := checkIdent(a.ID, MaxIDBytes); reason != "" && bad == 0 {
		report("ts", ts, "makes the alert's ID "+reason)
	}
	return a, bad == 0
}

// zeekTime reads ts, which Zeek writes as seconds since 1970 (the default),
// milliseconds (JSON::TS_MILLIS) or an ISO 8601 string (JSON::TS_ISO8601).
// It returns the text as written, for the ID, the time, and why ts cannot
// be read.
func zeekTime(raw json.RawMessage) (string, time.Time, string) {
	const want = "is not a time (want seconds since 1970 like 1599042052.123456, or ISO 8601 like 2020-09-02T10:20:52.123456Z)"
	switch kind(raw) {
	case "nothing", "null":
		return "", time.Time{}, "is required: when Zeek raised the notice"
	case "a number":
		text := string(raw)
		t, ok := parseEpoch(text)
		if !ok {
			return shorten(text), time.Time{}, want
		}
		return text, t, ""
	case "a string":
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", time.Time{}, want
		}
		t, ok := parseSensorTime(text)
		if !ok {
			return text, time.Time{}, want
		}
		return text, t, ""
	}
	return "", time.Time{}, "got " + kind(raw) + ", want a number or a string"
}
