package inventory_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

// FuzzImportCSV feeds ParseCSV arbitrary bytes. It must never panic; every
// failure is a *ParseError with at most MaxProblems problems; every device
// it accepts passes Validate unchanged; and exporting the devices and
// parsing the export gives them back, with the formula escape ExportCSV adds
// (a leading ') applied to the expected values.
func FuzzImportCSV(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.csv")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		header,
		header + row(1),
		"name,ip,criticality,x\n=1+1,10.0.0.1,LOW,-2\n@a,::ffff:10.0.0.2,high,\n",
		"name,ip,criticality\n\"a\"\"b\",2001:db8::1,medium\n\"a\nb\",10.0.0.3,low\n",
		"\xef\xbb\xbfNAME , IP,Criticality\nx,10.0.0.1,life_critical\r\n",
		"name,ip,criticality\nx,10.0.0.1,low\nX,10.0.0.2,low\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		devices, err := inventory.ParseCSV(bytes.NewReader(data))
		if err != nil {
			var pe *inventory.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is a %T, want *ParseError", err, err)
			}
			if len(pe.Problems) == 0 || len(pe.Problems) > inventory.MaxProblems {
				t.Fatalf("%d problems", len(pe.Problems))
			}
			_ = pe.Error()
			if devices != nil {
				t.Fatal("devices returned with an error")
			}
			return
		}
		if len(devices) == 0 {
			t.Fatal("no devices and no error")
		}
		for _, d := range devices {
			again := d
			again.Labels = maps.Clone(d.Labels)
			if errs := inventory.Validate(&again); errs != nil {
				t.Fatalf("accepted device fails Validate: %v", errs)
			}
			if !reflect.DeepEqual(again, d) {
				t.Fatalf("Validate changed an accepted device:\n%+v\n%+v", d, again)
			}
		}

		var buf bytes.Buffer
		if err := inventory.ExportCSV(&buf, devices); err != nil {
			t.Fatal(err)
		}
		want := make([]inventory.Device, len(devices))
		escaped := false
		for i, d := range devices {
			e := d
			for _, p := range []*string{&e.Name, &e.Class, &e.Vendor, &e.Model, &e.Firmware, &e.Site, &e.Location, &e.Switch, &e.Port} {
				*p = inventory.EscapeCell(*p)
			}
			if d.Labels != nil {
				e.Labels = map[string]string{}
				for k, v := range d.Labels {
					e.Labels[k] = inventory.EscapeCell(v)
				}
			}
			e.Line = i + 2 // one device a line, after the header
			escaped = escaped || !reflect.DeepEqual(e.Labels, d.Labels) || e.Name != d.Name || e.Class != d.Class ||
				e.Vendor != d.Vendor || e.Model != d.Model || e.Firmware != d.Firmware || e.Site != d.Site ||
				e.Location != d.Location || e.Switch != d.Switch || e.Port != d.Port
			want[i] = e
		}
		got, err := inventory.ParseCSV(&buf)
		if err != nil {
			// The added quote can push a value over its length limit, or
			// make two names equal ("=a" and "'=a"); nothing else may fail.
			if !escaped {
				t.Fatalf("export does not parse: %v\n%s", err, buf.String())
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
	})
}

// FuzzParseJSON feeds both JSON parsers arbitrary bytes: they must never
// panic, fail only with a *ParseError, and accept only valid devices.
func FuzzParseJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"name": "a", "ip": "10.0.0.1", "criticality": "low", "labels": {"k": "v"}}]`))
	f.Add([]byte(`{"count": 1, "results": [{"id": 1, "name": "a", "primary_ip": {"address": "10.0.0.1/24"}, "custom_fields": {"criticality": "low"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func(*bytes.Reader) ([]inventory.Device, error){
			func(r *bytes.Reader) ([]inventory.Device, error) { return inventory.ParseJSON(r) },
			func(r *bytes.Reader) ([]inventory.Device, error) { return inventory.ParseNetBox(r) },
		} {
			devices, err := parse(bytes.NewReader(data))
			if err != nil {
				var pe *inventory.ParseError
				if !errors.As(err, &pe) || len(pe.Problems) == 0 || devices != nil {
					t.Fatalf("error %v (%T), %d devices", err, err, len(devices))
				}
				_ = pe.Error()
				continue
			}
			for _, d := range devices {
				again := d
				again.Labels = maps.Clone(d.Labels)
				if errs := inventory.Validate(&again); errs != nil || !reflect.DeepEqual(again, d) {
					t.Fatalf("accepted device %+v: Validate gives %v, %+v", d, errs, again)
				}
			}
		}
	})
}
