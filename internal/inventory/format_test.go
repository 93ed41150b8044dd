package inventory_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]inventory.Format{"csv": inventory.FormatCSV, "JSON": inventory.FormatJSON, " netbox ": inventory.FormatNetBox} {
		if got, err := inventory.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := inventory.ParseFormat("xlsx"); err == nil || !strings.Contains(err.Error(), "want csv, json or netbox") {
		t.Errorf("ParseFormat(xlsx) error %v", err)
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name string
		head string // testdata file when it starts with @
		want inventory.Format
	}{
		{"inventory.csv", "@extra-columns.csv", inventory.FormatCSV},
		{"INVENTORY.CSV", "name,ip\n", inventory.FormatCSV},
		{"devices.json", "@devices.json", inventory.FormatJSON},
		{"export.json", "@netbox-devices.json", inventory.FormatNetBox},
		{"export.json", "@netbox-array.json", inventory.FormatNetBox},
		{"export.json", "\xef\xbb\xbf[{\"id\": 1, \"device_type\": {\"id\":", inventory.FormatNetBox}, // cut short
		{"export.json", `{"count": 3, "next": null, "results": [`, inventory.FormatNetBox},
		{"devices.json", `[{"name": "x", "labels": {"role": "a", "device_type": "b"}}]`, inventory.FormatJSON},
		{"devices.json", `[{"name": "x", "role": `, inventory.FormatNetBox},
		{"devices.json", "", inventory.FormatJSON},
		{"stdin", `  [{"name": "x"}]`, inventory.FormatJSON},
		{"stdin", "name,ip,criticality\n", inventory.FormatCSV},
	}
	for _, tt := range tests {
		head := []byte(tt.head)
		if file, ok := strings.CutPrefix(tt.head, "@"); ok {
			var err error
			if head, err = os.ReadFile(filepath.Join("testdata", file)); err != nil {
				t.Fatal(err)
			}
			head = head[:min(len(head), 4096)]
		}
		if got := inventory.DetectFormat(tt.name, head); got != tt.want {
			t.Errorf("DetectFormat(%q, %.40q) = %q, want %q", tt.name, head, got, tt.want)
		}
	}
}

func TestParseDispatches(t *testing.T) {
	for _, tt := range []struct {
		file   string
		format inventory.Format
		n      int
	}{
		{"extra-columns.csv", inventory.FormatCSV, 2},
		{"devices.json", inventory.FormatJSON, 2},
		{"netbox-devices.json", inventory.FormatNetBox, 4},
	} {
		f, err := os.Open(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		devices, err := inventory.Parse(f, tt.format)
		f.Close()
		if err != nil || len(devices) != tt.n {
			t.Errorf("Parse(%s, %s) = %d devices, %v; want %d", tt.file, tt.format, len(devices), err, tt.n)
		}
	}
	if _, err := inventory.Parse(strings.NewReader(""), "xlsx"); err == nil {
		t.Error("Parse with an unknown format: no error")
	}
}
