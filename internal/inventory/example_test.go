package inventory_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/wardnet/ward/internal/inventory"
)

func ExampleParseCSV() {
	const file = `name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port,asset_tag
pump-3w-01,00-1A-2B-3C-4D-01,10.61.210.11,infusion_pump,BD,Alaris 8015,12.1.2,Life_Critical,main,3 West,access-3w,Gi1/0/5,A-1001
mon-icu-01,001a.2b3c.5e01,2001:db8:61:220::11,patient_monitor,Philips,IntelliVue MX800,M.00.03,high,main,ICU,access-icu,Gi1/0/1,
`
	devices, err := inventory.ParseCSV(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range devices {
		fmt.Println(d.Line, d.Name, d.MAC, d.IP, d.Criticality, d.Labels)
	}
	// Output:
	// 2 pump-3w-01 00:1a:2b:3c:4d:01 10.61.210.11 life_critical map[asset_tag:A-1001]
	// 3 mon-icu-01 00:1a:2b:3c:5e:01 2001:db8:61:220::11 high map[]
}

func ExampleParseCSV_errors() {
	const file = `name,mac,ip,criticality
pump-3w-01,00:1a:2b:3c:4d:01,10.61.210.11,life_critical
pump-3w-02,00:1a:2b:3c:4d:01,10.61.210.12,life-critical
pump-3w-03,00:1a:2b:3c:4d:03,10.61.210.13/24,high
`
	_, err := inventory.ParseCSV(strings.NewReader(file))
	fmt.Println(err)
	// Output:
	// 2 bad rows (3 problems):
	//   line 3 (pump-3w-02): criticality "life-critical": not a criticality; did you mean life_critical? (want one of life_critical, high, medium, low)
	//   line 3 (pump-3w-02): mac "00:1a:2b:3c:4d:01": duplicate: line 2 has the same MAC; each device needs its own
	//   line 4 (pump-3w-03): ip "10.61.210.13/24": is a prefix, not an address; write 10.61.210.13 without /24
}

func ExampleExportCSV() {
	// Cells are text to Ward: a formula is stored as written...
	devices, err := inventory.ParseCSV(strings.NewReader(`name,ip,criticality,vendor
"=HYPERLINK(""http://x"")",10.0.0.1,low,@vendor
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(devices[0].Name)
	// ...and exported with a leading ' so a spreadsheet shows it as text.
	if err := inventory.ExportCSV(os.Stdout, devices); err != nil {
		fmt.Println(err)
	}
	// Output:
	// =HYPERLINK("http://x")
	// name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port
	// "'=HYPERLINK(""http://x"")",,10.0.0.1,,'@vendor,,,low,,,,
}
