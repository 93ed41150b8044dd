package alert_test

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode"

	"github.com/wardnet/ward/internal/quarantine/alert"
)

// FuzzAlert feeds Parse arbitrary bodies, detected or read as each format.
// It must never panic. A failure is a *ParseError with 1 to MaxErrors
// problems and no alerts. A success holds at least one alert, each with a
// source, an ID, a valid severity, and a valid device address or a MAC, and
// with Raw valid JSON within its limit. Parsing is deterministic: the same
// body parsed again gives equal alerts.
func FuzzAlert(f *testing.F) {
	// The Options.Format values the fuzzer chooses from.
	fuzzFormats := [...]string{"", "generic", "alertmanager", "suricata", "zeek"}
	files, err := filepath.Glob("testdata/*.*json")
	if err != nil || len(files) == 0 {
		f.Fatal("no samples", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for i := range fuzzFormats {
			f.Add(b, uint8(i))
		}
	}
	for _, s := range []string{
		"",
		"\xef\xbb\xbf",
		"null",
		"[]",
		"[[]]",
		"{}",
		`"x"`,
		"{\"source\":\"s\",\"id\":\"\xff\",\"severity\":\"high\",\"ip\":\"10.0.0.1\"}",
		`{"source":"s","id":"1","severity":"high","ip":"10.0.0.1"}{"source":"s","id":"2","severity":"Warning","mac":"001a2b3c4d01"}`,
		`{"source":"s","id":"1","severity":"urgent","ip":"10.1.1","mac":"00:00:00:00:00:00","time":"x","extra":1}`,
		`{"source":"s","id":"1","severity":"low","ip":"::ffff:10.0.0.1"}`,
		`{"source":"s","id":"1","severity":"low","ip":"fe80::1%eth0"}`,
		`{"version":"4","receiver":"r","alerts":[{"status":"firing","labels":{"instance":"[::1]:9100"},"startsAt":"2024-05-01T10:00:00Z"}]}`,
		`{"version":"4","receiver":"r","alerts":[{"status":"resolved","labels":{"ip":"10.0.0.1","severity":"P2"},"startsAt":"2024-05-01T10:00:00Z","fingerprint":"\u0007"}]}`,
		`{"version":"4","alerts":{}}`,
		"{\"event_type\":\"alert\",\"timestamp\":\"2024-05-01T10:00:00+0200\",\"flow_id\":1,\"src_ip\":\"10.0.0.1\",\"alert\":{\"signature_id\":1,\"severity\":1,\"source\":{\"ip\":\"10.0.0.2\"}}}\n\n{\"event_type\":\"flow\"}\n",
		`{"event_type":"alert","timestamp":"2024-05-01T10:00:00","src_ip":"239.1.1.1","alert":{"severity":0}}`,
		`{"ts":1e300,"note":"N","src":"10.0.0.1"}`,
		`{"ts":99999999999999999999.5,"uid":"C","note":"N","src":"10.0.0.1"}`,
		`{"ts":"2020-09-02T10:20:52Z","_path":"notice","note":"N","dst":"2001:db8::1"}`,
		`{"_path":"conn","ts":1,"uid":"C"}`,
	} {
		for i := range fuzzFormats {
			f.Add([]byte(s), uint8(i))
		}
	}

	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		opts := alert.Options{Format: fuzzFormats[int(format)%len(fuzzFormats)]}
		alerts, err := alert.Parse(data, opts)
		if err != nil {
			var pe *alert.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is a %T, want *ParseError", err, err)
			}
			if len(pe.Problems) == 0 || len(pe.Problems) > alert.MaxErrors {
				t.Fatalf("%d problems", len(pe.Problems))
			}
			if alerts != nil {
				t.Fatal("alerts returned with an error")
			}
			if pe.Error() == "" {
				t.Fatal("empty message")
			}
			return
		}
		if len(alerts) == 0 || len(alerts) > alert.DefaultMaxAlerts {
			t.Fatalf("%d alerts and no error", len(alerts))
		}
		for i, a := range alerts {
			checkAlert(t, i+1, a)
		}
		again, err := alert.Parse(data, opts)
		if err != nil || !reflect.DeepEqual(again, alerts) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

// checkAlert asserts what every alert Parse returns satisfies.
func checkAlert(t *testing.T, n int, a alert.Alert) {
	t.Helper()
	if !slices.Contains(alert.Formats(), a.Format) {
		t.Fatalf("alert %d: format %q", n, a.Format)
	}
	if a.Source == "" || len(a.Source) > alert.MaxSourceBytes || hasControl(a.Source) {
		t.Fatalf("alert %d: source %q", n, a.Source)
	}
	if a.ID == "" || len(a.ID) > alert.MaxIDBytes || hasControl(a.ID) {
		t.Fatalf("alert %d: ID %q", n, a.ID)
	}
	if !a.Severity.Valid() {
		t.Fatalf("alert %d: severity %q", n, a.Severity)
	}
	if len(a.Addresses) == 0 && a.MAC == "" {
		t.Fatalf("alert %d: neither address nor MAC", n)
	}
	var seen []netip.Addr
	for _, addr := range a.Addresses {
		if !addr.IsValid() || addr.Is4In6() || addr.Zone() != "" || addr.IsUnspecified() || addr.IsLoopback() ||
			addr.IsMulticast() || addr == netip.MustParseAddr("255.255.255.255") || slices.Contains(seen, addr) {
			t.Fatalf("alert %d: address %v in %v", n, addr, a.Addresses)
		}
		seen = append(seen, addr)
	}
	if a.MAC != "" && !isMACForm(a.MAC) {
		t.Fatalf("alert %d: MAC %q", n, a.MAC)
	}
	if len(a.Signature) > alert.MaxSignatureBytes || len(a.Description) > alert.MaxDescriptionBytes {
		t.Fatalf("alert %d: signature %d bytes, description %d bytes", n, len(a.Signature), len(a.Description))
	}
	if !json.Valid(a.Raw) || len(a.Raw) > alert.MaxRawBytes {
		t.Fatalf("alert %d: Raw %.100q", n, a.Raw)
	}
	if !a.Time.IsZero() && a.Time.Location() != time.UTC {
		t.Fatalf("alert %d: time %v not in UTC", n, a.Time)
	}
	if a.Line < 1 {
		t.Fatalf("alert %d: line %d", n, a.Line)
	}
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// isMACForm reports whether s is a MAC in lowercase colon form.
func isMACForm(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
		} else if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
