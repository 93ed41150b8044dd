package inventory

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Device is one networked device as Ward knows it.
type Device struct {
	Name        string            `json:"name"`
	MAC         string            `json:"mac,omitempty"` // normalised: lowercase, colon-separated (00:1a:2b:3c:4d:01)
	IP          netip.Addr        `json:"ip"`            // IPv4 or IPv6, required
	Class       string            `json:"class,omitempty"`
	Vendor      string            `json:"vendor,omitempty"`
	Model       string            `json:"model,omitempty"`
	Firmware    string            `json:"firmware,omitempty"`
	Criticality string            `json:"criticality"` // life_critical|high|medium|low (required)
	Site        string            `json:"site,omitempty"`
	Location    string            `json:"location,omitempty"`
	Switch      string            `json:"switch,omitempty"` // a target name
	Port        string            `json:"port,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"` // extra CSV columns, NetBox tags and status
	Line        int               `json:"-"`                // source line (CSV) or 1-based record index (JSON), for errors
}

// The criticalities a device may have, most critical first. They decide what
// a quarantine does to the device (DESIGN.md, quarantine block).
const (
	CriticalityLifeCritical = "life_critical"
	CriticalityHigh         = "high"
	CriticalityMedium       = "medium"
	CriticalityLow          = "low"
)

// Criticalities returns the valid criticalities, most critical first.
func Criticalities() []string {
	return []string{CriticalityLifeCritical, CriticalityHigh, CriticalityMedium, CriticalityLow}
}

// Limits on what a device may hold. Field values are checked in characters;
// MaxFieldBytes is a hard cap applied first, so a runaway cell is reported
// as such rather than measured.
const (
	MaxNameLen     = 128
	MaxFieldLen    = 256
	MaxLabelKeyLen = 128
	MaxFieldBytes  = 4 << 10
	MaxDevices     = 1_000_000
)

// columns is the CSV header of the inventory contract (DESIGN.md), in order.
var columns = [...]string{"name", "mac", "ip", "class", "vendor", "model", "firmware", "criticality", "site", "location", "switch", "port"}

// cells returns pointers to d's fields in the order of columns, with ip
// standing in for the IP, which the importers read as text.
func (d *Device) cells(ip *string) [len(columns)]*string {
	return [...]*string{&d.Name, &d.MAC, ip, &d.Class, &d.Vendor, &d.Model, &d.Firmware,
		&d.Criticality, &d.Site, &d.Location, &d.Switch, &d.Port}
}

// isColumn reports whether name (lowercase) is a contract column.
func isColumn(name string) bool { return slices.Contains(columns[:], name) }

const (
	wantMAC         = "not a MAC address (want 6 bytes like 00:1a:2b:3c:4d:01, 00-1a-2b-3c-4d-01, 001a.2b3c.4d01 or 001a2b3c4d01)"
	wantIP          = "not an IP address (want IPv4 like 10.61.210.11 or IPv6 like 2001:db8::11)"
	wantCriticality = "one of life_critical, high, medium, low"
	notUTF8         = "not valid UTF-8; save the file as UTF-8 (in Excel: CSV UTF-8)"
)

// Validate checks a device against the inventory contract and normalises it
// in place: text fields are trimmed, the MAC is put in lowercase colon form,
// the criticality in lowercase, an IPv4-mapped IPv6 address is unmapped and
// empty labels are dropped. It returns every problem found, each with
// d.Line; nil means the device is valid. The importers use it for every row;
// the API uses it for single-device edits.
//
// Validate does not look across devices: duplicates are found by the
// importers, and by the store against what it already holds.
func Validate(d *Device) []RowError {
	return validate(d, nil)
}

