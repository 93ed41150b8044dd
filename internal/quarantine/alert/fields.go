package alert

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wardnet/ward/internal/inventory"
)

// Messages shared by the formats; each reads on from the quoted value.
const (
	notIP   = "is not an IP address (want IPv4 like 10.61.210.12 or IPv6 like 2001:db8::12)"
	notMAC  = "is not a MAC address (want 6 bytes like 00:1a:2b:3c:4d:01, 00-1a-2b-3c-4d-01, 001a.2b3c.4d01 or 001a2b3c4d01)"
	notTime = "is not a time (want RFC 3339 like 2024-05-01T10:20:30Z or 2024-05-01T10:20:30.123+02:00)"
)

// parseIP reads an address as senders write it. It returns the address
// unmapped (::ffff:10.0.0.1 is 10.0.0.1, as the inventory stores it), or
// why the text is not an address. An IPv6 zone (fe80::1%eth0) is refused:
// a zone names an interface of the sensor, not anything about the device.
func parseIP(s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, notIP
	}
	if a.Zone() != "" {
		return netip.Addr{}, "has an IPv6 zone (%" + a.Zone() + "); send the address without it"
	}
	return a.Unmap(), ""
}

// notDevice returns why a cannot be a device's address, or "". Such an
// address in a flow (an SSDP multicast, a DHCP broadcast) is dropped from
// the candidates; given as the device's address it is an error.
func notDevice(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "is the unspecified address, not a device's"
	case a.IsLoopback():
		return "is a loopback address, not a device's"
	case a.IsMulticast():
		return "is a multicast address, not a device's"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "is the broadcast address, not a device's"
	}
	return ""
}

// candidate is an address field of a flow (src_ip, id.resp_h, …): text that
// must be an IP address, and may turn out not to be a device's.
type candidate struct {
	field string
	value *string
}

