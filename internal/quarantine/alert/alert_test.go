package alert_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/quarantine/alert"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseOK parses body and fails the test on error.
func parseOK(t *testing.T, body []byte, opts alert.Options) []alert.Alert {
	t.Helper()
	alerts, err := alert.Parse(body, opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return alerts
}

// withoutRaw returns the alerts with Raw cleared, after checking that each
// Raw is valid JSON within the limit.
func withoutRaw(t *testing.T, alerts []alert.Alert) []alert.Alert {
	t.Helper()
	out := make([]alert.Alert, len(alerts))
	for i, a := range alerts {
		if !json.Valid(a.Raw) || len(a.Raw) > alert.MaxRawBytes {
			t.Errorf("alert %d: Raw is not valid JSON within %d bytes: %.200s", i+1, alert.MaxRawBytes, a.Raw)
		}
		a.Raw = nil
		out[i] = a
	}
	return out
}

// TestSamples parses the recorded payloads in testdata (see
// testdata/README.md for where each comes from) and checks every field of
// the result.
func TestSamples(t *testing.T) {
	tests := []struct {
		file string
		want []alert.Alert
	}{
		{"generic.json", []alert.Alert{{
			Format: "generic", Source: "suricata", ID: "sensor-3w:2024364:1714558830", Severity: alert.SeverityHigh,
			Addresses: addrs("10.61.210.12"), Signature: "ET SCAN Possible Nmap User-Agent Observed", Line: 1,
		}}},
		{"generic-batch.json", []alert.Alert{
			{Format: "generic", Source: "siem", ID: "INC-2024-0412", Severity: alert.SeverityMedium, MAC: "00:1a:2b:3c:4d:01",
				Signature: "Unexpected outbound SMB", Description: "Infusion pump opened SMB sessions to 14 hosts in 2 minutes",
				Time: at("2024-05-01T08:20:30.5Z"), Line: 2},
			{Format: "generic", Source: "siem", ID: "INC-2024-0413", Severity: alert.SeverityCritical,
				Addresses: addrs("2001:db8:61:210::12"), Line: 5},
			{Format: "generic", Source: "siem", ID: "INC-2024-0414", Severity: alert.SeverityLow,
				Addresses: addrs("10.61.210.13"), MAC: "00:1a:2b:3c:4d:03", Line: 6},
		}},
		// Alertmanager from 2019 sent no fingerprint; the IDs carry the one
		// Ward computed (TestAlertmanagerFingerprint checks the algorithm
		// against a real one).
		{"alertmanager-firing.json", []alert.Alert{
			{Format: "alertmanager", Source: "alertmanager", ID: "4a110cc8dbe76532@2019-09-27T16:27:56.612666101Z",
				Severity: alert.SeverityHigh, Addresses: addrs("172.29.254.30"), Signature: "ICMP ping failed",
				Description: "172.29.254.30 does not reply to ICMP pings", Time: at("2019-09-27T16:27:56.612666101Z"), Line: 1},
			{Format: "alertmanager", Source: "alertmanager", ID: "e92130f1a362a046@2019-09-27T16:27:56.612666101Z",
				Severity: alert.SeverityHigh, Addresses: addrs("172.29.254.50"), Signature: "ICMP ping failed",
				Description: "172.29.254.50 does not reply to ICMP pings", Time: at("2019-09-27T16:27:56.612666101Z"), Line: 1},
			{Format: "alertmanager", Source: "alertmanager", ID: "1e1c2fe4c8293484@2019-09-27T16:27:56.612666101Z",
				Severity: alert.SeverityHigh, Addresses: addrs("172.29.254.66"), Signature: "ICMP ping failed",
				Description: "172.29.254.66 does not reply to ICMP pings", Time: at("2019-09-27T16:27:56.612666101Z"), Line: 1},
		}},
		{"alertmanager-resolved.json", []alert.Alert{{
			Format: "alertmanager", Source: "alertmanager", ID: "fbab788ec4c1018b@2022-07-29T11:13:27.3Z",
			Severity: alert.SeverityMedium, Addresses: addrs("192.168.69.53"), Signature: "Deployment",
			Description: "Kubernetes Deployment Replicas Mismatch", Time: at("2022-07-29T11:13:27.3Z"), Resolved: true, Line: 5,
		}}},
		{"suricata-docs-alert.json", []alert.Alert{{
			Format: "suricata", Source: "suricata", ID: "586497171462735:2018358:2017-04-07T22:24:37.251547+0100",
			Severity: alert.SeverityMedium, Addresses: addrs("192.168.2.14", "209.53.113.5"),
			Signature:   "[1:2018358:10] ET HUNTING GENERIC SUSPICIOUS POST to Dotted Quad with Fake Browser 1",
			Description: "Potentially Bad Traffic", Time: at("2017-04-07T21:24:37.251547Z"), Line: 1,
		}}},
		// One alert among dns, fileinfo, flow, http and netflow events.
		{"suricata-eve.ndjson", []alert.Alert{{
			Format: "suricata", Source: "suricata", ID: "1031464864740687:2017318:2011-08-12T14:52:57.716360+0200",
			Severity: alert.SeverityMedium, Addresses: addrs("147.32.84.165", "78.40.125.4"),
			Signature:   "[1:2017318:4] ET CURRENT_EVENTS SUSPICIOUS IRC - PRIVMSG *.(exe|tar|tgz|zip)  download command",
			Description: "Potentially Bad Traffic", Time: at("2011-08-12T12:52:57.71636Z"), Line: 1,
		}}},
		// The rule's alert.source (the client) comes before src_ip (the
		// server that sent the matching response).
		{"suricata-target.json", []alert.Alert{{
			Format: "suricata", Source: "suricata", ID: "1234567890123456:1:2020-08-04T10:11:12.345678+0000",
			Severity: alert.SeverityLow, Addresses: addrs("192.168.43.32", "179.60.192.3"),
			Signature: "[1:1:1] HTTP body talking about corruption", Time: at("2020-08-04T10:11:12.345678Z"), Line: 1,
		}}},
		{"zeek-notice.ndjson", []alert.Alert{
			{Format: "zeek", Source: "zeek", ID: "CgpsTT28ZTiuSEsfVi:SSL::Invalid_Server_Cert:1216706377.196728",
				Severity: alert.SeverityMedium, Addresses: addrs("192.168.15.4", "74.125.19.104"), Signature: "SSL::Invalid_Server_Cert",
				Description: "SSL certificate validation failed with (unable to get local issuer certificate) (CN=www.google.com,O=Google Inc,L=Mountain View,ST=California,C=US)",
				Time:        at("2008-07-22T05:59:37.196728Z"), Line: 1},
			// No connection, so no uid: the ID is the record's hash.
			{Format: "zeek", Source: "zeek", ID: "sha256:4ecb3b70c225f25f7e0b8b84af71c4c28b4efe0ef642cd0d496cea5bc0cb0dd7",
				Severity: alert.SeverityMedium, Addresses: addrs("192.168.2.153", "192.168.2.111"), Signature: "Scan::Port_Scan",
				Description: "192.168.2.153 scanned at least 15 unique ports of host 192.168.2.111 in 0m0s (local)",
				Time:        at("2016-05-20T06:43:14.405281Z"), Line: 2},
		}},
		{"zeek-notice-iso.ndjson", []alert.Alert{{
			Format: "zeek", Source: "zeek", ID: "CgpsTT28ZTiuSEsfVi:SSL::Invalid_Server_Cert:2008-07-22T05:59:37.196728Z",
			Severity: alert.SeverityMedium, Addresses: addrs("192.168.15.4", "74.125.19.104"), Signature: "SSL::Invalid_Server_Cert",
			Description: "SSL certificate validation failed with (unable to get local issuer certificate) (CN=www.google.com,O=Google Inc,L=Mountain View,ST=California,C=US)",
			Time:        at("2008-07-22T05:59:37.196728Z"), Line: 1,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFile(t, tt.file)
			got := parseOK(t, body, alert.Options{})
			if g := withoutRaw(t, got); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", dump(g), dump(tt.want))
			}
			// The format named explicitly reads the same.
			explicit := parseOK(t, body, alert.Options{Format: tt.want[0].Format})
			if !reflect.DeepEqual(explicit, got) {
				t.Errorf("with Format %q the result differs from detection", tt.want[0].Format)
			}
		})
	}
}

func dump(alerts []alert.Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		fmt.Fprintf(&b, "  %+v\n", a)
	}
	return b.String()
}