// validate is Validate with the IP already checked when ipErr is non-nil:
// the importers parse the IP text themselves and report its problem once.
func validate(d *Device, ipErr *RowError) []RowError {
	var errs []RowError
	add := func(field, value, reason string) {
		errs = append(errs, RowError{Line: d.Line, Device: d.Name, Field: field, Value: shorten(value), Reason: reason})
	}

	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		add("name", "", "required: every device needs a name, unique in the inventory")
	} else if reason := checkText(d.Name, MaxNameLen); reason != "" {
		add("name", d.Name, reason)
	}

	if mac := strings.TrimSpace(d.MAC); mac != "" {
		norm, err := NormalizeMAC(mac)
		if err != nil {
			add("mac", mac, err.Error())
			norm = mac
		}
		d.MAC = norm
	} else {
		d.MAC = ""
	}

	switch {
	case ipErr != nil:
		errs = append(errs, *ipErr)
	default:
		addr, reason := checkAddr(d.IP)
		if reason != "" {
			add("ip", addrText(d.IP), reason)
		}
		d.IP = addr
	}

	for _, f := range []struct {
		name string
		v    *string
	}{
		{"class", &d.Class}, {"vendor", &d.Vendor}, {"model", &d.Model}, {"firmware", &d.Firmware},
		{"site", &d.Site}, {"location", &d.Location}, {"switch", &d.Switch}, {"port", &d.Port},
	} {
		*f.v = strings.TrimSpace(*f.v)
		if reason := checkText(*f.v, MaxFieldLen); reason != "" {
			add(f.name, *f.v, reason)
		}
	}

	crit := strings.TrimSpace(d.Criticality)
	if reason := checkBytes(crit); reason != "" {
		add("criticality", crit, reason)
		d.Criticality = crit
	} else if norm, reason := normalizeCriticality(crit); reason != "" {
		add("criticality", crit, reason)
		d.Criticality = crit
	} else {
		d.Criticality = norm
	}

	errs = append(errs, validateLabels(d)...)
	return errs
}

// validateLabels checks label keys and values, trims values and drops empty
// ones (an empty CSV cell means "no label").
func validateLabels(d *Device) []RowError {
	var errs []RowError
	add := func(field, value, reason string) {
		errs = append(errs, RowError{Line: d.Line, Device: d.Name, Field: field, Value: shorten(value), Reason: reason})
	}
	keys := make([]string, 0, len(d.Labels))
	for k, v := range d.Labels {
		v = strings.TrimSpace(v)
		if v == "" {
			delete(d.Labels, k)
			continue
		}
		d.Labels[k] = v
		keys = append(keys, k)
	}
	if len(d.Labels) == 0 {
		d.Labels = nil
		return nil
	}
	slices.Sort(keys)
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		field := "label " + k
		if reason := checkLabelKey(k); reason != "" {
			add("label key", k, reason)
			continue
		}
		if other, dup := seen[strings.ToLower(k)]; dup {
			add("label key", k, fmt.Sprintf("differs from label %q only in case; use one spelling", other))
			continue
		}
		seen[strings.ToLower(k)] = k
		if reason := checkText(d.Labels[k], MaxFieldLen); reason != "" {
			add(field, d.Labels[k], reason)
		}
	}
	return errs
}

// checkLabelKey returns why k cannot be a label key, or "".
func checkLabelKey(k string) string {
	switch {
	case k == "":
		return "empty label key; give the label a name"
	case len(k) > MaxLabelKeyLen:
		return fmt.Sprintf("label key too long (%d characters; at most %d)", len(k), MaxLabelKeyLen)
	case isColumn(strings.ToLower(k)):
		return fmt.Sprintf("%s is a device field, not a label; set the field instead", strings.ToLower(k))
	}
	for i, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Sprintf("not a valid label key: %q is not allowed; use letters, digits, _, - and .", r)
		}
		// A leading - or . would read as a formula or hidden name in a
		// spreadsheet's header row (see ExportCSV).
		if i == 0 && (r == '-' || r == '.') {
			return "not a valid label key: it must start with a letter, digit or _"
		}
	}
	return ""
}

