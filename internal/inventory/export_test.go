package inventory_test

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

func TestExportCSVRoundTrip(t *testing.T) {
	for _, file := range []string{"../../../examples/hospital/inventory.csv", "extra-columns.csv", "ipv6.csv", "mac-formats.csv"} {
		t.Run(file, func(t *testing.T) {
			devices := parseFile(t, file, parseCSVFile)
			var buf bytes.Buffer
			if err := inventory.ExportCSV(&buf, devices); err != nil {
				t.Fatal(err)
			}
			again, err := inventory.ParseCSV(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, devices) {
				t.Errorf("round trip changed the devices")
			}
		})
	}
}

func TestExportCSVExampleIsTheContract(t *testing.T) {
	in, err := os.ReadFile("../../examples/hospital/inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	devices, err := inventory.ParseCSV(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := inventory.ExportCSV(&out, devices); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(in) {
		t.Error("exporting the example inventory does not give back the file byte for byte")
	}
}

func TestExportCSVLabelColumns(t *testing.T) {
	devices := parseFile(t, "extra-columns.csv", parseCSVFile)
	var out strings.Builder
	if err := inventory.ExportCSV(&out, devices); err != nil {
		t.Fatal(err)
	}
	// Label columns follow the contract header, sorted.
	first, _, _ := strings.Cut(out.String(), "\n")
	if want := "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port,Owner.Dept,asset_tag"; first != want {
		t.Errorf("header %q, want %q", first, want)
	}
}

func TestEscapeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+1": "'+1", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"pump": "pump", "": "", "'=x": "'=x", "a=b": "a=b", "Gi1/0/5": "Gi1/0/5",
	} {
		if got := inventory.EscapeCell(in); got != want {
			t.Errorf("EscapeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
