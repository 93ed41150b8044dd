package alert_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/wardnet/ward/internal/quarantine/alert"
)

// BenchmarkParse measures intake parsing per body: one generic alert, one
// EVE alert line (the common case, one alert per request), and a 1,000-line
// eve.json batch with alerts among flow events. alerts/s is what one core
// parses; Ward needs 2,000 alerts/s end to end.
func BenchmarkParse(b *testing.B) {
	eveLine := `{"timestamp":"2017-04-07T22:24:37.251547+0100","flow_id":586497171462735,"pcap_cnt":53381,"event_type":"alert","src_ip":"192.168.2.14","src_port":50096,"dest_ip":"209.53.113.5","dest_port":80,"proto":"TCP","metadata":{"flowbits":["http.dottedquadhost"]},"tx_id":4,"alert":{"action":"allowed","gid":1,"signature_id":2018358,"rev":10,"signature":"ET HUNTING GENERIC SUSPICIOUS POST to Dotted Quad with Fake Browser 1","category":"Potentially Bad Traffic","severity":2},"app_proto":"http"}` + "\n"
	flowLine := `{"timestamp":"2011-08-14T07:38:53.914038+0200","flow_id":929669869939483,"event_type":"flow","src_ip":"147.32.84.165","src_port":138,"dest_ip":"147.32.84.255","dest_port":138,"proto":"UDP","app_proto":"failed","flow":{"pkts_toserver":2,"pkts_toclient":0,"bytes_toserver":486,"bytes_toclient":0,"start":"2011-08-12T14:53:47.928539+0200","end":"2011-08-12T14:53:47.928552+0200","age":0,"state":"new","reason":"timeout","alerted":false}}` + "\n"
	var batch bytes.Buffer
	alertsInBatch := 0
	for i := range 1000 {
		if i%4 == 0 {
			batch.WriteString(eveLine)
			alertsInBatch++
		} else {
			batch.WriteString(flowLine)
		}
	}
	cases := []struct {
		name   string
		body   []byte
		alerts int
	}{
		{"generic", []byte(`{"source":"suricata","severity":"high","ip":"10.61.210.12","mac":null,"signature":"ET SCAN Possible Nmap User-Agent Observed","id":"sensor-3w:2024364:1714558830"}`), 1},
		{"eve-alert-line", []byte(eveLine), 1},
		{fmt.Sprintf("eve-batch-%d-alerts-in-1000-lines", alertsInBatch), batch.Bytes(), alertsInBatch},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				alerts, err := alert.Parse(c.body, alert.Options{})
				if err != nil || len(alerts) != c.alerts {
					b.Fatal(len(alerts), err)
				}
				n += len(alerts)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
