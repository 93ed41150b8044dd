package alert

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// genericFields returns the fields of the generic form (DESIGN.md, "API
// (contract)").
func genericFields() []string {
	return []string{"source", "id", "severity", "ip", "mac", "signature", "description", "time"}
}

const genericFieldList = "source, id, severity, ip, mac, signature, description and time"

// parseGeneric reads Ward's own form: one alert object, an array of them,
// or one per line.
func parseGeneric(in *input, o *options, p *problems) []Alert {
	c := &collector{o: o, p: p}
	in.records(p, func(r record) bool {
		if !c.next() {
			return false
		}
		if a, ok := genericAlert(r, o, p); ok {
			c.keep(a, r.raw)
		}
		return !p.full()
	})
	if c.seen == 0 && p.count() == 0 {
		p.add(Error{Message: "the body holds no alerts (an empty array); send at least one"})
	}
	return c.alerts
}

// genericAlert reads one alert object. Unlike the native formats, the
// generic form is Ward's own, so a field it does not know is an error: it is
// most likely a misspelt field whose value would otherwise be lost.
func genericAlert(r record, o *options, p *problems) (Alert, bool) {
	bad := 0
	report := func(field, value, message string) {
		bad++
		p.add(Error{Alert: r.index, Line: r.line, Field: field, Value: shorten(value), Message: message})
	}
	a := Alert{Format: FormatGeneric, Line: r.line}
	if r.raw[0] != '{' {
		report("", "", "is "+kind(r.raw)+"; each alert in the generic form is a JSON object like "+
			`{"source":"suricata","id":"…","severity":"high","ip":"10.61.210.12"}`)
		return a, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.raw, &m); err != nil {
		report("", "", "cannot be read: "+err.Error())
		return a, false
	}
	fields := genericFields()
	var unknown []string
	for k := range m {
		if !slices.Contains(fields, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		hint := ""
		for _, f := range fields {
			if strings.EqualFold(f, k) {
				hint = " (did you mean " + strconv.Quote(f) + "?)"
			}
		}
		report(k, "", "unknown field"+hint+"; the generic form's fields are "+genericFieldList)
	}

	// str returns a string field and whether it is set; absent, null and
	// a value of another type (reported here) are not set.
	wrongType := map[string]bool{}
	str := func(name string) (string, bool) {
		raw, ok := m[name]
		if !ok || string(raw) == "null" {
			return "", false
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			report(name, "", "got "+kind(raw)+", want a string")
			wrongType[name] = true
			return "", false
		}
		return s, true
	}

	if s, ok := str("source"); ok {
		if reason := checkIdent(s, MaxSourceBytes); reason != "" {
			report("source", s, reason)
		}
		a.Source = s
	} else if !wrongType["source"] && o.source == "" {
		report("source", "", `is required: name the sender, like "suricata"`)
	}

	if s, ok := str("id"); ok {
		if reason := checkIdent(s, MaxIDBytes); reason != "" {
			report("id", s, reason)
		}
		a.ID = s
	} else if !wrongType["id"] {
		report("id", "", "is required: the alert's ID at the sender, so that a re-sent alert is recognised as one")
	}

	if s, ok := str("severity"); ok {
		sev, err := ParseSeverity(s)
		if err != nil {
			report("severity", s, notSeverity)
		}
		a.Severity = sev
	} else if !wrongType["severity"] {
		report("severity", "", "is required; use info, low, medium, high or critical")
	}

	if s, ok := str("ip"); ok && s != "" {
		addr, reason := parseIP(s)
		if reason == "" {
			reason = notDevice(addr)
		}
		if reason != "" {
			report("ip", s, reason)
		} else {
			a.Addresses = []netip.Addr{addr}
		}
	}

	if s, ok := str("mac"); ok && s != "" {
		mac, reason := normalizeMAC(s)
		if reason != "" {
			report("mac", s, reason)
		}
		a.MAC = mac
	}

	if s, ok := str("signature"); ok {
		if reason := checkText(s, MaxSignatureBytes); reason != "" {
			report("signature", shorten(s), reason)
		}
		a.Signature = s
	}
	if s, ok := str("description"); ok {
		if reason := checkText(s, MaxDescriptionBytes); reason != "" {
			report("description", shorten(s), reason)
		}
		a.Description = s
	}
	if s, ok := str("time"); ok {
		t, ok := parseRFC3339(s)
		if !ok {
			report("time", s, notTime)
		}
		a.Time = t
	}

	if bad == 0 && len(a.Addresses) == 0 && a.MAC == "" {
		report("", "", `has no device address; give the device's IP address in "ip" or its MAC address in "mac", so Ward can find it`)
	}
	return a, bad == 0
}