// TestRaw checks that Raw is the alert's own JSON, compacted.
func TestRaw(t *testing.T) {
	compact := func(s string) string {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(s)); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	one := parseOK(t, readFile(t, "suricata-docs-alert.json"), alert.Options{})
	if got, want := string(one[0].Raw), compact(string(readFile(t, "suricata-docs-alert.json"))); got != want {
		t.Errorf("Raw = %s\nwant %s", got, want)
	}
	eve := readFile(t, "suricata-eve.ndjson")
	first, _, _ := bytes.Cut(eve, []byte("\n"))
	got := parseOK(t, eve, alert.Options{})
	if string(got[0].Raw) != string(first) {
		t.Errorf("Raw = %s\nwant the first line", got[0].Raw)
	}
	am := parseOK(t, readFile(t, "alertmanager-resolved.json"), alert.Options{})
	if !strings.HasPrefix(string(am[0].Raw), `{"status":"resolved","labels":{"alertname":"Deployment",`) ||
		!strings.HasSuffix(string(am[0].Raw), `"fingerprint":"fbab788ec4c1018b"}`) {
		t.Errorf("Raw of an Alertmanager alert is %s, want the alert object alone", am[0].Raw)
	}
}

// TestRawTruncated checks that an alert larger than MaxRawBytes keeps a
// valid, bounded record of itself.
func TestRawTruncated(t *testing.T) {
	big := strings.Repeat("A", 40<<10)
	body := `{"timestamp":"2024-05-01T10:00:00.000000+0000","flow_id":1,"event_type":"alert","src_ip":"10.61.210.12",` +
		`"dest_ip":"10.0.0.1","alert":{"signature_id":7,"signature":"big","severity":1},"payload":"` + big + `"}`
	got := parseOK(t, []byte(body), alert.Options{})
	var stub struct {
		Truncated bool
		Bytes     int
		SHA256    string
		Head      string
	}
	if err := json.Unmarshal(got[0].Raw, &stub); err != nil || len(got[0].Raw) > alert.MaxRawBytes {
		t.Fatalf("Raw (%d bytes) is not a bounded JSON object: %v", len(got[0].Raw), err)
	}
	if !stub.Truncated || stub.Bytes != len(body) || len(stub.SHA256) != 64 || !strings.HasPrefix(body, stub.Head) || stub.Head == "" {
		t.Errorf("stub = %+v", stub)
	}
}

// TestDetect checks which format a body is read as when none is named.
func TestDetect(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"generic object", `{"source":"s","id":"1","severity":"high","ip":"10.0.0.1"}`, "generic"},
		{"generic array", `[{"source":"s","id":"1","severity":"high","ip":"10.0.0.1"}]`, "generic"},
		{"alertmanager with receiver only", `{"receiver":"ward","alerts":[{"status":"firing","labels":{"ip":"10.0.0.1"},"startsAt":"2024-05-01T10:00:00Z"}]}`, "alertmanager"},
		{"alertmanager with version only", `{"version":"4","alerts":[{"status":"firing","labels":{"ip":"10.0.0.1"},"startsAt":"2024-05-01T10:00:00Z"}]}`, "alertmanager"},
		{"eve whose first line is not an alert", "{\"event_type\":\"stats\",\"stats\":{\"uptime\":3}}\n" +
			`{"timestamp":"2024-05-01T10:00:00.000000+0000","flow_id":1,"event_type":"alert","src_ip":"10.0.0.1","alert":{"signature_id":1,"severity":1}}`, "suricata"},
		{"eve array", `[{"timestamp":"2024-05-01T10:00:00Z","event_type":"alert","src_ip":"10.0.0.1","alert":{"severity":2}}]`, "suricata"},
		{"zeek notice", `{"ts":1599042052.123,"note":"Scan::Port_Scan","src":"10.0.0.1"}`, "zeek"},
		{"zeek stream with _path", "{\"_path\":\"conn\",\"ts\":1599042052.1,\"uid\":\"C1\"}\n" +
			`{"_path":"notice","ts":1599042052.2,"note":"Scan::Port_Scan","src":"10.0.0.1"}`, "zeek"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOK(t, []byte(tt.body), alert.Options{})
			if got[0].Format != tt.want {
				t.Errorf("Format = %q, want %q", got[0].Format, tt.want)
			}
		})
	}
}

