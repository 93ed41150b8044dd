package juniperjunos

import (
	"os"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
)

// FuzzParse: Parse never panics on any text, and a model it accepts, if
// it renders, parses back to the same enforcement.
func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile("testdata/hospital.golden")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(golden))
	f.Add("")
	var r drivers.Registry
	Register(&r)
	info, _ := r.Lookup(driverName)
	d, err := info.Open(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) { drivertest.ParseRoundTrip(t, d, text) })
}
