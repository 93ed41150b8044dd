package inventory_test

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

func parseNetBoxFile(f *os.File) ([]inventory.Device, error) { return inventory.ParseNetBox(f) }

var netboxWant = []inventory.Device{
	{Name: "pump-3w-01", MAC: "00:1a:2b:3c:4d:01", IP: netip.MustParseAddr("10.61.210.11"), Class: "infusion_pump",
		Vendor: "BD", Model: "Alaris 8015", Firmware: "12.1.2", Criticality: "life_critical", Site: "main",
		Location: "3 West", Switch: "access-3w", Port: "Gi1/0/5", Line: 1,
		Labels: map[string]string{"tag.fda-class-ii": "true", "tag.biomed-managed": "true", "netbox_id": "1"}},
	{Name: "mon-icu-01", MAC: "00:1a:2b:3c:5e:01", IP: netip.MustParseAddr("10.61.220.11"), Class: "patient_monitor",
		Vendor: "Philips", Model: "IntelliVue MX800", Firmware: "M.00.03", Criticality: "high", Site: "main",
		Location: "ICU", Switch: "access-icu", Port: "Gi1/0/1", Line: 2,
		Labels: map[string]string{"tag.biomed-managed": "true", "netbox_id": "2"}},
	{Name: "mri-1", IP: netip.MustParseAddr("2001:db8:61:230::11"), Class: "imaging_modality",
		Vendor: "Siemens Healthineers", Model: "MAGNETOM Vida", Firmware: "VA50A", Criticality: "high", Site: "main",
		Location: "Radiology", Switch: "access-rad", Port: "Ethernet5", Line: 3,
		Labels: map[string]string{"netbox_id": "3"}},
	{Name: "lab-chem-02", IP: netip.MustParseAddr("10.62.240.12"), Class: "lab_analyzer",
		Vendor: "Roche", Model: "cobas pro", Firmware: "3.2.1", Criticality: "medium", Site: "clinic",
		Location: "Lab rack 2", Line: 4, // no location: the rack's name
		Labels: map[string]string{"netbox_status": "planned", "netbox_id": "4"}},
}

func TestParseNetBox(t *testing.T) {
	t.Run("envelope", func(t *testing.T) {
		got := parseFile(t, "netbox-devices.json", parseNetBoxFile)
		if !reflect.DeepEqual(got, netboxWant) {
			t.Errorf("got\n%+v\nwant\n%+v", got, netboxWant)
		}
	})
	t.Run("bare array", func(t *testing.T) {
		got := parseFile(t, "netbox-array.json", parseNetBoxFile)
		if !reflect.DeepEqual(got, netboxWant[:2]) {
			t.Errorf("got\n%+v\nwant\n%+v", got, netboxWant[:2])
		}
	})
	t.Run("NetBox before 3.6, object custom fields", func(t *testing.T) {
		// device_role, not role; an old-style selection object; switch and
		// switch_port as object custom fields pointing at a dcim.device and
		// a dcim.interface.
		const old = `[{"id": 9, "name": "x", "device_role": {"slug": "nurse_call"}, "site": {"name": "Main"},
			"primary_ip4": {"address": "10.0.0.9/16"}, "status": {"value": "active"},
			"primary_mac_address": {"mac_address": "02:00:00:00:00:09"},
			"custom_fields": {"criticality": {"value": "LOW", "label": "Low"},
				"switch": {"id": 4, "url": "https://netbox/api/dcim/devices/4/", "name": "access-3w"},
				"switch_port": {"id": 17, "device": {"id": 4, "name": "access-3w"}, "name": "Gi1/0/9"}}}]`
		got, err := inventory.ParseNetBox(strings.NewReader(old))
		if err != nil {
			t.Fatal(err)
		}
		want := []inventory.Device{{Name: "x", MAC: "02:00:00:00:00:09", IP: netip.MustParseAddr("10.0.0.9"), Class: "nurse_call",
			Site: "Main", Criticality: "low", Switch: "access-3w", Port: "Gi1/0/9", Line: 1, Labels: map[string]string{"netbox_id": "9"}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got\n%+v\nwant\n%+v", got, want)
		}
	})
}

func TestParseNetBoxErrors(t *testing.T) {
	f, err := os.Open("testdata/netbox-bad.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = inventory.ParseNetBox(f)
	pe := checkProblems(t, err,
		want{2, "primary_ip", "no primary IP in NetBox"},
		want{3, "custom_fields.criticality", "required: set the criticality custom field in NetBox"},
	)
	if !strings.Contains(pe.Error(), "record 2 (mon-icu-01): primary_ip:") {
		t.Errorf("message does not name the device:\n%v", pe)
	}

	tests := []struct {
		name  string
		input string
		want  []want
	}{
		{"one page of many", "", []want{{0, "count", "one page of a paginated export"}}},
		{"no results", `{"count": 0, "next": null}`, []want{{0, "", `no "results" array`}}},
		{"empty results", `{"count": 0, "results": []}`, []want{{0, "", "no devices in file"}}},
		{"not a device list", `"hello"`, []want{{0, "", "want the JSON of GET /api/dcim/devices/"}}},
		{"no name", `[{"id": 7, "name": null, "primary_ip": {"address": "10.0.0.1/24"}, "custom_fields": {"criticality": "low"}}]`,
			[]want{{1, "name", "has no name in NetBox"}}},
		{"bad values name NetBox's fields", `[{"id": 7, "name": "x", "primary_ip": {"address": "10.0.0.1/24"},
			"custom_fields": {"criticality": "urgent", "mac_address": "nope", "switch_port": {"id": 1}, "switch": ["x"]}}]`,
			[]want{{1, "custom_fields.switch", "is an array; want a text or selection custom field"},
				{1, "custom_fields.switch_port", "is an object; want a text or selection custom field"},
				{1, "custom_fields.mac_address", "not a MAC"}, {1, "custom_fields.criticality", "not a criticality"}}},
		{"duplicate IP", `[{"id": 1, "name": "a", "primary_ip": {"address": "10.0.0.1/24"}, "custom_fields": {"criticality": "low"}},
			{"id": 2, "name": "b", "primary_ip": {"address": "10.0.0.1/32"}, "custom_fields": {"criticality": "low"}}]`,
			[]want{{2, "primary_ip.address", "duplicate: record 1"}}},
		{"wrong type", `[{"id": "seven", "name": "a"}]`, []want{{1, "id", "is a JSON string, which NetBox does not write here"}}},
		{"not an object", `[[]]`, []want{{1, "", "is an array, not a NetBox device object"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := tt.input
			if input == "" {
				b, err := os.ReadFile("testdata/netbox-one-page.json")
				if err != nil {
					t.Fatal(err)
				}
				input = string(b)
			}
			devices, err := inventory.ParseNetBox(strings.NewReader(input))
			if devices != nil {
				t.Errorf("got %d devices with an error", len(devices))
			}
			checkProblems(t, err, tt.want...)
		})
	}
}