func TestFormatOption(t *testing.T) {
	body := readFile(t, "suricata-docs-alert.json")
	if got := parseOK(t, body, alert.Options{Format: " Suricata "}); got[0].Format != "suricata" {
		t.Errorf("Format %q", got[0].Format)
	}
	_, err := alert.Parse(body, alert.Options{Format: "snort"})
	wantError(t, err, `field "format": "snort" is not a format Ward reads; use generic, alertmanager, suricata or zeek, or leave it empty to detect the format from the payload`)
	// Named wrongly, the format's own rules say what is missing.
	_, err = alert.Parse(body, alert.Options{Format: "zeek"})
	wantError(t, err, `alert 1 (line 1): field "note": is required`, `field "ts": is required`)
}

// wantError checks that err is a *ParseError whose problems contain the
// wanted texts, one problem each, in order.
func wantError(t *testing.T, err error, wants ...string) *alert.ParseError {
	t.Helper()
	var pe *alert.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want a *ParseError", err, err)
	}
	if len(pe.Problems) != len(wants) {
		t.Fatalf("%d problems, want %d:\n%v", len(pe.Problems), len(wants), err)
	}
	for i, w := range wants {
		if got := pe.Problems[i].Error(); !strings.Contains(got, w) {
			t.Errorf("problem %d:\n got %s\nwant it to contain %s", i+1, got, w)
		}
	}
	return pe
}

