// Package alert turns the body of POST /api/v1/alerts into normalised
// alerts. Four formats are accepted: Ward's generic JSON form (DESIGN.md,
// "API (contract)"), Prometheus Alertmanager webhooks, Suricata EVE alert
// events and Zeek notice.log records. Each becomes the same Alert: a severity
// on one five-level scale, the candidate addresses of the device concerned,
// and an ID that makes a re-sent alert a duplicate, so intake is idempotent.
//
// Parsing is all-or-nothing: Parse returns every alert of a body, or a
// *ParseError listing what is wrong (up to MaxErrors problems), each naming
// the alert, its line, the field and what to do. A sender gets one clear
// refusal rather than a half-accepted batch.
//
// Start reading at Parse below: format detection and the checks every alert
// passes. Each format has its own file (generic.go, alertmanager.go,
// suricata.go, zeek.go) mapping its fields onto Alert; fields.go holds the
// rules for addresses, MACs, times and text that all four share, input.go
// the walk over JSON values that knows their line numbers. The user
// documentation is docs/alerts.md at the repository root.
package alert

import (
	"net/netip"
	"strings"
	"time"
)

// The formats Parse reads, as named in Options.Format and Alert.Format.
const (
	FormatGeneric      = "generic"
	FormatAlertmanager = "alertmanager"
	FormatSuricata     = "suricata"
	FormatZeek         = "zeek"
)

// Formats returns the names of the accepted formats.
func Formats() []string {
	return []string{FormatGeneric, FormatAlertmanager, FormatSuricata, FormatZeek}
}

// Limits on one body and one alert. Text limits are in bytes, so they bound
// storage whatever the script.
const (
	// DefaultMaxAlerts is the number of alerts one body may hold when
	// Options.MaxAlerts is zero.
	DefaultMaxAlerts = 1000
	// MaxErrors is how many problems Parse reports before it stops reading:
	// enough to fix a batch in one pass, small enough for a response body.
	MaxErrors = 20

	MaxSourceBytes      = 64
	MaxIDBytes          = 256
	MaxSignatureBytes   = 1024
	MaxDescriptionBytes = 4096
	// MaxRawBytes bounds Alert.Raw; see Alert.Raw for what a larger alert
	// keeps.
	MaxRawBytes = 16 << 10
)

// Alert is one alert in Ward's normalised form, whatever format it came in.
type Alert struct {
	// Format is the format it was read from: one of Formats().
	Format string
	// Source is who sent it, and the scope of ID: the same ID from two
	// sources is two alerts. Options.Source overrides what the payload says.
	Source string
	// ID is unique per Source. Receiving an ID again is a duplicate, and
	// downstream treats it as already handled. How each format's ID is built
	// is in docs/alerts.md.
	ID string
	// Severity is always one of the five levels.
	Severity Severity
	// Addresses are the candidate addresses of the device the alert is
	// about, most likely first: valid, IPv4-mapped IPv6 unmapped, no
	// duplicates, and none that cannot be a device (unspecified, loopback,
	// multicast, broadcast). Device matching tries them in order.
	Addresses []netip.Addr
	// MAC is the device's MAC address in lowercase colon form
	// (00:1a:2b:3c:4d:01), or empty. An alert has at least one address or a
	// MAC.
	MAC string
	// Signature names what was detected: the rule, alert name or notice.
	Signature string
	// Description is the human explanation, when the sender gave one.
	Description string
	// Time is when the sensor saw it, in UTC; zero when the payload has none.
	Time time.Time
	// Resolved reports an Alertmanager notification that the alert stopped
	// firing. The caller records it and takes no action on it. It has the
	// ID of the firing it ends, so it is recorded against that alert rather
	// than dropped as a duplicate.
	Resolved bool
	// Via is who delivered the alert to Ward, set by the API from the
	// request's credentials ("token:siem", "hmac:ids-3w"), never from the
	// payload; it goes to the audit log.
	Via string
	// Raw is the alert's own JSON (the object, EVE line or notice line),
	// compacted, for the record. When that is larger than MaxRawBytes, Raw is
	// instead a small JSON object {"truncated":true,"bytes":N,"sha256":"…",
	// "head":"…"} naming its size and hash, so Raw is always valid JSON.
	Raw []byte
	// Line is the line of the body where the alert starts.
	Line int
}

// Options say how to read a body.
type Options struct {
	// Format is one of Formats() (letter case ignored), for example from
	// ?format= on the request; "" detects it from the payload (see
	// docs/alerts.md, "Detection").
	Format string
	// Source, when set, becomes every alert's Source, replacing what the
	// payload says. Set it to the authenticated sender's name, so one sender
	// cannot write into another's ID space. When empty, generic alerts need
	// their own "source" and the native formats use their format name.
	Source string
	// DefaultSeverity is the severity of alerts whose payload has none: Zeek
	// notices, and Alertmanager alerts without a severity label. "" means
	// medium.
	DefaultSeverity Severity
	// MaxAlerts is the most alerts one body may hold; a larger body is
	// refused whole. Zero or less means DefaultMaxAlerts.
	MaxAlerts int
}

