package inventory_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/inventory"
)

// want is one expected problem: where it is and a piece of its reason.
type want struct {
	line   int
	field  string
	reason string
}

// checkProblems asserts err is a *ParseError holding exactly the wanted
// problems, in order.
func checkProblems(t *testing.T, err error, wants ...want) *inventory.ParseError {
	t.Helper()
	var pe *inventory.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want a *ParseError", err, err)
	}
	if len(pe.Problems) != len(wants) {
		t.Fatalf("%d problems, want %d:\n%v", len(pe.Problems), len(wants), err)
	}
	for i, w := range wants {
		p := pe.Problems[i]
		if p.Line != w.line || p.Field != w.field || !strings.Contains(p.Reason, w.reason) {
			t.Errorf("problem %d = line %d field %q reason %q\nwant line %d field %q reason containing %q",
				i, p.Line, p.Field, p.Reason, w.line, w.field, w.reason)
		}
	}
	return pe
}

func parseFile(t *testing.T, name string, parse func(*os.File) ([]inventory.Device, error)) []inventory.Device {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devices, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return devices
}

func parseCSVFile(f *os.File) ([]inventory.Device, error) { return inventory.ParseCSV(f) }

func TestParseCSVExampleInventory(t *testing.T) {
	devices := parseFile(t, "../../../examples/hospital/inventory.csv", parseCSVFile)
	if len(devices) != 432 {
		t.Fatalf("%d devices, want 432", len(devices))
	}
	want := inventory.Device{
		Name: "pump-3w-01", MAC: "00:1a:2b:3c:4d:01", IP: netip.MustParseAddr("10.61.210.11"),
		Class: "infusion_pump", Vendor: "BD", Model: "Alaris 8015", Firmware: "12.1.2",
		Criticality: "life_critical", Site: "main", Location: "3 West", Switch: "access-3w", Port: "Gi1/0/5",
		Line: 2,
	}
	if !reflect.DeepEqual(devices[0], want) {
		t.Errorf("first device\n got %+v\nwant %+v", devices[0], want)
	}
	if last := devices[431]; last.Line != 433 {
		t.Errorf("last device is on line %d, want 433", last.Line)
	}
}