// TestRejections checks each kind of bad input and the exact words of its
// error.
func TestRejections(t *testing.T) {
	const (
		ok    = `"source":"siem","id":"a-1","severity":"high"`
		eveTS = `"timestamp":"2024-05-01T10:00:00.000000+0000","flow_id":7,"event_type":"alert"`
		amHdr = `{"version":"4","receiver":"ward","status":"firing","alerts":[`
	)
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		body string
		opts alert.Options
		want []string
	}{
		// The body as a whole.
		{"empty", "", alert.Options{}, []string{"the body is empty; send one alert as a JSON object"}},
		{"blank", " \n\t\r\n", alert.Options{}, []string{"the body is empty"}},
		{"only a byte order mark", "\xef\xbb\xbf", alert.Options{}, []string{"the body is empty"}},
		{"invalid UTF-8", "{\"source\":\"siem\",\n\"id\":\"\xff\xfe\"}", alert.Options{},
			[]string{"line 2: the body is not valid UTF-8 (column 7); send it as UTF-8"}},
		{"invalid JSON", "{" + ok + `,"ip":"10.0.0.1"}` + "\n{\"id\": x}", alert.Options{},
			[]string{`alert 2 (line 2): invalid JSON at column 8: invalid character 'x' looking for beginning of value`}},
		{"cut off", "{" + ok + `,"ip":"10.0.0.1"}` + "\n{\"id\":", alert.Options{},
			[]string{"alert 2 (line 2): invalid JSON: the body ends inside a value; send complete JSON (was it cut off?)"}},
		{"not an object", `[1, "x"]`, alert.Options{}, []string{
			`alert 1 (line 1): is a number; each alert in the generic form is a JSON object`,
			`alert 2 (line 1): is a string; each alert`}},
		{"empty array", `[]`, alert.Options{}, []string{"the body holds no alerts (an empty array); send at least one"}},
		{"more than the default limit", "[" + strings.Repeat("{"+ok+`,"ip":"10.0.0.1"},`, alert.DefaultMaxAlerts) + "{" + ok + `,"ip":"10.0.0.1"}]`, alert.Options{},
			[]string{"the body holds more than 1000 alerts; send at most 1000 per request"}},
		{"too many alerts", strings.Repeat("{"+ok+`,"ip":"10.0.0.1"}`+"\n", 3), alert.Options{MaxAlerts: 2},
			[]string{"the body holds more than 2 alerts; send at most 2 per request"}},

		// Options.
		{"bad source option", "{" + ok + `,"ip":"10.0.0.1"}`, alert.Options{Source: "a\x1bb"},
			[]string{`field "source": "a\x1bb" contains a control character; use printable text (the source name the caller set)`}},
		{"bad default severity", "{" + ok + `,"ip":"10.0.0.1"}`, alert.Options{DefaultSeverity: "urgent"},
			[]string{`field "default severity": "urgent" is not a severity`}},

		// The generic form.
		{"unknown field", `{` + ok + `,"ip":"10.0.0.1","sevrity":"low","comment":"x"}`, alert.Options{}, []string{
			`alert 1 (line 1): field "comment": unknown field; the generic form's fields are source, id, severity, ip, mac, signature, description and time`,
			`alert 1 (line 1): field "sevrity": unknown field;`}},
		{"field in the wrong case", `{` + ok + `,"IP":"10.0.0.1"}`, alert.Options{}, []string{
			`field "IP": unknown field (did you mean "ip"?)`}},
		{"wrong type", `{"source":"siem","id":7,"severity":["high"],"ip":"10.0.0.1"}`, alert.Options{}, []string{
			`field "id": got a number, want a string`,
			`field "severity": got an array, want a string`}},
		{"missing required fields", `{"ip":"10.0.0.1"}`, alert.Options{}, []string{
			`field "source": is required: name the sender, like "suricata"`,
			`field "id": is required: the alert's ID at the sender`,
			`field "severity": is required; use info, low, medium, high or critical`}},
		{"null required fields", `{"source":null,"id":null,"severity":null,"ip":"10.0.0.1"}`, alert.Options{}, []string{
			`field "source": is required`, `field "id": is required`, `field "severity": is required`}},
		{"severity not known", `{"source":"siem","id":"a-1","severity":"urgent","ip":"10.0.0.1"}`, alert.Options{}, []string{
			`alert 1 (line 1): field "severity": "urgent" is not a severity; use info, low, medium, high or critical`}},
		{"no address", `{` + ok + `,"ip":null,"mac":""}`, alert.Options{}, []string{
			`alert 1 (line 1): has no device address; give the device's IP address in "ip" or its MAC address in "mac", so Ward can find it`}},
		{"ip not an address", `{` + ok + `,"ip":"10.1.1"}`, alert.Options{}, []string{
			`alert 1 (line 1): field "ip": "10.1.1" is not an IP address (want IPv4 like 10.61.210.12 or IPv6 like 2001:db8::12)`}},
		{"ip with prefix", `{` + ok + `,"ip":"10.0.0.0/24"}`, alert.Options{}, []string{`field "ip": "10.0.0.0/24" is not an IP address`}},
		{"ip with zone", `{` + ok + `,"ip":"fe80::1%eth0"}`, alert.Options{}, []string{`field "ip": "fe80::1%eth0" has an IPv6 zone (%eth0); send the address without it`}},
		{"ip multicast", `{` + ok + `,"ip":"239.255.255.250"}`, alert.Options{}, []string{`"239.255.255.250" is a multicast address, not a device's`}},
		{"ip unspecified", `{` + ok + `,"ip":"::"}`, alert.Options{}, []string{`"::" is the unspecified address, not a device's`}},
		{"ip loopback", `{` + ok + `,"ip":"127.0.0.1"}`, alert.Options{}, []string{`"127.0.0.1" is a loopback address, not a device's`}},
		{"ip broadcast", `{` + ok + `,"ip":"255.255.255.255"}`, alert.Options{}, []string{`"255.255.255.255" is the broadcast address, not a device's`}},
		{"mac not a MAC", `{` + ok + `,"mac":"00:1a:2b:3c:4d"}`, alert.Options{}, []string{
			`field "mac": "00:1a:2b:3c:4d" is not a MAC address (want 6 bytes like 00:1a:2b:3c:4d:01`}},
		{"mac all zero", `{` + ok + `,"mac":"00:00:00:00:00:00"}`, alert.Options{}, []string{
			`field "mac": "00:00:00:00:00:00" is the all-zero MAC, a placeholder rather than a device's`}},
		{"time not RFC 3339", `{` + ok + `,"ip":"10.0.0.1","time":"01/05/2024 10:00"}`, alert.Options{}, []string{
			`field "time": "01/05/2024 10:00" is not a time (want RFC 3339 like 2024-05-01T10:20:30Z`}},
		{"source too long", `{"source":"` + long(65) + `","id":"a","severity":"low","ip":"10.0.0.1"}`, alert.Options{}, []string{
			`…" is 65 bytes long; the limit is 64`}},
		{"id too long", `{"source":"s","id":"` + long(257) + `","severity":"low","ip":"10.0.0.1"}`, alert.Options{}, []string{
			`is 257 bytes long; the limit is 256`}},
		{"signature too long", `{` + ok + `,"ip":"10.0.0.1","signature":"` + long(1025) + `"}`, alert.Options{}, []string{
			`…" is 1025 bytes long; the limit is 1024`}},
		{"description too long", `{` + ok + `,"ip":"10.0.0.1","description":"` + long(4097) + `"}`, alert.Options{}, []string{
			`…" is 4097 bytes long; the limit is 4096`}},
		{"control character in id", `{"source":"siem","id":"a\nb","severity":"low","ip":"10.0.0.1"}`, alert.Options{}, []string{
			`field "id": "a\nb" contains a control character; use printable text`}},
		{"control character in source", `{"source":"si\u0000em","id":"a","severity":"low","ip":"10.0.0.1"}`, alert.Options{}, []string{
			`field "source": "si\x00em" contains a control character`}},
		{"NUL in description", `{` + ok + `,"ip":"10.0.0.1","description":"a\u0000b"}`, alert.Options{}, []string{
			`field "description": "a\x00b" contains a control character; remove it`}},

		// Alertmanager.
		{"alertmanager version", `{"version":"3","receiver":"r","alerts":[]}`, alert.Options{}, []string{
			`line 1: field "version": "3" is not a webhook version Ward reads; Alertmanager sends version "4"`}},
		{"alertmanager alerts not a list", `{"version":"4","receiver":"r","alerts":{}}`, alert.Options{}, []string{
			`field "alerts": got an object, want an array`}},
		{"alertmanager no alerts", `{"version":"4","receiver":"r","alerts":[]}`, alert.Options{}, []string{
			`field "alerts": is empty; the notification holds no alert`}},
		{"alertmanager two webhooks", `{"version":"4","receiver":"r","alerts":[{"status":"firing","labels":{"ip":"10.0.0.1"},"startsAt":"2024-05-01T10:00:00Z"}]}` +
			"\n" + `{"version":"4","receiver":"r","alerts":[]}`, alert.Options{}, []string{
			`line 2: an Alertmanager webhook is one JSON object, and another value starts here; send one notification per request`}},
		{"alertmanager bad alert", amHdr + "\n" +
			`{"status":"firing","labels":{"ip":"10.0.0.1"},"startsAt":"2024-05-01T10:00:00Z"},` + "\n" +
			`{"status":"pending","labels":{"ip":"10.1","severity":"slack"},"startsAt":"yesterday"}]}`, alert.Options{}, []string{
			`alert 2 (line 3): field "status": "pending" is not an alert status; Alertmanager sends firing or resolved`,
			`alert 2 (line 3): field "startsAt": "yesterday" is not a time`,
			`alert 2 (line 3): field "labels.severity": "slack" is not a severity; use info, low, medium, high or critical (synonyms such as warning, error, major or P1 are accepted, see docs/alerts.md); or map it with a relabel rule in Alertmanager`,
			`alert 2 (line 3): field "labels.ip": "10.1" is not an IP address`}},
		{"alertmanager labels wrong type", amHdr + `{"status":"firing","labels":{"ip":10},"startsAt":"2024-05-01T10:00:00Z"}]}`, alert.Options{}, []string{
			`alert 1 (line 1): field "labels": got a number, want a string`}},
		{"alertmanager required fields", amHdr + `{"labels":{"ip":"10.0.0.1"}}]}`, alert.Options{}, []string{
			`field "status": is required: firing or resolved`,
			`field "startsAt": is required: when the alert started firing`}},
		{"alertmanager no address", amHdr + `{"status":"firing","labels":{"alertname":"HostDown","instance":"pump-3w-01:9100"},"startsAt":"2024-05-01T10:00:00Z"}]}`, alert.Options{}, []string{
			`alert 1 (line 1): field "labels": has no device address: it has none of the labels "ip", "device_ip", "src_ip" or "mac", and its instance "pump-3w-01:9100" is not an IP address; add an ip label to the alerting rule`}},
		{"alertmanager device label not a device", amHdr + `{"status":"firing","labels":{"device_ip":"224.0.0.1","instance":"10.0.0.1:9100"},"startsAt":"2024-05-01T10:00:00Z"}]}`, alert.Options{}, []string{
			`field "labels.device_ip": "224.0.0.1" is a multicast address, not a device's`}},

		// Suricata.
		{"eve src_ip not an address",
			`{` + eveTS + `,"src_ip":"10.0.0.1","alert":{"signature_id":1,"severity":1}}` + "\n" +
				`{"event_type":"flow","src_ip":"10.0.0.1"}` + "\n" +
				`{` + eveTS + `,"src_ip":"10.1.1","alert":{"signature_id":1,"severity":1}}`, alert.Options{}, []string{
				`alert 3 (line 3): field "src_ip": "10.1.1" is not an IP address`}},
		{"eve without alerts", `{"event_type":"flow","src_ip":"10.0.0.1"}` + "\n" + `{"event_type":"dns"}`, alert.Options{}, []string{
			`the body holds no Suricata alert (no record has "event_type":"alert"); other event types are skipped, so check that eve-log's types in suricata.yaml include alert`}},
		{"eve without event_type", `{"event_type":"flow"}` + "\n" + `{"timestamp":"2024-05-01T10:00:00Z"}`, alert.Options{}, []string{
			`alert 2 (line 2): field "event_type": is required: every EVE record has one (is this Suricata's eve.json?)`}},
		{"eve event_type not a string", `{"event_type":5,"src_ip":"10.0.0.1"}`, alert.Options{Format: "suricata"}, []string{
			`alert 1 (line 1): field "event_type": got a number, want a string`}},
		{"eve alert object missing", `{` + eveTS + `,"src_ip":"10.0.0.1"}`, alert.Options{}, []string{
			`field "alert": is required in an event of type "alert"`}},
		{"eve severity out of range", `{` + eveTS + `,"src_ip":"10.0.0.1","alert":{"signature_id":1,"severity":0}}`, alert.Options{}, []string{
			`field "alert.severity": "0" is not a Suricata severity; want 1 (most serious), 2, 3 or more`}},
		{"eve severity missing", `{` + eveTS + `,"src_ip":"10.0.0.1","alert":{"signature_id":1}}`, alert.Options{}, []string{
			`field "alert.severity": is required: the rule's priority`}},
		{"eve severity wrong type", `{` + eveTS + `,"src_ip":"10.0.0.1","alert":{"signature_id":1,"severity":"high"}}`, alert.Options{}, []string{
			`alert 1 (line 1): field "alert.severity": got a string, want a whole number`}},
		{"eve bad timestamp", `{"timestamp":"12 Aug 2011","event_type":"alert","src_ip":"10.0.0.1","alert":{"severity":1}}`, alert.Options{}, []string{
			`field "timestamp": "12 Aug 2011" is not a time (want Suricata's form, like 2017-04-07T22:24:37.251547+0100, or RFC 3339)`}},
		{"eve bad flow_id", `{"timestamp":"2024-05-01T10:00:00Z","flow_id":-5,"event_type":"alert","src_ip":"10.0.0.1","alert":{"severity":1}}`, alert.Options{}, []string{
			`field "flow_id": "-5" is not a flow ID (want a whole number of 0 or more)`}},
		{"eve flow_id not a number", `{"timestamp":"2024-05-01T10:00:00Z","flow_id":"abc","event_type":"alert","src_ip":"10.0.0.1","alert":{"severity":1}}`, alert.Options{}, []string{
			`field "flow_id": "abc" is not a flow ID (want a whole number of 0 or more)`}},
		{"eve only multicast", `{` + eveTS + `,"src_ip":"0.0.0.0","dest_ip":"239.255.255.250","alert":{"signature_id":1,"severity":3}}`, alert.Options{}, []string{
			`alert 1 (line 1): has no device address: src_ip and dest_ip are missing, or are multicast, broadcast or otherwise not a device's`}},
		{"eve target not an address", `{` + eveTS + `,"src_ip":"10.0.0.1","alert":{"severity":3,"source":{"ip":"10.0.0.1"},"target":{"ip":"nowhere"}}}`, alert.Options{}, []string{
			`field "alert.target.ip": "nowhere" is not an IP address`}},
		{"eve record not an object", `{` + eveTS + `,"src_ip":"10.0.0.1","alert":{"severity":3}}` + "\n" + `"x"`, alert.Options{Format: "suricata"}, []string{
			`alert 2 (line 2): is a string; each EVE record is a JSON object`}},

		// Zeek.
		{"zeek without note", `{"ts":1599042052.1,"uid":"C1","src":"10.0.0.1"}`, alert.Options{}, []string{
			`field "note": is required: the notice type, like Scan::Port_Scan (is this a notice.log record?)`}},
		{"zeek bad ts", `{"ts":"last tuesday","note":"Scan::Port_Scan","src":"10.0.0.1"}` + "\n" +
			`{"ts":true,"note":"Scan::Port_Scan","src":"10.0.0.1"}` + "\n" +
			`{"ts":-1,"note":"Scan::Port_Scan","src":"10.0.0.1"}`, alert.Options{Format: "zeek"}, []string{
			`alert 1 (line 1): field "ts": "last tuesday" is not a time (want seconds since 1970 like 1599042052.123456, or ISO 8601 like 2020-09-02T10:20:52.123456Z)`,
			`alert 2 (line 2): field "ts": got a boolean, want a number or a string`,
			`alert 3 (line 3): field "ts": "-1" is not a time`}},
		{"zeek src not an address", `{"ts":1599042052.1,"note":"Scan::Port_Scan","src":"scanner.example"}`, alert.Options{}, []string{
			`field "src": "scanner.example" is not an IP address`}},
		{"zeek no address", `{"ts":1599042052.1,"note":"CaptureLoss::Too_Much_Loss","msg":"Detected 12% traffic loss"}`, alert.Options{}, []string{
			`has no device address: none of src, id.orig_h, dst or id.resp_h is a device's IP address`}},
		{"zeek wrong types", `{"ts":1,"note":["Scan::Port_Scan"],"src":"10.0.0.1"}` + "\n" + `{"_path":7,"ts":1,"note":"N::x","src":"10.0.0.1"}` + "\n" +
			`{"_path":"conn","ts":1,"uid":5,"id.orig_h":"10.0.0.1"}`, alert.Options{}, []string{
			`alert 1 (line 1): field "note": got an array, want a string`,
			`alert 2 (line 2): field "_path": got a number, want a string`}},
		{"zeek only other logs", `{"_path":"conn","ts":1599042052.1,"uid":"C1","id.orig_h":"10.0.0.1"}`, alert.Options{}, []string{
			`the body holds no Zeek notice (every record has a "_path" other than "notice"); send notice.log records`}},
		{"zeek uid with control character", `{"ts":1599042052.1,"uid":"C1\u0007","note":"Scan::Port_Scan","src":"10.0.0.1"}`, alert.Options{}, []string{
			`field "uid": "C1\a" contains a control character`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := alert.Parse([]byte(tt.body), tt.opts)
			if alerts != nil {
				t.Errorf("Parse returned %d alerts with its error", len(alerts))
			}
			wantError(t, err, tt.want...)
		})
	}
}

