package inventory_test

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

func TestValidateNormalises(t *testing.T) {
	d := inventory.Device{
		Name: "  pump-3w-01 ", MAC: "001A.2B3C.4D01", IP: netip.MustParseAddr("::ffff:10.61.210.11"),
		Vendor: " BD ", Criticality: "Life_Critical", Labels: map[string]string{"asset_tag": " A-1 ", "empty": " "},
	}
	if errs := inventory.Validate(&d); errs != nil {
		t.Fatalf("Validate: %v", errs)
	}
	want := inventory.Device{
		Name: "pump-3w-01", MAC: "00:1a:2b:3c:4d:01", IP: netip.MustParseAddr("10.61.210.11"),
		Vendor: "BD", Criticality: "life_critical", Labels: map[string]string{"asset_tag": "A-1"},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
	// Normalising twice changes nothing.
	again := d
	if errs := inventory.Validate(&again); errs != nil || !reflect.DeepEqual(again, want) {
		t.Errorf("second Validate: %v, %+v", errs, again)
	}
}

func TestValidateErrors(t *testing.T) {
	valid := func() inventory.Device {
		return inventory.Device{Name: "pump", IP: netip.MustParseAddr("10.0.0.1"), Criticality: "low", Line: 7}
	}
	tests := []struct {
		name   string
		change func(*inventory.Device)
		field  string
		reason string
	}{
		{"no IP", func(d *inventory.Device) { d.IP = netip.Addr{} }, "ip", "required"},
		{"IP with zone", func(d *inventory.Device) { d.IP = netip.MustParseAddr("fe80::1%eth0") }, "ip", "zone"},
		{"unspecified IP", func(d *inventory.Device) { d.IP = netip.IPv6Unspecified() }, "ip", "unspecified"},
		{"multicast IP", func(d *inventory.Device) { d.IP = netip.MustParseAddr("239.1.1.1") }, "ip", "multicast"},
		{"broadcast IP", func(d *inventory.Device) { d.IP = netip.MustParseAddr("255.255.255.255") }, "ip", "broadcast"},
		{"no name", func(d *inventory.Device) { d.Name = "" }, "name", "required"},
		{"tab in a field", func(d *inventory.Device) { d.Port = "Gi1/0/1\tx" }, "port", "control character U+0009"},
		{"label key", func(d *inventory.Device) { d.Labels = map[string]string{"a b": "x"} }, "label key", "not a valid label key"},
		{"label key is a field", func(d *inventory.Device) { d.Labels = map[string]string{"Site": "x"} }, "label key", "site is a device field"},
		{"label keys differ in case", func(d *inventory.Device) { d.Labels = map[string]string{"Tag": "x", "tag": "y"} }, "label key", "only in case"},
		{"label value", func(d *inventory.Device) { d.Labels = map[string]string{"k": strings.Repeat("v", 300)} }, "label k", "limit is 256"},
		{"criticality", func(d *inventory.Device) { d.Criticality = "life critical" }, "criticality", "did you mean life_critical?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.change(&d)
			errs := inventory.Validate(&d)
			if len(errs) != 1 || errs[0].Field != tt.field || !strings.Contains(errs[0].Reason, tt.reason) || errs[0].Line != 7 {
				t.Errorf("got %v, want one error on line 7 field %q containing %q", errs, tt.field, tt.reason)
			}
		})
	}
}

func TestNormalizeMACAndParseIP(t *testing.T) {
	for in, want := range map[string]string{
		"00:1A:2B:3C:4D:01": "00:1a:2b:3c:4d:01", "00-1a-2b-3c-4d-01": "00:1a:2b:3c:4d:01",
		"001a.2b3c.4d01": "00:1a:2b:3c:4d:01", "001A2B3C4D01": "00:1a:2b:3c:4d:01",
		"0:1a:2b:3c:4d:1": "", "00:1a:2b:3c:4d": "", "001a:2b3c:4d01": "", "00.1a.2b.3c.4d.01": "", "0x1a2b3c4d01": "",
		"00:00:00:00:00:00": "", "ff:ff:ff:ff:ff:ff": "",
	} {
		got, err := inventory.NormalizeMAC(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("NormalizeMAC(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"10.61.210.11": "10.61.210.11", " 2001:DB8::1 ": "2001:db8::1", "::ffff:10.0.0.1": "10.0.0.1",
		"10.0.0.1/24": "", "fe80::1%eth0": "", "010.0.0.1": "", "10.0.0": "", "": "", "::1": "", "0.0.0.0": "",
	} {
		got, err := inventory.ParseIP(in)
		if (err == nil) != (want != "") || (want != "" && got.String() != want) {
			t.Errorf("ParseIP(%q) = %v, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseErrorMessages(t *testing.T) {
	tests := []struct {
		err  inventory.ParseError
		want string
	}{
		{inventory.ParseError{File: "inv.csv", Problems: []inventory.RowError{{Reason: "no devices in file: it is empty"}}},
			"inv.csv: no devices in file: it is empty"},
		{inventory.ParseError{Problems: []inventory.RowError{{Line: 4, Field: "mac", Value: "zz", Reason: "not a MAC address"}}},
			`line 4: mac "zz": not a MAC address`},
		{inventory.ParseError{File: "inv.csv", Problems: []inventory.RowError{
			{Line: 4, Device: "pump", Field: "mac", Value: "zz", Reason: "bad"},
			{Line: 4, Device: "pump", Field: "ip", Reason: "required"},
			{Line: 9, Device: "bad\nname", Field: "name", Value: "bad\nname", Reason: "control"},
		}}, "inv.csv: 2 bad rows (3 problems):\n" +
			"  line 4 (pump): mac \"zz\": bad\n" +
			"  line 4 (pump): ip: required\n" +
			"  line 9 (\"bad\\nname\"): name \"bad\\nname\": control"},
		{inventory.ParseError{Problems: []inventory.RowError{{Line: 2, Record: true, Reason: "x"}, {Line: 3, Record: true, Reason: "y"}}, Truncated: true},
			"2 bad records, stopped reading after the first 2:\n  record 2: x\n  record 3: y\n  … and more; fix these and import again"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
		}
	}
}

func TestRowErrorValueShortened(t *testing.T) {
	_, err := inventory.ParseCSV(strings.NewReader("name,ip,criticality\n" + strings.Repeat("é", 200) + ",10.0.0.1,low\n"))
	pe := checkProblems(t, err, want{2, "name", "is 200 characters; the limit is 128"})
	if v := pe.Problems[0].Value; v != strings.Repeat("é", 64)+"…" {
		t.Errorf("value %q not shortened to 64 characters", v)
	}
}