// options are Options checked and with defaults applied.
type options struct {
	format          string
	source          string
	defaultSeverity Severity
	maxAlerts       int
}

// Parse reads the body of POST /api/v1/alerts. It returns the alerts in the
// order they appear, or nil and a *ParseError. The same body always gives
// the same alerts, IDs included, so a sender's retry is a duplicate.
//
// The body must be UTF-8 (a leading byte order mark is skipped). It may hold
// one JSON value, a JSON array of alerts, or JSON values one after another
// (one per line, as in Suricata's eve.json and Zeek's JSON logs; blank lines
// are fine). Parse does not bound the body's size: the HTTP handler should
// (http.MaxBytesReader).
func Parse(body []byte, opts Options) ([]Alert, error) {
	var p problems
	o, ok := checkOptions(opts, &p)
	if !ok {
		return nil, p.err()
	}
	in, ok := newInput(body, &p)
	if !ok {
		return nil, p.err()
	}
	format := o.format
	if format == "" {
		format = detect(in)
	}
	var alerts []Alert
	switch format {
	case FormatGeneric:
		alerts = parseGeneric(in, o, &p)
	case FormatAlertmanager:
		alerts = parseAlertmanager(in, o, &p)
	case FormatSuricata:
		alerts = parseSuricata(in, o, &p)
	case FormatZeek:
		alerts = parseZeek(in, o, &p)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return alerts, nil
}

func checkOptions(opts Options, p *problems) (*options, bool) {
	o := &options{
		format:          strings.ToLower(strings.TrimSpace(opts.Format)),
		source:          opts.Source,
		defaultSeverity: SeverityMedium,
		maxAlerts:       opts.MaxAlerts,
	}
	ok := true
	switch o.format {
	case "", FormatGeneric, FormatAlertmanager, FormatSuricata, FormatZeek:
	default:
		p.add(Error{Field: "format", Value: shorten(opts.Format),
			Message: "is not a format Ward reads; use generic, alertmanager, suricata or zeek, or leave it empty to detect the format from the payload"})
		ok = false
	}
	if opts.Source != "" {
		if reason := checkIdent(opts.Source, MaxSourceBytes); reason != "" {
			p.add(Error{Field: "source", Value: shorten(opts.Source), Message: reason + " (the source name the caller set)"})
			ok = false
		}
	}
	if opts.DefaultSeverity != "" {
		if !opts.DefaultSeverity.Valid() {
			p.add(Error{Field: "default severity", Value: shorten(string(opts.DefaultSeverity)), Message: notSeverity})
			ok = false
		}
		o.defaultSeverity = opts.DefaultSeverity
	}
	if o.maxAlerts <= 0 {
		o.maxAlerts = DefaultMaxAlerts
	}
	return o, ok
}

// detect names the format of a body from its first JSON value. The rules,
// in order (docs/alerts.md, "Detection"): an object with "alerts" and
// "receiver" or "version" is an Alertmanager webhook; a record with
// "event_type" is Suricata EVE; one with "ts" and any of "note", "uid" or
// "_path" is a Zeek log; anything else is the generic form, whose parser
// then says what is wrong with it.
func detect(in *input) string {
	k := in.firstKeys()
	switch {
	case k.Alerts != nil && (k.Receiver != nil || k.Version != nil):
		return FormatAlertmanager
	case k.EventType != nil:
		return FormatSuricata
	case k.TS != nil && (k.Note != nil || k.UID != nil || k.Path != nil):
		return FormatZeek
	default:
		return FormatGeneric
	}
}

// collector gathers the alerts of one body and enforces MaxAlerts.
type collector struct {
	o      *options
	p      *problems
	alerts []Alert
	seen   int // alerts read, valid or not
}

// next counts one more alert in the body and reports whether reading may
// go on: false once the body holds too many alerts or too many problems.
func (c *collector) next() bool {
	if c.p.full() {
		return false
	}
	c.seen++
	if c.seen > c.o.maxAlerts {
		c.p.add(Error{Message: tooMany(c.o.maxAlerts)})
		c.p.stop()
		return false
	}
	return true
}

// keep finishes an alert that had no problem of its own and adds it.
func (c *collector) keep(a Alert, raw []byte) {
	if c.o.source != "" {
		a.Source = c.o.source
	}
	a.Addresses = uniqueAddrs(a.Addresses)
	a.Raw = rawRecord(raw)
	if !a.Time.IsZero() {
		a.Time = a.Time.UTC()
	}
	c.alerts = append(c.alerts, a)
}

func tooMany(max int) string {
	return "the body holds more than " + itoa(max) + " alerts; send at most " + itoa(max) + " per request"
}