// TestManyProblems checks that reading stops after MaxErrors problems, and
// says so only when there were more.
func TestManyProblems(t *testing.T) {
	bad := func(n int) []byte {
		var b bytes.Buffer
		for i := range n {
			fmt.Fprintf(&b, `{"source":"siem","id":"a-%d","severity":"high","ip":"10.1.%d"}`+"\n", i, i)
		}
		return b.Bytes()
	}
	_, err := alert.Parse(bad(alert.MaxErrors), alert.Options{})
	var pe *alert.ParseError
	if !errors.As(err, &pe) || len(pe.Problems) != alert.MaxErrors || pe.Truncated {
		t.Fatalf("%d bad alerts: %v", alert.MaxErrors, err)
	}
	if !strings.HasPrefix(err.Error(), "20 problems:\n  alert 1 (line 1): field \"ip\": \"10.1.0\" is not an IP address") {
		t.Errorf("message starts %.120q", err.Error())
	}
	_, err = alert.Parse(bad(100), alert.Options{})
	if !errors.As(err, &pe) || len(pe.Problems) != alert.MaxErrors || !pe.Truncated {
		t.Fatalf("100 bad alerts: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "20 problems (stopped reading after the first 20):\n  alert 1 (line 1)") {
		t.Errorf("message starts %.120q", err.Error())
	}
	// errors.As reaches the problems themselves.
	var first *alert.Error
	if !errors.As(err, &first) || first.Alert != 1 || first.Line != 1 || first.Field != "ip" || first.Value != "10.1.0" {
		t.Errorf("first problem = %+v", first)
	}
}

// TestDuplicates checks that IDs depend only on the alert: the same body
// parsed twice, an alert re-sent in another batch, and the same record
// pretty-printed all give the same ID.
func TestDuplicates(t *testing.T) {
	files, err := filepath.Glob("testdata/*.*json")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first := parseOK(t, body, alert.Options{})
		again := parseOK(t, body, alert.Options{})
		if !reflect.DeepEqual(first, again) {
			t.Errorf("%s: parsing twice gave different alerts", f)
		}
		seen := map[string]bool{}
		for _, a := range first {
			if seen[a.ID] {
				t.Errorf("%s: ID %q twice in one body", f, a.ID)
			}
			seen[a.ID] = true
		}
	}

	// Each alert of a batch alone keeps its ID.
	batch := parseOK(t, readFile(t, "generic-batch.json"), alert.Options{})
	for _, a := range batch {
		alone := parseOK(t, a.Raw, alert.Options{})
		if alone[0].ID != a.ID {
			t.Errorf("alone, %q has ID %q", a.ID, alone[0].ID)
		}
	}

	// Records identified by their hash: indentation does not matter.
	zeek := readFile(t, "zeek-notice.ndjson")
	_, scan, _ := bytes.Cut(zeek, []byte("\n"))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, bytes.TrimSpace(scan), "", "  "); err != nil {
		t.Fatal(err)
	}
	a, b := parseOK(t, scan, alert.Options{}), parseOK(t, pretty.Bytes(), alert.Options{})
	if a[0].ID != b[0].ID || !strings.HasPrefix(a[0].ID, "sha256:") {
		t.Errorf("compact %q, indented %q", a[0].ID, b[0].ID)
	}
	eve := `{"timestamp":"2024-05-01T10:00:00Z","event_type":"alert","src_ip":"10.0.0.1","alert":{"signature":"no sid","severity":1}}`
	pretty.Reset()
	if err := json.Indent(&pretty, []byte(eve), "", "\t"); err != nil {
		t.Fatal(err)
	}
	a, b = parseOK(t, []byte(eve), alert.Options{}), parseOK(t, pretty.Bytes(), alert.Options{})
	if a[0].ID != b[0].ID || !strings.HasPrefix(a[0].ID, "sha256:") {
		t.Errorf("compact %q, indented %q", a[0].ID, b[0].ID)
	}

	// A new firing of the same Alertmanager alert is a new alert; a repeat
	// of the same firing is not.
	fire := func(startsAt string) string {
		return `{"version":"4","receiver":"r","alerts":[{"status":"firing","labels":{"alertname":"X","ip":"10.0.0.1"},"startsAt":"` + startsAt + `"}]}`
	}
	one := parseOK(t, []byte(fire("2024-05-01T10:00:00Z")), alert.Options{})
	repeat := parseOK(t, []byte(fire("2024-05-01T10:00:00Z")), alert.Options{})
	later := parseOK(t, []byte(fire("2024-05-01T12:00:00Z")), alert.Options{})
	if one[0].ID != repeat[0].ID || one[0].ID == later[0].ID {
		t.Errorf("IDs: first %q, repeat %q, later firing %q", one[0].ID, repeat[0].ID, later[0].ID)
	}
	// Its resolved notification names the same alert.
	resolved := parseOK(t, []byte(strings.Replace(fire("2024-05-01T10:00:00Z"), `"firing"`, `"resolved"`, 1)), alert.Options{})
	if resolved[0].ID != one[0].ID || !resolved[0].Resolved || one[0].Resolved {
		t.Errorf("firing %q (resolved %v), resolved %q (resolved %v)", one[0].ID, one[0].Resolved, resolved[0].ID, resolved[0].Resolved)
	}
}

