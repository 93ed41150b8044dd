package alert

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// amWebhook is the body Alertmanager's webhook receiver POSTs (payload
// version 4, https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
// Only what Ward uses is declared; other fields are ignored, so additions by
// newer Alertmanagers do not break intake.
type amWebhook struct {
	Version *string         `json:"version"`
	Alerts  json.RawMessage `json:"alerts"`
}

// amAlert is one element of the webhook's "alerts".
type amAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    string            `json:"startsAt"`
	Fingerprint string            `json:"fingerprint"`
}

// amAddressLabels are the labels that name the device, most specific first.
// instance comes after them: it names the scrape target, which is the
// device only when Prometheus scrapes the device itself.
func amAddressLabels() []string { return []string{"ip", "device_ip", "src_ip"} }

// parseAlertmanager reads one webhook notification.
func parseAlertmanager(in *input, o *options, p *problems) []Alert {
	c := &collector{o: o, p: p}
	webhooks := 0
	in.records(p, func(r record) bool {
		webhooks++
		if webhooks > 1 {
			p.add(Error{Line: r.line, Message: "an Alertmanager webhook is one JSON object, and another value starts here; send one notification per request"})
			return false
		}
		header := func(field, value, message string) {
			p.add(Error{Line: r.line, Field: field, Value: shorten(value), Message: message})
		}
		if r.raw[0] != '{' {
			header("", "", "the body is "+kind(r.raw)+`; an Alertmanager webhook is one JSON object with "alerts"`)
			return false
		}
		var w amWebhook
		if err := json.Unmarshal(r.raw, &w); err != nil {
			field, message := decodeProblem(err)
			header(field, "", message)
			return false
		}
		if w.Version != nil && *w.Version != "4" {
			header("version", *w.Version, `is not a webhook version Ward reads; Alertmanager sends version "4"`)
			return false
		}
		if len(w.Alerts) == 0 || string(w.Alerts) == "null" {
			header("alerts", "", "is required: the list of alerts in the notification")
			return false
		}
		if w.Alerts[0] != '[' {
			header("alerts", "", "got "+kind(w.Alerts)+", want an array")
			return false
		}
		base := r.start + valueOffset(r.raw, "alerts")
		index := 0
		walkArray(w.Alerts, func(el []byte, off int) bool {
			index++
			if !c.next() {
				return false
			}
			ar := record{raw: el, index: index, line: in.line(base + off), start: base + off}
			if a, ok := amAlertOf(ar, o, p); ok {
				c.keep(a, el)
			}
			return !p.full()
		})
		// Go on to the next value only to report that there is one.
		return !p.full()
	})
	if c.seen == 0 && p.count() == 0 {
		p.add(Error{Field: "alerts", Message: "is empty; the notification holds no alert"})
	}
	return c.alerts
}