// checkBytes returns why s is over the hard size cap for any field or is
// not UTF-8, or "".
func checkBytes(s string) string {
	if len(s) > MaxFieldBytes {
		return fmt.Sprintf("is %d bytes, over the %d KiB limit for any field; is this the right column?", len(s), MaxFieldBytes>>10)
	}
	if !utf8.ValidString(s) {
		return notUTF8
	}
	return ""
}

// checkText returns why a text value is not acceptable, or "".
func checkText(s string, maxLen int) string {
	if reason := checkBytes(s); reason != "" {
		return reason
	}
	if n := utf8.RuneCountInString(s); n > maxLen {
		return fmt.Sprintf("is %d characters; the limit is %d", n, maxLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains the control character %U; remove it", r)
		}
	}
	return ""
}

// The all-zero and broadcast MACs name no device: NormalizeMAC refuses
// them with these errors (errors.Is), so an alert carrying one cannot match
// whatever device happens to have it.
var (
	ErrZeroMAC      = errors.New("the all-zero MAC is a placeholder, not a device's address; leave mac empty if it is unknown")
	ErrBroadcastMAC = errors.New("ff:ff:ff:ff:ff:ff is the broadcast address, not a device's; leave mac empty if it is unknown")
)

// NormalizeMAC parses a MAC address written as 00:1A:2B:3C:4D:01,
// 00-1a-2b-3c-4d-01, 001a.2b3c.4d01 (Cisco) or 001a2b3c4d01 and returns it in
// lowercase colon form. The error says what to write instead. Inventory
// and alerts share it, so a device and an alert about it agree on the form.
func NormalizeMAC(s string) (string, error) {
	if reason := checkBytes(s); reason != "" {
		return "", errors.New(reason)
	}
	return normalizeMAC(s)
}

func normalizeMAC(s string) (string, error) {
	notMAC := errors.New(wantMAC)
	var digits string
	switch len(s) {
	case 17: // 00:1a:2b:3c:4d:01 or 00-1a-2b-3c-4d-01
		sep := s[2]
		if sep != ':' && sep != '-' {
			return "", notMAC
		}
		var b strings.Builder
		for i := 0; i < 17; i += 3 {
			if i+2 < 17 && s[i+2] != sep {
				return "", notMAC
			}
			b.WriteString(s[i : i+2])
		}
		digits = b.String()
	case 14: // 001a.2b3c.4d01
		if s[4] != '.' || s[9] != '.' {
			return "", notMAC
		}
		digits = s[0:4] + s[5:9] + s[10:14]
	case 12:
		digits = s
	default:
		return "", notMAC
	}
	var mac [6]byte
	if _, err := hex.Decode(mac[:], []byte(digits)); err != nil {
		return "", notMAC
	}
	switch mac {
	case [6]byte{}:
		return "", ErrZeroMAC
	case [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}:
		return "", ErrBroadcastMAC
	}
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 17)
	for i, c := range mac {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&0xf])
	}
	return string(out), nil
}

// ParseIP parses a device address: IPv4 or IPv6, without a zone or prefix
// length, and not loopback, multicast, broadcast or unspecified. An
// IPv4-mapped IPv6 address is returned as IPv4. The error says what to write
// instead.
func ParseIP(s string) (netip.Addr, error) {
	addr, reason := parseIP(s)
	if reason != "" {
		return netip.Addr{}, errors.New(reason)
	}
	return addr, nil
}

func parseIP(s string) (netip.Addr, string) {
	s = strings.TrimSpace(s)
	if reason := checkBytes(s); reason != "" {
		return netip.Addr{}, reason
	}
	if s == "" {
		return netip.Addr{}, "required: every device needs its IPv4 or IPv6 address"
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		if p, perr := netip.ParsePrefix(s); perr == nil {
			return netip.Addr{}, fmt.Sprintf("is a prefix, not an address; write %s without /%d", p.Addr(), p.Bits())
		}
		return netip.Addr{}, wantIP
	}
	return checkAddr(addr)
}