// TestAlertmanagerFingerprint checks that the fingerprint Ward computes for
// an Alertmanager that sends none is the one Alertmanager sends: the
// recorded resolved notification, with its fingerprint removed, keeps its ID.
func TestAlertmanagerFingerprint(t *testing.T) {
	body := readFile(t, "alertmanager-resolved.json")
	without := bytes.Replace(body, []byte(`"fingerprint": "fbab788ec4c1018b"`), []byte(`"fingerprint": ""`), 1)
	if bytes.Equal(without, body) {
		t.Fatal("fingerprint not found in the sample")
	}
	got := parseOK(t, without, alert.Options{})
	if want := "fbab788ec4c1018b@2022-07-29T11:13:27.3Z"; got[0].ID != want {
		t.Errorf("ID = %q, want %q", got[0].ID, want)
	}
}

// TestLines checks NDJSON as log shippers send it: blank lines, CRLF line
// ends, with and without a final newline, and a pretty-printed record in
// between.
func TestLines(t *testing.T) {
	eve := readFile(t, "suricata-eve.ndjson")
	lines := strings.Split(strings.TrimSpace(string(eve)), "\n")
	alertLine := lines[0]
	second := strings.Replace(alertLine, `"flow_id":1031464864740687`, `"flow_id":1031464864740688`, 1)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(second), "", "  "); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{
		"trailing newline": "\n\n" + alertLine + "\n\n" + lines[1] + "\n" + pretty.String() + "\n\n",
		"no final newline": "\n\n" + alertLine + "\n\n" + lines[1] + "\n" + pretty.String(),
		"CRLF":             "\r\n\r\n" + alertLine + "\r\n\r\n" + lines[1] + "\r\n" + strings.ReplaceAll(pretty.String(), "\n", "\r\n") + "\r\n",
		"byte order mark":  "\xef\xbb\xbf\n\n" + alertLine + "\n\n" + lines[1] + "\n" + pretty.String() + "\n",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			got := parseOK(t, []byte(body), alert.Options{})
			if len(got) != 2 {
				t.Fatalf("%d alerts, want 2", len(got))
			}
			if got[0].Line != 3 || got[1].Line != 6 {
				t.Errorf("lines %d and %d, want 3 and 6", got[0].Line, got[1].Line)
			}
			if got[0].ID == got[1].ID {
				t.Errorf("both alerts have ID %q", got[0].ID)
			}
		})
	}
}