// amAlertOf maps one Alertmanager alert onto Alert.
func amAlertOf(r record, o *options, p *problems) (Alert, bool) {
	bad := 0
	report := func(field, value, message string) {
		bad++
		p.add(Error{Alert: r.index, Line: r.line, Field: field, Value: shorten(value), Message: message})
	}
	a := Alert{Format: FormatAlertmanager, Source: FormatAlertmanager, Line: r.line}
	if r.raw[0] != '{' {
		report("", "", "is "+kind(r.raw)+"; each element of alerts is a JSON object")
		return a, false
	}
	var am amAlert
	if err := json.Unmarshal(r.raw, &am); err != nil {
		field, message := decodeProblem(err)
		report(field, "", message)
		return a, false
	}

	switch am.Status {
	case "firing":
	case "resolved":
		a.Resolved = true
	case "":
		report("status", "", "is required: firing or resolved")
	default:
		report("status", am.Status, "is not an alert status; Alertmanager sends firing or resolved")
	}

	if am.StartsAt == "" {
		report("startsAt", "", "is required: when the alert started firing")
	} else if t, ok := parseRFC3339(am.StartsAt); !ok {
		report("startsAt", am.StartsAt, notTime)
	} else {
		a.Time = t
	}

	// The fingerprint identifies the alert's label set and startsAt its
	// current firing: a repeated notification (group_interval, a resend
	// from the other member of an HA pair) is a duplicate, while a firing
	// after a resolve is new. Alertmanager before 0.19 sent no fingerprint;
	// Ward computes it then as Alertmanager does, so IDs stay the same when
	// it is upgraded.
	fp := am.Fingerprint
	if fp == "" {
		fp = labelsFingerprint(am.Labels)
	} else if reason := checkIdent(fp, 64); reason != "" {
		report("fingerprint", fp, reason)
	}
	a.ID = fp + "@" + am.StartsAt
	if reason := checkIdent(a.ID, MaxIDBytes); reason != "" && bad == 0 {
		report("startsAt", am.StartsAt, "makes the alert's ID "+reason)
	}

	a.Signature = am.Labels["alertname"]
	if reason := checkText(a.Signature, MaxSignatureBytes); reason != "" {
		report("labels.alertname", shorten(a.Signature), reason)
	}
	descField := "annotations.summary"
	a.Description = am.Annotations["summary"]
	if a.Description == "" {
		descField, a.Description = "annotations.description", am.Annotations["description"]
	}
	if reason := checkText(a.Description, MaxDescriptionBytes); reason != "" {
		report(descField, shorten(a.Description), reason)
	}

	a.Severity = o.defaultSeverity
	if s := am.Labels["severity"]; s != "" {
		sev, err := ParseSeverity(s)
		if err != nil {
			report("labels.severity", s, notSeverity+"; or map it with a relabel rule in Alertmanager")
		}
		a.Severity = sev
	}

	// An empty label is an absent label in Prometheus.
	named := false
	for _, l := range amAddressLabels() {
		v := am.Labels[l]
		if v == "" {
			continue
		}
		named = true
		addr, reason := parseIP(v)
		if reason == "" {
			reason = notDevice(addr)
		}
		if reason != "" {
			report("labels."+l, v, reason)
		} else {
			a.Addresses = append(a.Addresses, addr)
		}
		break
	}
	instance := am.Labels["instance"]
	if !named && instance != "" {
		if addr, ok := instanceAddr(instance); ok {
			a.Addresses = append(a.Addresses, addr)
		}
	}

	if v := am.Labels["mac"]; v != "" {
		mac, reason := normalizeMAC(v)
		if reason != "" {
			report("labels.mac", v, reason)
		}
		a.MAC = mac
	}

	if bad == 0 && len(a.Addresses) == 0 && a.MAC == "" {
		msg := `has no device address: it has none of the labels "ip", "device_ip", "src_ip" or "mac"`
		if instance != "" {
			msg += ", and its instance " + strconv.Quote(shorten(instance)) + " is not an IP address"
		}
		report("labels", "", msg+`; add an ip label to the alerting rule (labels: {ip: "{{ $labels.… }}"})`)
	}
	return a, bad == 0
}

// instanceAddr reads the device address from an instance label:
// host:port, [v6]:port or a bare address. Anything else (a host name, a
// URL) is not an address, and not an error: instance names whatever
// Prometheus scraped.
func instanceAddr(instance string) (netip.Addr, bool) {
	host := instance
	if h, _, err := net.SplitHostPort(instance); err == nil {
		host = h
	}
	addr, reason := parseIP(host)
	if reason != "" || notDevice(addr) != "" {
		return netip.Addr{}, false
	}
	return addr, true
}

// labelsFingerprint is Alertmanager's alert fingerprint: FNV-1a (64 bit)
// over the labels sorted by name, each name and value followed by a 0xff
// byte, in 16 hex digits (prometheus/common model.LabelSet.Fingerprint).
func labelsFingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	slices.Sort(names)
	h := fnv.New64a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[n]))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}