// checkAddr validates a parsed device address.
func checkAddr(addr netip.Addr) (netip.Addr, string) {
	switch {
	case !addr.IsValid():
		return addr, "required: every device needs its IPv4 or IPv6 address"
	case addr.Zone() != "":
		return addr, fmt.Sprintf("has a zone (%%%s); write the address without it", addr.Zone())
	}
	addr = addr.Unmap()
	switch {
	case addr.IsUnspecified():
		return addr, "is the unspecified address, not a device's; write the device's own address"
	case addr.IsLoopback():
		return addr, "is a loopback address, not reachable on the network; write the device's own address"
	case addr.IsMulticast():
		return addr, "is a multicast group, not a device's address"
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return addr, "is the broadcast address, not a device's"
	}
	return addr, ""
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// normalizeCriticality returns the canonical criticality, or a reason.
func normalizeCriticality(s string) (string, string) {
	if s == "" {
		return "", "required: " + wantCriticality
	}
	lower := strings.ToLower(s)
	if slices.Contains(Criticalities(), lower) {
		return lower, ""
	}
	guess := strings.NewReplacer("-", "_", " ", "_").Replace(lower)
	if slices.Contains(Criticalities(), guess) {
		return "", fmt.Sprintf("not a criticality; did you mean %s? (want %s)", guess, wantCriticality)
	}
	return "", "not a criticality; want " + wantCriticality
}

// duplicates finds devices that repeat an earlier device's name (compared
// case-insensitively), MAC or IP within one file.
type duplicates struct {
	names map[string]int
	macs  map[string]int
	ips   map[netip.Addr]int
	unit  string // "line" or "record"
}

func newDuplicates(unit string) *duplicates {
	return &duplicates{names: map[string]int{}, macs: map[string]int{}, ips: map[netip.Addr]int{}, unit: unit}
}

// check records d's valid identifying fields and returns an error for each
// that an earlier device already used. bad lists the fields that failed
// validation, which are not compared.
func (u *duplicates) check(d *Device, bad []RowError) []RowError {
	failed := func(field string) bool {
		return slices.ContainsFunc(bad, func(e RowError) bool { return e.Field == field })
	}
	var errs []RowError
	dup := func(field, value string, first int, what string) {
		errs = append(errs, RowError{
			Line: d.Line, Device: d.Name, Field: field, Value: shorten(value),
			Reason: fmt.Sprintf("duplicate: %s %d has the same %s; each device needs its own", u.unit, first, what),
		})
	}
	if d.Name != "" && !failed("name") {
		key := strings.ToLower(d.Name)
		if first, ok := u.names[key]; ok {
			dup("name", d.Name, first, "name (names are compared ignoring case)")
		} else {
			u.names[key] = d.Line
		}
	}
	if d.MAC != "" && !failed("mac") {
		if first, ok := u.macs[d.MAC]; ok {
			dup("mac", d.MAC, first, "MAC")
		} else {
			u.macs[d.MAC] = d.Line
		}
	}
	if d.IP.IsValid() && !failed("ip") {
		if first, ok := u.ips[d.IP]; ok {
			dup("ip", d.IP.String(), first, "IP address")
		} else {
			u.ips[d.IP] = d.Line
		}
	}
	return errs
}

// deviceList collects parsed devices in fixed-size chunks and copies them
// into one slice at the end: for a large file that moves each Device once,
// where append would copy the growing slice over and over.
type deviceList struct {
	chunks [][]Device
	n      int
}

const deviceChunk = 4096

func (l *deviceList) add(d Device) {
	if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == deviceChunk {
		l.chunks = append(l.chunks, make([]Device, 0, deviceChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, d)
	l.n++
}

// reset drops what was collected, once the file is rejected anyway.
func (l *deviceList) reset() { *l = deviceList{} }

func (l *deviceList) devices() []Device {
	if l.n == 0 {
		return nil
	}
	out := make([]Device, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}