// addCandidates appends the device addresses among cs to addrs, in order.
// Text that is not an IP address is an error; an address that cannot be a
// device's is skipped. An absent or empty field is skipped.
func addCandidates(addrs []netip.Addr, cs []candidate, report func(field, value, reason string)) []netip.Addr {
	for _, c := range cs {
		if c.value == nil || *c.value == "" {
			continue
		}
		a, reason := parseIP(*c.value)
		if reason != "" {
			report(c.field, *c.value, reason)
			continue
		}
		if notDevice(a) == "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// uniqueAddrs drops repeated addresses, keeping the first of each.
func uniqueAddrs(addrs []netip.Addr) []netip.Addr {
	out := addrs[:0:0]
	for _, a := range addrs {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// normalizeMAC reads a MAC address in the forms the inventory accepts
// (inventory.NormalizeMAC, so alerts and devices agree on the form) and
// returns it in lowercase colon form, or why it cannot, reading on from the
// value. The all-zero and broadcast MACs are refused: they name no device,
// and matching on them could quarantine whatever happens to carry them.
func normalizeMAC(s string) (string, string) {
	mac, err := inventory.NormalizeMAC(s)
	switch {
	case err == nil:
		return mac, ""
	case errors.Is(err, inventory.ErrZeroMAC):
		return "", "is the all-zero MAC, a placeholder rather than a device's; leave mac out if it is unknown"
	case errors.Is(err, inventory.ErrBroadcastMAC):
		return "", "is the broadcast MAC, not a device's; leave mac out if it is unknown"
	}
	return "", notMAC
}

// parseRFC3339 reads a time in RFC 3339, the generic form's and
// Alertmanager's format.
func parseRFC3339(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1 {
		return time.Time{}, false
	}
	return t, true
}

// parseSensorTime reads the timestamps IDSs write: RFC 3339; Suricata's
// 2017-04-07T22:24:37.251547+0100, whose offset has no colon; and, from
// Suricata before 3.0, no offset at all, which is read as UTC.
func parseSensorTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1 {
			return t, true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil && t.Year() >= 1 {
		return t, true
	}
	return time.Time{}, false
}

// maxEpoch is the first second of year 10000, past which a time cannot be
// written in RFC 3339.
const maxEpoch = 253402300800

// parseEpoch reads a JSON number of seconds since 1970, as Zeek writes ts
// by default (1599042052.123456). The digits are read exactly, not through
// a float, so the time is the one Zeek wrote to the microsecond. A whole
// number of more than 11 digits is milliseconds, as Zeek writes with
// JSON::TS_MILLIS: 1e11 seconds would be the year 5138.
func parseEpoch(num string) (time.Time, bool) {
	secs, frac, hasFrac := strings.Cut(num, ".")
	if secs == "" || len(secs) > 18 || !allDigits(secs) || (hasFrac && (frac == "" || !allDigits(frac))) {
		// Exponents and signs: rare, read through a float.
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || f >= maxEpoch {
			return time.Time{}, false
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), true
	}
	sec, _ := strconv.ParseInt(secs, 10, 64)
	var nsec int64
	if hasFrac {
		frac = (frac + "000000000")[:9]
		nsec, _ = strconv.ParseInt(frac, 10, 64)
	} else if len(secs) > 11 {
		sec, nsec = sec/1000, sec%1000*1e6
	}
	if sec >= maxEpoch {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkIdent returns why s cannot be a source or an ID, or "". Control
// characters are refused: IDs are compared and logged, and a newline or an
// escape sequence in one would forge log lines and hide duplicates.
func checkIdent(s string, limit int) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > limit {
		return "is " + itoa(len(s)) + " bytes long; the limit is " + itoa(limit)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains a control character; use printable text"
		}
	}
	return ""
}

// checkText returns why s cannot be a signature or description, or "".
// Tabs and line breaks are text; other control characters (NUL among them,
// which PostgreSQL cannot store) are refused.
func checkText(s string, limit int) string {
	if len(s) > limit {
		return "is " + itoa(len(s)) + " bytes long; the limit is " + itoa(limit)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return "contains a control character; remove it"
		}
	}
	return ""
}

// rawRecord is what Alert.Raw holds for the alert's JSON text raw: raw
// compacted, or, when that is larger than MaxRawBytes, a small object naming
// its size and hash and holding its first KiB as text. Compacting copies, so
// Raw does not keep the request body alive.
func rawRecord(raw []byte) []byte {
	c := compactJSON(raw)
	if len(c) <= MaxRawBytes {
		return c
	}
	head := c[:1024]
	for !utf8.Valid(head) { // cut on a character boundary
		head = head[:len(head)-1]
	}
	sum := sha256.Sum256(c)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Truncated bool   `json:"truncated"`
		Bytes     int    `json:"bytes"`
		SHA256    string `json:"sha256"`
		Head      string `json:"head"`
	}{true, len(c), hex.EncodeToString(sum[:]), string(head)})
	return bytes.TrimSuffix(out.Bytes(), []byte{'\n'})
}

// compactJSON returns a copy of the valid JSON raw without insignificant
// whitespace.
func compactJSON(raw []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, raw); err != nil {
		return append([]byte(nil), raw...) // raw was checked when it was read
	}
	return b.Bytes()
}

// decodeProblem turns an error of json.Unmarshal on a record into the field
// at fault and what to tell the sender.
func decodeProblem(err error) (field, message string) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field, "got " + gotKind(te.Value) + ", want " + wantKind(te.Type)
	}
	return "", "cannot be read: " + strings.TrimPrefix(err.Error(), "json: ")
}

func gotKind(v string) string {
	switch {
	case v == "string":
		return "a string"
	case v == "object":
		return "an object"
	case v == "array":
		return "an array"
	case v == "bool":
		return "a boolean"
	case v == "number":
		return "a number"
	case strings.HasPrefix(v, "number "):
		return "the number " + strings.TrimPrefix(v, "number ")
	}
	return v
}

func wantKind(t reflect.Type) string {
	if t == reflect.TypeFor[json.Number]() {
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number of 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return wantKind(t.Elem())
	}
	return t.String()
}