func TestParseCSVValid(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		file string
		want []inventory.Device
	}{
		{"extra-columns.csv", []inventory.Device{
			{Name: "pump-3w-01", MAC: "00:1a:2b:3c:4d:01", IP: ip("10.61.210.11"), Class: "infusion_pump", Vendor: "BD",
				Model: "Alaris 8015", Firmware: "12.1.2", Criticality: "life_critical", Site: "main", Location: "3 West",
				Switch: "access-3w", Port: "Gi1/0/5", Labels: map[string]string{"asset_tag": "A-1001", "Owner.Dept": "biomed"}, Line: 2},
			// empty label cells mean "no label"
			{Name: "mon-icu-01", MAC: "00:1a:2b:3c:5e:01", IP: ip("10.61.220.11"), Class: "patient_monitor", Vendor: "Philips",
				Model: "IntelliVue MX800", Firmware: "M.00.03", Criticality: "high", Site: "main", Location: "ICU",
				Switch: "access-icu", Port: "Gi1/0/1", Line: 3},
		}},
		{"reordered.csv", []inventory.Device{ // header in any order and case, spaces trimmed
			{Name: "pump-3w-01", IP: ip("10.61.210.11"), Criticality: "life_critical", Switch: "access-3w", Port: "Gi1/0/5", Line: 2},
			{Name: "guest-kiosk-07", IP: ip("10.61.250.7"), Criticality: "low", Line: 3},
		}},
		{"crlf.csv", []inventory.Device{
			{Name: "pump-3w-01", MAC: "00:1a:2b:3c:4d:01", IP: ip("10.61.210.11"), Criticality: "life_critical", Line: 2},
			{Name: "mon, icu 01", MAC: "00:1a:2b:3c:5e:01", IP: ip("10.61.220.11"), Criticality: "high", Line: 3},
		}},
		{"bom.csv", []inventory.Device{
			{Name: "pump-3w-01", IP: ip("10.61.210.11"), Criticality: "life_critical", Line: 2},
		}},
		{"mac-formats.csv", []inventory.Device{
			{Name: "colon-upper", MAC: "00:1a:2b:3c:4d:01", IP: ip("10.0.0.1"), Criticality: "low", Line: 2},
			{Name: "hyphen", MAC: "00:1a:2b:3c:4d:02", IP: ip("10.0.0.2"), Criticality: "low", Line: 3},
			{Name: "cisco", MAC: "00:1a:2b:3c:4d:03", IP: ip("10.0.0.3"), Criticality: "low", Line: 4},
			{Name: "bare", MAC: "00:1a:2b:3c:4d:04", IP: ip("10.0.0.4"), Criticality: "low", Line: 5},
			{Name: "none", IP: ip("10.0.0.5"), Criticality: "low", Line: 6},
		}},
		{"ipv6.csv", []inventory.Device{
			{Name: "mri-1", IP: ip("2001:db8:61:230::11"), Criticality: "high", Line: 2},
			{Name: "mri-2", IP: ip("2001:db8:61:230::12"), Criticality: "high", Line: 3},
			{Name: "mapped", IP: ip("10.61.230.13"), Criticality: "high", Line: 4}, // IPv4-mapped is unmapped
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := parseFile(t, tt.file, parseCSVFile)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseCSVBlankRowsSkipped(t *testing.T) {
	devices, err := inventory.ParseCSV(strings.NewReader("name,ip,criticality\n\na,10.0.0.1,low\n , ,\n,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 1 || devices[0].Line != 3 {
		t.Errorf("got %+v, want one device on line 3", devices)
	}
}

const header = "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port\n"

// row is a valid contract row for device n, with overrides by column.
func row(n int, set ...string) string {
	cells := map[string]string{
		"name": fmt.Sprintf("dev-%d", n), "mac": fmt.Sprintf("02:00:00:00:%02x:%02x", n>>8&0xff, n&0xff),
		"ip": fmt.Sprintf("10.61.%d.%d", n>>8&0xff, n&0xff), "class": "infusion_pump", "vendor": "BD", "model": "Alaris 8015",
		"firmware": "12.1.2", "criticality": "high", "site": "main", "location": "3 West", "switch": "access-3w", "port": "Gi1/0/5",
	}
	for i := 0; i+1 < len(set); i += 2 {
		cells[set[i]] = set[i+1]
	}
	out := make([]string, 0, 12)
	for _, c := range strings.Split(strings.TrimSpace(header), ",") {
		out = append(out, cells[c])
	}
	return strings.Join(out, ",") + "\n"
}

func TestParseCSVErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []want
	}{
		{"wrong header", "hostname,address\npump,10.0.0.1\n",
			[]want{{1, "", "wrong header"}}},
		{"wrong header names the contract", "a,b\n",
			[]want{{1, "", "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port"}}},
		{"semicolon separated", "name;ip;criticality\npump;10.0.0.1;low\n",
			[]want{{1, "", "semicolon-separated"}}},
		{"missing required column", "name,ip\npump,10.0.0.1\n",
			[]want{{1, "criticality", "missing required column"}}},
		{"duplicate column", "name,ip,criticality,IP\npump,10.0.0.1,low,10.0.0.2\n",
			[]want{{1, "column 4", "duplicate column: column 2"}}},
		{"bad label column", "name,ip,criticality,asset tag\npump,10.0.0.1,low,A1\n",
			[]want{{1, "column 4", "not a valid label key"}}},
		{"unnamed column", "name,ip,criticality,\npump,10.0.0.1,low,\n",
			[]want{{1, "column 4", "has no name"}}},
		{"empty file", "", []want{{0, "", "no devices in file"}}},
		{"header only", header, []want{{0, "", "no devices in file"}}},
		{"bad MAC", header + row(1) + row(2, "mac", "zz:1a:2b:3c:4d:01"),
			[]want{{3, "mac", "not a MAC address (want 6 bytes like 00:1a:2b:3c:4d:01"}}},
		{"MAC with 8 bytes", header + row(1, "mac", "00:1a:2b:3c:4d:01:02:03"), []want{{2, "mac", "not a MAC"}}},
		{"MAC with mixed separators", header + row(1, "mac", "00:1a-2b:3c:4d:01"), []want{{2, "mac", "not a MAC"}}},
		{"all-zero MAC", header + row(1, "mac", "00:00:00:00:00:00"), []want{{2, "mac", "all-zero"}}},
		{"broadcast MAC", header + row(1, "mac", "FF-FF-FF-FF-FF-FF"), []want{{2, "mac", "broadcast"}}},
		{"bad IP", header + row(1, "ip", "10.61.210.300"), []want{{2, "ip", "not an IP address"}}},
		{"missing IP", header + row(1, "ip", ""), []want{{2, "ip", "required"}}},
		{"IP with prefix length", header + row(1, "ip", "10.61.210.11/24"), []want{{2, "ip", "write 10.61.210.11 without /24"}}},
		{"IP with zone", header + row(1, "ip", "fe80::1%eth0"), []want{{2, "ip", "zone"}}},
		{"loopback IP", header + row(1, "ip", "127.0.0.1"), []want{{2, "ip", "loopback"}}},
		{"unknown criticality", header + row(1, "criticality", "urgent"),
			[]want{{2, "criticality", "want one of life_critical, high, medium, low"}}},
		{"criticality with a hyphen", header + row(1, "criticality", "Life-Critical"),
			[]want{{2, "criticality", "did you mean life_critical?"}}},
		{"missing criticality", header + row(1, "criticality", ""), []want{{2, "criticality", "required"}}},
		{"missing name", header + row(1, "name", " "), []want{{2, "name", "required"}}},
		{"name too long", header + row(1, "name", strings.Repeat("n", 129)), []want{{2, "name", "limit is 128"}}},
		{"control character", header + row(1, "name", "\"pump\x07\""), []want{{2, "name", "control character U+0007"}}},
		{"newline in a quoted cell", header + row(1, "location", "\"3\nWest\""), []want{{2, "location", "control character U+000A"}}},
		{"field too long", header + row(1, "model", strings.Repeat("m", 257)), []want{{2, "model", "limit is 256"}}},
		{"field over the cap", header + row(1, "location", strings.Repeat("x", 5000)), []want{{2, "location", "over the 4 KiB limit"}}},
		{"non-UTF-8", header + row(1) + row(2, "location", "Station \xe9st"),
			[]want{{3, "location", "not valid UTF-8"}}},
		{"non-UTF-8 header", "name,ip,criticality,b\xe2timent\npump,10.0.0.1,low,A\n",
			[]want{{1, "column 4", "not valid UTF-8"}}},
		{"UTF-16", "\xff\xfen\x00a\x00", []want{{0, "", "UTF-16"}}},
		{"wrong field count", header + row(1) + "dev-2,,10.0.0.2,high\n" + row(3),
			[]want{{3, "", "has 4 cells but the header has 12 columns"}}},
		{"bare quote", header + row(1) + "dev-2,,10.0.0.2,monitor 12\" screen,,,,high,,,,\n" + row(3),
			[]want{{3, "", `a " inside an unquoted cell`}}},
		{"line too long", header + strings.Repeat("x", 2<<20) + "\n",
			[]want{{2, "", "over 1 MiB long"}}},
		{"duplicate MAC", header + row(1, "mac", "00:1a:2b:3c:4d:01") + row(2) + row(3, "mac", "001A.2B3C.4D01"),
			[]want{{4, "mac", "duplicate: line 2 has the same MAC"}}},
		{"duplicate name", header + row(1, "name", "Pump-1") + row(2, "name", "pump-1"),
			[]want{{3, "name", "duplicate: line 2 has the same name"}}},
		{"duplicate IP", header + row(1, "ip", "10.0.0.1") + row(2, "ip", "::ffff:10.0.0.1"),
			[]want{{3, "ip", "duplicate: line 2 has the same IP address"}}},
		{"every problem in a row", header + row(1, "mac", "x", "ip", "y", "criticality", "z"),
			[]want{{2, "mac", "not a MAC"}, {2, "ip", "not an IP"}, {2, "criticality", "not a criticality"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			devices, err := inventory.ParseCSV(strings.NewReader(tt.input))
			if devices != nil {
				t.Errorf("got %d devices with an error; imports are all-or-nothing", len(devices))
			}
			checkProblems(t, err, tt.want...)
		})
	}
}

func TestParseCSVReportsEveryBadRow(t *testing.T) {
	f, err := os.Open("testdata/three-bad-rows.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = inventory.ParseCSV(f)
	pe := checkProblems(t, err,
		want{3, "mac", "not a MAC"},
		want{5, "ip", "not an IP"},
		want{7, "criticality", "did you mean life_critical?"},
	)
	pe.File = "three-bad-rows.csv"
	const wantMsg = `three-bad-rows.csv: 3 bad rows:
  line 3 (pump-3w-02): mac "zz:1a:2b:3c:4d:02": not a MAC address (want 6 bytes like 00:1a:2b:3c:4d:01, 00-1a-2b-3c-4d-01, 001a.2b3c.4d01 or 001a2b3c4d01)
  line 5 (pump-3w-04): ip "10.61.210.300": not an IP address (want IPv4 like 10.61.210.11 or IPv6 like 2001:db8::11)
  line 7 (pump-3w-06): criticality "life-critical": not a criticality; did you mean life_critical? (want one of life_critical, high, medium, low)`
	if got := pe.Error(); got != wantMsg {
		t.Errorf("message:\n%s\nwant:\n%s", got, wantMsg)
	}
}

func TestParseCSVStopsAfterMaxProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 3000 {
		b.WriteString(row(i, "mac", "bad"))
	}
	_, err := inventory.ParseCSV(strings.NewReader(b.String()))
	var pe *inventory.ParseError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if len(pe.Problems) != inventory.MaxProblems || !pe.Truncated {
		t.Errorf("%d problems, truncated %v; want %d, truncated", len(pe.Problems), pe.Truncated, inventory.MaxProblems)
	}
	msg := err.Error()
	if !strings.HasSuffix(msg, "… and more; fix these and import again") || len(msg) > 300*inventory.MaxProblems {
		t.Errorf("message of %d bytes ends %q", len(msg), msg[len(msg)-80:])
	}
}

func TestParseCSVTooManyDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a million rows")
	}
	var b strings.Builder
	b.WriteString("name,ip,criticality\n")
	for i := range inventory.MaxDevices + 1 {
		fmt.Fprintf(&b, "d%d,10.%d.%d.%d,low\n", i, i>>16&0xff, i>>8&0xff, i&0xff)
	}
	_, err := inventory.ParseCSV(strings.NewReader(b.String()))
	checkProblems(t, err, want{inventory.MaxDevices + 2, "", "more than 1000000 devices"})
}

// TestParseCSVLargeFile parses a generated 50 MB file with one bad row near
// its end, and expects exactly that row reported.
func TestParseCSVLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 50 MB file")
	}
	path := filepath.Join(t.TempDir(), "large.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(header)
	const rows, bad = 400_000, 399_990
	for i := range rows {
		mac := fmt.Sprintf("02:00:00:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff)
		if i == bad {
			mac = "02:00:00:zz:00:00"
		}
		fmt.Fprintf(w, "infusion-pump-ward-%07d,%s,10.%d.%d.%d,infusion_pump,Becton Dickinson,Alaris 8015 PC Unit,12.1.2,life_critical,main-campus,Building A / Floor 3 West,access-3w-%03d,GigabitEthernet1/0/%d\n",
			i, mac, i>>16&0xff, i>>8&0xff, i&0xff, i%200, i%48+1)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := f.Stat(); fi.Size() < 50<<20 {
		t.Fatalf("generated %d bytes, want at least 50 MB", fi.Size())
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = inventory.ParseCSV(f)
	checkProblems(t, err, want{bad + 2, "mac", "not a MAC"})
}

func TestFormulaInjectionRoundTrip(t *testing.T) {
	const in = "name,ip,vendor,model,firmware,criticality,location\n" +
		`"=cmd|' /C calc'!A0",10.0.0.1,+1,-2,@SUM(1+1),low,"=HYPERLINK(""http://x"")"` + "\n"
	devices, err := inventory.ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	d := devices[0]
	// Stored verbatim: to Ward a formula is just text.
	if d.Name != `=cmd|' /C calc'!A0` || d.Vendor != "+1" || d.Model != "-2" || d.Firmware != "@SUM(1+1)" || d.Location != `=HYPERLINK("http://x")` {
		t.Fatalf("not stored verbatim: %+v", d)
	}

	var out strings.Builder
	if err := inventory.ExportCSV(&out, devices); err != nil {
		t.Fatal(err)
	}
	const wantCSV = header + `'=cmd|' /C calc'!A0,,10.0.0.1,,'+1,'-2,'@SUM(1+1),low,,"'=HYPERLINK(""http://x"")",,` + "\n"
	if out.String() != wantCSV {
		t.Errorf("export:\n%s\nwant:\n%s", out.String(), wantCSV)
	}

	// Importing the export keeps the escape: the quote is now part of the text.
	again, err := inventory.ParseCSV(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got := again[0]; got.Name != `'=cmd|' /C calc'!A0` || got.Vendor != "'+1" || got.Firmware != "'@SUM(1+1)" {
		t.Errorf("re-imported %+v", got)
	}
}