// TestMixedEVE checks that only alert events count, that every record
// counts for positions, and that a stats line (which has no addresses) does
// not matter.
func TestMixedEVE(t *testing.T) {
	eve := string(readFile(t, "suricata-eve.ndjson"))
	stats := `{"timestamp":"2019-05-02T15:56:53.843674+0200","event_type":"stats","stats":{"uptime":3,"decoder":{"pkts":495056}}}` + "\n"
	body := stats + eve + strings.SplitN(eve, "\n", 2)[0] + "\n"
	got := parseOK(t, []byte(body), alert.Options{})
	if len(got) != 2 || got[0].Line != 2 || got[1].Line != 8 {
		t.Fatalf("got %d alerts:\n%s", len(got), dump(got))
	}
	if got[0].ID != got[1].ID {
		t.Errorf("the same alert line twice has IDs %q and %q", got[0].ID, got[1].ID)
	}
	// Fields of other events are not checked: a flow with an odd src_ip
	// is skipped like any other.
	odd := body + `{"event_type":"flow","src_ip":5,"flow":{"age":"x"}}` + "\n"
	if got := parseOK(t, []byte(odd), alert.Options{}); len(got) != 2 {
		t.Errorf("%d alerts", len(got))
	}
	bad := body + `{"timestamp":"2011-08-12T14:52:57.716360+0200","event_type":"alert","src_ip":"147.32.84.165","alert":{"severity":0}}` + "\n"
	_, err := alert.Parse([]byte(bad), alert.Options{})
	wantError(t, err, `alert 9 (line 9): field "alert.severity": "0" is not a Suricata severity`)
}

func TestSourceOption(t *testing.T) {
	for _, f := range []string{"generic.json", "alertmanager-firing.json", "suricata-eve.ndjson", "zeek-notice.ndjson"} {
		got := parseOK(t, readFile(t, f), alert.Options{Source: "ids-3west"})
		for _, a := range got {
			if a.Source != "ids-3west" {
				t.Errorf("%s: Source %q", f, a.Source)
			}
		}
	}
	// With the caller naming the source, the payload need not.
	got := parseOK(t, []byte(`{"id":"a-1","severity":"high","ip":"10.0.0.1"}`), alert.Options{Source: "siem"})
	if got[0].Source != "siem" {
		t.Errorf("Source %q", got[0].Source)
	}
}

func TestDefaultSeverity(t *testing.T) {
	zeek := parseOK(t, readFile(t, "zeek-notice.ndjson"), alert.Options{DefaultSeverity: alert.SeverityHigh})
	if zeek[0].Severity != alert.SeverityHigh {
		t.Errorf("zeek severity %q", zeek[0].Severity)
	}
	body := `{"version":"4","receiver":"r","alerts":[` +
		`{"status":"firing","labels":{"ip":"10.0.0.1"},"startsAt":"2024-05-01T10:00:00Z"},` +
		`{"status":"firing","labels":{"ip":"10.0.0.2","severity":"P1"},"startsAt":"2024-05-01T10:00:00Z"}]}`
	am := parseOK(t, []byte(body), alert.Options{DefaultSeverity: alert.SeverityLow})
	if am[0].Severity != alert.SeverityLow || am[1].Severity != alert.SeverityCritical {
		t.Errorf("severities %q, %q", am[0].Severity, am[1].Severity)
	}
	am = parseOK(t, []byte(body), alert.Options{})
	if am[0].Severity != alert.SeverityMedium {
		t.Errorf("without a default: %q", am[0].Severity)
	}
}

func TestParseSeverity(t *testing.T) {
	tests := map[string]alert.Severity{
		"info": "info", "Informational": "info", " notice ": "info", "debug": "info", "none": "info", "P5": "info",
		"low": "low", "MINOR": "low", "p4": "low",
		"medium": "medium", "Warning": "medium", "warn": "medium", "moderate": "medium", "p3": "medium",
		"high": "high", "error": "high", "Err": "high", "major": "high", "severe": "high", "P2": "high",
		"critical": "critical", "CRIT": "critical", "page": "critical", "emergency": "critical", "emerg": "critical", "fatal": "critical", "p1": "critical",
	}
	for in, want := range tests {
		got, err := alert.ParseSeverity(in)
		if err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1", "3", "urgent", "highest", "p0"} {
		if got, err := alert.ParseSeverity(in); err == nil {
			t.Errorf("ParseSeverity(%q) = %q, want an error", in, got)
		}
	}
	_, err := alert.ParseSeverity("urgent")
	if want := `"urgent" is not a severity; use info, low, medium, high or critical`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start %q", err, want)
	}
	all := alert.Severities()
	for i, s := range all {
		if s.Rank() != i+1 || !s.Valid() {
			t.Errorf("%q: rank %d", s, s.Rank())
		}
	}
	if alert.Severity("urgent").Valid() || alert.Severity("").Rank() != 0 {
		t.Error("invalid severities rank")
	}
}

