package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// eveAlert is an EVE record, read for what Ward uses of an event of type
// "alert" (https://docs.suricata.io/en/latest/output/eve/eve-json-format.html).
type eveAlert struct {
	EventType *string         `json:"event_type"`
	Timestamp string          `json:"timestamp"`
	FlowID    json.RawMessage `json:"flow_id"`
	SrcIP     *string         `json:"src_ip"`
	DestIP    *string         `json:"dest_ip"`
	Alert     *struct {
		GID         *int64   `json:"gid"`
		SignatureID *int64   `json:"signature_id"`
		Rev         *int64   `json:"rev"`
		Signature   string   `json:"signature"`
		Category    string   `json:"category"`
		Severity    *int64   `json:"severity"`
		Source      *eveHost `json:"source"`
		Target      *eveHost `json:"target"`
	} `json:"alert"`
}

// eveHost is alert.source or alert.target, which Suricata 6 and later write
// when the rule uses the target keyword.
type eveHost struct {
	IP *string `json:"ip"`
}

// parseSuricata reads EVE records: one, an array, or eve.json lines. Only
// alert events become alerts; the other event types an eve.json holds
// (flow, dns, http, stats, …) are skipped, so a sensor may forward its whole
// log.
func parseSuricata(in *input, o *options, p *problems) []Alert {
	c := &collector{o: o, p: p}
	in.records(p, func(r record) bool {
		report := func(field, value, message string) {
			p.add(Error{Alert: r.index, Line: r.line, Field: field, Value: shorten(value), Message: message})
		}
		if r.raw[0] != '{' {
			report("", "", "is "+kind(r.raw)+"; each EVE record is a JSON object")
			return !p.full()
		}
		// One decoding serves both to skip other events and to read alerts.
		// It goes on past a field of the wrong type, so that a field only
		// alerts use cannot stop other events from being skipped.
		var ev eveAlert
		err := json.Unmarshal(r.raw, &ev)
		if err != nil {
			// A wrong event_type may have left a zero value behind: read it
			// alone to know what the record is.
			var head struct {
				EventType json.RawMessage `json:"event_type"`
			}
			_ = json.Unmarshal(r.raw, &head)
			if len(head.EventType) > 0 && head.EventType[0] != '"' && string(head.EventType) != "null" {
				report("event_type", "", "got "+kind(head.EventType)+", want a string")
				return !p.full()
			}
		}
		if ev.EventType == nil {
			report("event_type", "", "is required: every EVE record has one (is this Suricata's eve.json?)")
			return !p.full()
		}
		if *ev.EventType != "alert" {
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
		if a, ok := eveAlertOf(r, &ev, p); ok {
			c.keep(a, r.raw)
		}
		return !p.full()
	})
	if c.seen == 0 && p.count() == 0 {
		p.add(Error{Message: `the body holds no Suricata alert (no record has "event_type":"alert"); other event types are skipped, so check that eve-log's types in suricata.yaml include alert`})
	}
	return c.alerts
}

// eveAlertOf maps one EVE alert event onto Alert.
func eveAlertOf(r record, ev *eveAlert, p *problems) (Alert, bool) {
	bad := 0
	report := func(field, value, message string) {
		bad++
		p.add(Error{Alert: r.index, Line: r.line, Field: field, Value: shorten(value), Message: message})
	}
	a := Alert{Format: FormatSuricata, Source: FormatSuricata, Line: r.line}
	al := ev.Alert
	if al == nil {
		report("alert", "", `is required in an event of type "alert"`)
		return a, false
	}

	switch {
	case al.Severity == nil:
		report("alert.severity", "", "is required: the rule's priority, 1 (most serious) to 3 or more")
	default:
		sev, ok := suricataSeverity(*al.Severity)
		if !ok {
			report("alert.severity", strconv.FormatInt(*al.Severity, 10), "is not a Suricata severity; want 1 (most serious), 2, 3 or more")
		}
		a.Severity = sev
	}

	if ev.Timestamp == "" {
		report("timestamp", "", "is required: when Suricata saw the packet")
	} else if t, ok := parseSensorTime(ev.Timestamp); !ok {
		report("timestamp", ev.Timestamp, "is not a time (want Suricata's form, like 2017-04-07T22:24:37.251547+0100, or RFC 3339)")
	} else {
		a.Time = t
	}

	// flow_id is a number; its digits are kept as written (a float would
	// round IDs above 2^53). Quoted digits, as some shippers write large
	// numbers, are read too.
	flowID := ""
	if len(ev.FlowID) > 0 && string(ev.FlowID) != "null" {
		text := string(ev.FlowID)
		if ev.FlowID[0] == '"' {
			_ = json.Unmarshal(ev.FlowID, &text)
		}
		if text == "" || !allDigits(text) || len(text) > 20 {
			report("flow_id", text, "is not a flow ID (want a whole number of 0 or more)")
		}
		flowID = text
	}

	// Signature in fast.log's form: [gid:sid:rev] message, which Suricata
	// users know and search for.
	a.Signature = al.Signature
	if al.SignatureID != nil {
		gid, rev := int64(1), int64(0)
		if al.GID != nil {
			gid = *al.GID
		}
		if al.Rev != nil {
			rev = *al.Rev
		}
		a.Signature = "[" + strconv.FormatInt(gid, 10) + ":" + strconv.FormatInt(*al.SignatureID, 10) + ":" +
			strconv.FormatInt(rev, 10) + "] " + al.Signature
	}
	if reason := checkText(a.Signature, MaxSignatureBytes); reason != "" {
		report("alert.signature", shorten(al.Signature), reason)
	}
	a.Description = al.Category
	if reason := checkText(a.Description, MaxDescriptionBytes); reason != "" {
		report("alert.category", shorten(al.Category), reason)
	}

	// Candidates, most likely the device first. With the target keyword the
	// rule says which side attacks: alert.source is the suspect, the one
	// a quarantine would contain. Without it, src_ip is the side that sent
	// the packet that matched, which most rules write for the suspect. The
	// other side stays a candidate: the device may be either.
	// Ethernet MACs (ether.src_mac) are not used: behind a router they are
	// the router's, and quarantining by them would cut off a subnet.
	var cs []candidate
	if al.Source != nil {
		cs = append(cs, candidate{"alert.source.ip", al.Source.IP})
	}
	if al.Target != nil {
		cs = append(cs, candidate{"alert.target.ip", al.Target.IP})
	}
	cs = append(cs, candidate{"src_ip", ev.SrcIP}, candidate{"dest_ip", ev.DestIP})
	a.Addresses = addCandidates(nil, cs, report)
	if bad == 0 && len(a.Addresses) == 0 {
		report("", "", "has no device address: src_ip and dest_ip are missing, or are multicast, broadcast or otherwise not a device's")
	}

	// Suricata gives alerts no ID. flow_id names the flow (it is also on the
	// flow's other events), signature_id the rule and timestamp the packet,
	// so the same line sent twice has the same ID, and a rule matching again
	// later in the flow has a new one. An event without flow_id or
	// signature_id is identified by the SHA-256 of its compacted JSON.
	if flowID != "" && al.SignatureID != nil && ev.Timestamp != "" {
		a.ID = flowID + ":" + strconv.FormatInt(*al.SignatureID, 10) + ":" + ev.Timestamp
	} else {
		a.ID = contentID(r.raw)
	}
	if reason := checkIdent(a.ID, MaxIDBytes); reason != "" && bad == 0 {
		report("timestamp", ev.Timestamp, "makes the alert's ID "+reason)
	}
	return a, bad == 0
}

// contentID identifies a record that carries no ID of its own: "sha256:"
// and the hash of the record with insignificant whitespace removed, so the
// same record pretty-printed or not has the same ID.
func contentID(raw []byte) string {
	sum := sha256.Sum256(compactJSON(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}
