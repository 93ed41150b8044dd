package inventory_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

// BenchmarkParseCSV100k parses a 100,000-device inventory held in memory.
func BenchmarkParseCSV100k(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(header)
	for i := range 100_000 {
		fmt.Fprintf(&buf, "infusion-pump-%06d,02:00:00:%02x:%02x:%02x,10.%d.%d.%d,infusion_pump,BD,Alaris 8015,12.1.2,life_critical,main,3 West,access-3w-%02d,Gi1/0/%d\n",
			i, i>>16&0xff, i>>8&0xff, i&0xff, i>>16&0xff, i>>8&0xff, i&0xff, i%50, i%48+1)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		devices, err := inventory.ParseCSV(bytes.NewReader(data))
		if err != nil || len(devices) != 100_000 {
			b.Fatal(len(devices), err)
		}
	}
}