// TestTimes checks the time forms each sensor writes.
func TestTimes(t *testing.T) {
	tests := []struct {
		name, body string
		want       time.Time
		wantID     string
	}{
		{"zeek epoch seconds", `{"ts":1599042052.123456,"uid":"C1","note":"N::x","src":"10.0.0.1"}`,
			at("2020-09-02T10:20:52.123456Z"), "C1:N::x:1599042052.123456"},
		{"zeek whole seconds", `{"ts":1599042052,"uid":"C1","note":"N::x","src":"10.0.0.1"}`,
			at("2020-09-02T10:20:52Z"), "C1:N::x:1599042052"},
		{"zeek nanoseconds kept exactly", `{"ts":1599042052.123456789,"uid":"C1","note":"N::x","src":"10.0.0.1"}`,
			at("2020-09-02T10:20:52.123456789Z"), "C1:N::x:1599042052.123456789"},
		{"zeek milliseconds", `{"ts":1599042052123,"uid":"C1","note":"N::x","src":"10.0.0.1"}`,
			at("2020-09-02T10:20:52.123Z"), "C1:N::x:1599042052123"},
		{"zeek exponent", `{"ts":1.599042052e9,"uid":"C1","note":"N::x","src":"10.0.0.1"}`,
			at("2020-09-02T10:20:52Z"), "C1:N::x:1.599042052e9"},
		{"zeek ISO 8601", `{"ts":"2020-09-02T10:20:52.123456Z","uid":"C1","note":"N::x","src":"10.0.0.1"}`,
			at("2020-09-02T10:20:52.123456Z"), "C1:N::x:2020-09-02T10:20:52.123456Z"},
		{"suricata offset without colon", `{"timestamp":"2020-09-02T12:20:52.123456+0200","flow_id":9,"event_type":"alert","src_ip":"10.0.0.1","alert":{"signature_id":5,"severity":1}}`,
			at("2020-09-02T10:20:52.123456Z"), "9:5:2020-09-02T12:20:52.123456+0200"},
		{"suricata flow_id in quotes", `{"timestamp":"2020-09-02T10:20:52Z","flow_id":"1676750115612680","event_type":"alert","src_ip":"10.0.0.1","alert":{"signature_id":5,"severity":1}}`,
			at("2020-09-02T10:20:52Z"), "1676750115612680:5:2020-09-02T10:20:52Z"},
		{"old suricata without offset", `{"timestamp":"2009-11-24T21:27:09.534255","flow_id":9,"event_type":"alert","src_ip":"10.0.0.1","alert":{"signature_id":5,"severity":1}}`,
			at("2009-11-24T21:27:09.534255Z"), "9:5:2009-11-24T21:27:09.534255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOK(t, []byte(tt.body), alert.Options{})
			if !got[0].Time.Equal(tt.want) || got[0].Time.Location() != time.UTC {
				t.Errorf("Time = %v, want %v", got[0].Time, tt.want)
			}
			if got[0].ID != tt.wantID {
				t.Errorf("ID = %q, want %q", got[0].ID, tt.wantID)
			}
		})
	}
}

// TestAddresses checks how candidate addresses are chosen and cleaned.
func TestAddresses(t *testing.T) {
	tests := []struct {
		name, body string
		want       []netip.Addr
	}{
		{"eve multicast destination dropped", `{"timestamp":"2024-05-01T10:00:00Z","event_type":"alert","src_ip":"10.61.210.12","dest_ip":"239.255.255.250","alert":{"severity":2}}`,
			addrs("10.61.210.12")},
		{"eve source repeated in src_ip", `{"timestamp":"2024-05-01T10:00:00Z","event_type":"alert","src_ip":"10.61.210.12","dest_ip":"10.0.0.1","alert":{"severity":2,"source":{"ip":"10.61.210.12"},"target":{"ip":"10.0.0.1"}}}`,
			addrs("10.61.210.12", "10.0.0.1")},
		{"eve IPv4-mapped", `{"timestamp":"2024-05-01T10:00:00Z","event_type":"alert","src_ip":"::ffff:10.61.210.12","alert":{"severity":2}}`,
			addrs("10.61.210.12")},
		{"eve IPv6", `{"timestamp":"2024-05-01T10:00:00Z","event_type":"alert","src_ip":"fe80:0000:0000:0000:fada:0cff:fedc:87f1","dest_ip":"ff02:0000:0000:0000:0000:0000:0001:0002","alert":{"severity":2}}`,
			addrs("fe80::fada:cff:fedc:87f1")},
		{"zeek src first", `{"ts":1,"note":"N::x","id.orig_h":"10.0.0.2","id.resp_h":"10.0.0.3","src":"10.0.0.1","dst":"10.0.0.3"}`,
			addrs("10.0.0.1", "10.0.0.2", "10.0.0.3")},
		{"alertmanager ip label before instance", `{"version":"4","alerts":[{"status":"firing","labels":{"ip":"10.0.0.1","instance":"10.0.0.9:9100"},"startsAt":"2024-05-01T10:00:00Z"}]}`,
			addrs("10.0.0.1")},
		{"alertmanager src_ip label", `{"version":"4","alerts":[{"status":"firing","labels":{"src_ip":"10.0.0.2","ip":""},"startsAt":"2024-05-01T10:00:00Z"}]}`,
			addrs("10.0.0.2")},
		{"alertmanager instance with port", `{"version":"4","alerts":[{"status":"firing","labels":{"instance":"10.61.210.12:9100"},"startsAt":"2024-05-01T10:00:00Z"}]}`,
			addrs("10.61.210.12")},
		{"alertmanager IPv6 instance", `{"version":"4","alerts":[{"status":"firing","labels":{"instance":"[2001:db8::12]:9100"},"startsAt":"2024-05-01T10:00:00Z"}]}`,
			addrs("2001:db8::12")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOK(t, []byte(tt.body), alert.Options{})
			if !reflect.DeepEqual(got[0].Addresses, tt.want) {
				t.Errorf("Addresses = %v, want %v", got[0].Addresses, tt.want)
			}
		})
	}
	// A MAC label is enough without an address.
	got := parseOK(t, []byte(`{"version":"4","alerts":[{"status":"firing","labels":{"mac":"00:1A:2B:3C:4D:01","instance":"pump:9100"},"startsAt":"2024-05-01T10:00:00Z"}]}`), alert.Options{})
	if got[0].MAC != "00:1a:2b:3c:4d:01" || got[0].Addresses != nil {
		t.Errorf("MAC %q, addresses %v", got[0].MAC, got[0].Addresses)
	}
}

func TestFormats(t *testing.T) {
	if got := alert.Formats(); !reflect.DeepEqual(got, []string{"generic", "alertmanager", "suricata", "zeek"}) {
		t.Errorf("Formats() = %v", got)
	}
}
