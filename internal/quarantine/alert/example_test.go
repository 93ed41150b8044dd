package alert_test

import (
	"errors"
	"fmt"

	"github.com/wardnet/ward/internal/quarantine/alert"
)

// A generic alert, as in DESIGN.md, sent by a SIEM.
func Example() {
	body := []byte(`{"source":"suricata","severity":"high","ip":"10.61.210.12","mac":null,` +
		`"signature":"ET SCAN Possible Nmap User-Agent Observed","id":"sensor-3w:2024364:1714558830"}`)
	alerts, err := alert.Parse(body, alert.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range alerts {
		fmt.Println(a.Format, a.Source, a.ID)
		fmt.Println(a.Severity, a.Severity.Rank(), a.Addresses)
		fmt.Println(a.Signature)
	}
	// Output:
	// generic suricata sensor-3w:2024364:1714558830
	// high 4 [10.61.210.12]
	// ET SCAN Possible Nmap User-Agent Observed
}

// Lines of Suricata's eve.json: only the alert event becomes an alert, and
// its ID is built from flow_id, signature_id and timestamp.
func ExampleParse_suricata() {
	body := []byte(`{"timestamp":"2024-05-01T10:20:30.123456+0200","flow_id":1676750115612680,"event_type":"alert","src_ip":"10.61.210.12","src_port":49175,"dest_ip":"142.11.240.191","dest_port":80,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2045001,"rev":1,"signature":"ET ATTACK_RESPONSE Win32/LeftHook Stealer Browser Extension Config Inbound","category":"A Network Trojan was detected","severity":1}}
{"timestamp":"2024-05-01T10:20:31.000000+0200","flow_id":1676750115612680,"event_type":"flow","src_ip":"10.61.210.12","dest_ip":"142.11.240.191"}
`)
	alerts, err := alert.Parse(body, alert.Options{Source: "ids-3west"})
	if err != nil {
		fmt.Println(err)
		return
	}
	a := alerts[0]
	fmt.Println(len(alerts), a.Format, a.Source, a.Severity)
	fmt.Println(a.ID)
	fmt.Println(a.Addresses, a.Time)
	fmt.Println(a.Signature)
	// Output:
	// 1 suricata ids-3west high
	// 1676750115612680:2045001:2024-05-01T10:20:30.123456+0200
	// [10.61.210.12 142.11.240.191] 2024-05-01 08:20:30.123456 +0000 UTC
	// [1:2045001:1] ET ATTACK_RESPONSE Win32/LeftHook Stealer Browser Extension Config Inbound
}

// A refused body: every problem names the alert, its line and the field.
func ExampleParseError() {
	body := []byte(`{"source":"siem","id":"a-1","severity":"urgent","ip":"10.61.210.12"}
{"source":"siem","id":"a-2","severity":"high","ip":"10.61.210"}
`)
	_, err := alert.Parse(body, alert.Options{})
	fmt.Println(err)
	var pe *alert.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Problems[1].Alert, pe.Problems[1].Line, pe.Problems[1].Field)
	}
	// Output:
	// 2 problems:
	//   alert 1 (line 1): field "severity": "urgent" is not a severity; use info, low, medium, high or critical (synonyms such as warning, error, major or P1 are accepted, see docs/alerts.md)
	//   alert 2 (line 2): field "ip": "10.61.210" is not an IP address (want IPv4 like 10.61.210.12 or IPv6 like 2001:db8::12)
	// 2 2 ip
}
