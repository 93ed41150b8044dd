package policy_test

import (
	"encoding/csv"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/policy"
)

// TestExampleInventoryMatchesPolicy keeps the example inventory consistent
// with the example policy and the inventory contract in DESIGN.md, so the
// two can be imported and planned together.
func TestExampleInventoryMatchesPolicy(t *testing.T) {
	cfg, diags := policy.NewParser(policy.WithDrivers(allDrivers)).LoadDir(exampleDir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	f, err := os.Open("../examples/hospital/inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	const header = "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port"
	if got := strings.Join(rows[0], ","); got != header {
		t.Fatalf("header %q, want %q", got, header)
	}
	devices := rows[1:]
	if len(devices) < 300 {
		t.Errorf("%d devices, want at least 300", len(devices))
	}
	seen := map[string]map[string]int{"name": {}, "mac": {}, "ip": {}, "switch/port": {}}
	for i, r := range devices {
		line := i + 2
		name, mac, ip, crit, sw, port := r[0], r[1], r[2], r[7], r[10], r[11]
		for k, v := range map[string]string{"name": name, "mac": mac, "ip": ip, "switch/port": sw + " " + port} {
			if prev, dup := seen[k][v]; dup {
				t.Errorf("line %d: %s %q already used on line %d", line, k, v, prev)
			}
			seen[k][v] = line
		}
		if !slices.Contains(policy.Criticalities(), crit) {
			t.Errorf("line %d: criticality %q", line, crit)
		}
		if tg, ok := cfg.Targets[sw]; !ok || !tg.HasRole("access_switch") {
			t.Errorf("line %d: switch %q is not an access_switch target of the example policy", line, sw)
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			t.Errorf("line %d: ip %q: %v", line, ip, err)
			continue
		}
		inZone := false
		for _, z := range cfg.Zones {
			for _, p := range z.Subnets {
				inZone = inZone || p.Contains(addr)
			}
		}
		if !inZone {
			t.Errorf("line %d: %s (%s) is in no zone's subnet", line, name, ip)
		}
	}
}
