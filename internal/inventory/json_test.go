package inventory_test

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

func parseJSONFile(f *os.File) ([]inventory.Device, error) { return inventory.ParseJSON(f) }

func TestParseJSON(t *testing.T) {
	got := parseFile(t, "devices.json", parseJSONFile)
	want := []inventory.Device{
		{Name: "pump-3w-01", MAC: "00:1a:2b:3c:4d:01", IP: netip.MustParseAddr("10.61.210.11"), Class: "infusion_pump",
			Vendor: "BD", Model: "Alaris 8015", Firmware: "12.1.2", Criticality: "life_critical", Site: "main",
			Location: "3 West", Switch: "access-3w", Port: "Gi1/0/5", Labels: map[string]string{"asset_tag": "A-1001"}, Line: 1},
		{Name: "mri-1", IP: netip.MustParseAddr("2001:db8:61:230::11"), Criticality: "high", Line: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseJSONErrors(t *testing.T) {
	const ok = `{"name": "a", "ip": "10.0.0.1", "criticality": "low"}`
	tests := []struct {
		name  string
		input string
		want  []want
	}{
		{"empty file", "", []want{{0, "", "no devices in file"}}},
		{"empty array", "[]", []want{{0, "", "no devices in file"}}},
		{"not an array", `{"name": "a"}`, []want{{0, "", "want a JSON array of devices"}}},
		{"syntax error names the line", "[\n" + ok + ",\n{\"name\": \"b\",,}\n]", []want{{2, "", "line 3: invalid JSON"}}},
		{"truncated", "[" + ok + ", {", []want{{2, "", "ends in the middle"}}},
		{"data after the array", "[" + ok + "]\n[]", []want{{0, "", "line 2: unexpected data after the end"}}},
		{"not an object", "[" + ok + ", 42]", []want{{2, "", "is a number, not an object"}}},
		{"unknown fields, all of them", `[{"name": "a", "ip": "10.0.0.1", "criticality": "low", "hostname": "x", "Vendor": "BD"}]`,
			[]want{{1, "Vendor", `did you mean "vendor"?`}, {1, "hostname", "unknown field; want name, mac, ip"}}},
		{"NetBox export as JSON", `[{"name": "a", "ip": "10.0.0.1", "criticality": "low", "device_type": {}}]`,
			[]want{{1, "device_type", "import it as netbox"}}},
		{"wrong type", `[{"name": "a", "ip": "10.0.0.1", "criticality": "low", "port": 5}]`,
			[]want{{1, "port", "is a number; want a string"}}},
		{"wrong type is not also missing", `[{"name": "a", "ip": ["10.0.0.1"], "criticality": "low"}]`,
			[]want{{1, "ip", "is an array; want a string"}}},
		{"bad labels", `[{"name": "a", "ip": "10.0.0.1", "criticality": "low", "labels": ["x"]}]`,
			[]want{{1, "labels", "want an object of strings"}}},
		{"label value not a string", `[{"name": "a", "ip": "10.0.0.1", "criticality": "low", "labels": {"floor": 3}}]`,
			[]want{{1, "labels", "label values are strings"}}},
		{"bad label key", `[{"name": "a", "ip": "10.0.0.1", "criticality": "low", "labels": {"asset tag": "1", "mac": "x"}}]`,
			[]want{{1, "label key", "not a valid label key"}, {1, "label key", "mac is a device field"}}},
		{"validation", `[{"name": "a", "ip": "10.0.0.1/8", "criticality": "urgent", "mac": "0"}]`,
			[]want{{1, "mac", "not a MAC"}, {1, "ip", "is a prefix"}, {1, "criticality", "not a criticality"}}},
		{"duplicates name the record", "[" + ok + `, {"name": "A", "ip": "10.0.0.2", "criticality": "low"}]`,
			[]want{{2, "name", "duplicate: record 1 has the same name"}}},
		{"non-UTF-8", "[" + ok + ", {\"name\": \"b\xff\", \"ip\": \"10.0.0.2\", \"criticality\": \"low\"}]",
			[]want{{2, "", "not valid UTF-8"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			devices, err := inventory.ParseJSON(strings.NewReader(tt.input))
			if devices != nil {
				t.Errorf("got %d devices with an error", len(devices))
			}
			pe := checkProblems(t, err, tt.want...)
			for _, p := range pe.Problems {
				if p.Line > 0 && !p.Record {
					t.Errorf("%v: want Record set for JSON", p)
				}
			}
		})
	}
}

func TestParseJSONMessageSaysRecord(t *testing.T) {
	_, err := inventory.ParseJSON(strings.NewReader(`[{"name": "pump", "ip": "10.0.0.1", "criticality": "urgent"}]`))
	const want = `record 1 (pump): criticality "urgent": not a criticality; want one of life_critical, high, medium, low`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}
