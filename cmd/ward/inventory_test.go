package main

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/store/pgtest"
)

const exampleInventory = "../../examples/hospital/inventory.csv"

func TestMain(m *testing.M) {
	// A test that needs ward in a process of its own (kill -9, SIGSTOP)
	// runs this binary with WARD_TEST_RUN_CLI=1 and ward's arguments.
	if os.Getenv(runCLIEnv) == "1" {
		main()
		return
	}
	// Commands that open a store create the audit key on first use: in a
	// directory of this run's own, never under /etc (tests that need
	// another directory set theirs).
	creds, err := os.MkdirTemp("", "ward-test-credentials-")
	if err != nil {
		panic(err)
	}
	os.Setenv("WARD_CREDENTIALS_DIR", creds)
	os.Unsetenv("WARD_AUDIT_KEY")
	code := m.Run()
	pgtest.StopShared()
	os.RemoveAll(creds)
	os.Exit(code)
}

func TestInventoryAndAuditCommands(t *testing.T) {
	urls := map[string]string{
		"sqlite":   "sqlite://" + filepath.Join(t.TempDir(), "ward.db"),
		"postgres": pgtest.URL(t),
	}
	for name, db := range urls {
		t.Run(name, func(t *testing.T) {
			t.Setenv("WARD_ACTOR", "alice")
			code, out, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db)
			if code != 0 || !strings.Contains(out, "432 added") {
				t.Fatalf("import: exit %d\n%s%s", code, out, errs)
			}

			code, out, _ = runWard(t, "inventory", "list", "--db", db, "-class", "infusion_pump", "-json")
			var devs []map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &devs) != nil || len(devs) == 0 {
				t.Fatalf("list -json: exit %d, %d devices\n%s", code, len(devs), out)
			}
			for _, d := range devs {
				if d["class"] != "infusion_pump" {
					t.Fatalf("-class filter let through %v", d)
				}
			}

			code, out, errs = runWard(t, "inventory", "list", "-db", db, "-zone", "infusion_pumps", "-policy", examplePolicy, "-json")
			var pumps []map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &pumps) != nil || len(pumps) < 50 {
				t.Fatalf("list -zone: exit %d, %d devices\n%s%s", code, len(pumps), out, errs)
			}
			for _, d := range pumps {
				if d["class"] != "infusion_pump" {
					t.Fatalf("-zone infusion_pumps listed %v", d["name"])
				}
			}
			if code, _, errs := runWard(t, "inventory", "list", "-db", db, "-zone", "nope", "-policy", examplePolicy); code != 1 || !strings.Contains(errs, `no zone "nope"`) {
				t.Fatalf("unknown zone: exit %d %s", code, errs)
			}

			code, out, _ = runWard(t, "inventory", "show", "pump-3w-01", "-db", db)
			if code != 0 || !strings.Contains(out, "10.61.210.11") || !strings.Contains(out, "Alaris 8015") {
				t.Fatalf("show: exit %d\n%s", code, out)
			}

			// A bad file: every problem listed, nothing imported.
			bad := filepath.Join(t.TempDir(), "bad.csv")
			os.WriteFile(bad, []byte("name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port\n"+
				"x,zz,10.0.0.1,pump,BD,,,low,main,,,\ny,,10.0.0.999,pump,BD,,,low,main,,,\n"), 0o644)
			code, _, errs = runWard(t, "inventory", "import", bad, "-db", db, "-replace")
			if code != 1 || !strings.Contains(errs, "line 2") || !strings.Contains(errs, "line 3") || !strings.Contains(errs, "Nothing was imported") {
				t.Fatalf("bad import: exit %d\n%s", code, errs)
			}

			if code, _, errs := runWard(t, "inventory", "rm", "pump-3w-01", "-db", db); code != 0 {
				t.Fatalf("rm: exit %d %s", code, errs)
			}
			if code, _, errs := runWard(t, "inventory", "rm", "no-such-device", "-db", db); code != 1 || !strings.Contains(errs, "not found") {
				t.Fatalf("rm unknown: exit %d %s", code, errs)
			}

			code, out, _ = runWard(t, "audit", "-db", db)
			if code != 0 || !strings.Contains(out, "inventory.import") || !strings.Contains(out, "inventory.remove") || !strings.Contains(out, "alice") {
				t.Fatalf("audit: exit %d\n%s", code, out)
			}
			code, out, _ = runWard(t, "audit", "verify", "-db", db)
			if code != 0 || !strings.Contains(out, "2 events") {
				t.Fatalf("audit verify: exit %d\n%s", code, out)
			}
		})
	}
}

func TestAuditVerifyNamesTamperedEvent(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ward.db")
	url := "sqlite://" + db
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", url); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := runWard(t, "inventory", "rm", "pump-3w-02", "-db", url); code != 0 {
		t.Fatal(errs)
	}
	st, ok := (&cli{stdout: os.Stdout, stderr: os.Stderr}).openStore(t.Context(), url)
	if !ok {
		t.Fatal("open")
	}
	for _, q := range []string{"DROP TRIGGER audit_events_no_update", "UPDATE audit_events SET object = 'pump-3w-03' WHERE seq = 2"} {
		if err := st.DB.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, _, errs := runWard(t, "audit", "verify", "-db", url)
	if code != 1 || !strings.Contains(errs, "audit event 2") || !strings.Contains(errs, "inventory.remove") || !strings.Contains(errs, "changed after it was written") {
		t.Fatalf("verify after tampering: exit %d\n%s", code, errs)
	}
}

func TestBadDatabaseURL(t *testing.T) {
	code, _, errs := runWard(t, "inventory", "list", "-db", "mysql://nope")
	if code != 1 || !strings.Contains(errs, "sqlite://PATH or postgres://") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestInventoryExportEscapesFormulas(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	in := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(in, []byte("name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port,ward\n"+
		`evil,,10.0.0.66,pump,"=cmd|' /C calc'!A0",,,low,main,,,,3 West`+"\n"), 0o644)
	if code, _, errs := runWard(t, "inventory", "import", in, "-db", url); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := runWard(t, "inventory", "export", "-db", url)
	if code != 0 {
		t.Fatal(errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port,ward") {
		t.Fatalf("export:\n%s", out)
	}
	if !strings.Contains(lines[1], `,'=cmd|' /C calc'!A0,`) || !strings.HasSuffix(lines[1], ",3 West") {
		t.Fatalf("formula cell not escaped, or label lost:\n%s", lines[1])
	}
}

// TestZoneOneMeaning: with an operator ward.placement module that moves
// the 3 West infusion pumps into a zone no match block gives them, ward
// inventory list -zone, GET /api/v1/devices and the firewall's address
// sets in ward plan -json agree on every device's zone, device by device;
// and the pumps are where the module says, not where the match blocks
// would put them.
func TestZoneOneMeaning(t *testing.T) {
	dir := copyPolicy(t)
	writeFile(t, dir, "review.hcl", `zone "pumps_under_review" {
  description = "Pumps held back for a firmware review; placed by review.rego"
  criticality = "high"
  vlan        = 212
  priority    = 10
}

flow "review_pumps_to_pump_servers" {
  from     = zone.pumps_under_review
  to       = zone.pump_servers
  services = [service.https]
  reason   = "Drug library updates while under review"
  ticket   = "CHG-2001"
}
`)
	writeFile(t, dir, "review.rego", `package ward.placement

zone_match[id] contains "pumps_under_review" if {
	d := data.ward.devices[id]
	d.class == "infusion_pump"
	d.location == "3 West"
}
`)
	if code, out, errs := runWard(t, "validate", "-policy", dir); code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
	}
	db := "sqlite://" + filepath.Join(t.TempDir(), "ward.db")
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}

	// The inventory, and what the test expects of the module, read from
	// the CSV itself.
	code, out, errs := runWard(t, "inventory", "list", "-db", db, "-json")
	var all []struct{ Name, IP, Class, Location string }
	if code != 0 || json.Unmarshal([]byte(out), &all) != nil || len(all) < 400 {
		t.Fatalf("list: exit %d %s", code, errs)
	}
	moved := 0
	for _, d := range all {
		if d.Class == "infusion_pump" && d.Location == "3 West" {
			moved++
		}
	}
	if moved < 5 {
		t.Fatalf("the example has %d pumps in 3 West; the test needs some", moved)
	}

	// 1. ward inventory list -zone, for every zone of the policy.
	cfg, diags := (&cli{}).loadPolicy(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cliZone := map[string]string{}
	for _, z := range cfg.ZoneNames() {
		code, out, errs := runWard(t, "inventory", "list", "-db", db, "-zone", z, "-policy", dir, "-json")
		var in []struct{ Name string }
		if code != 0 || json.Unmarshal([]byte(out), &in) != nil {
			t.Fatalf("list -zone %s: exit %d %s", z, code, errs)
		}
		for _, d := range in {
			if prev, dup := cliZone[d.Name]; dup {
				t.Fatalf("%s listed in zones %s and %s", d.Name, prev, z)
			}
			cliZone[d.Name] = z
		}
	}

	// 2. The API of ward serve over the same policy and store.
	code, out, errs = runWard(t, "token", "create", "-role", "viewer", "-name", "zones", "-db", db)
	if code != 0 {
		t.Fatal(errs)
	}
	token := regexp.MustCompile(`ward_[A-Za-z0-9_-]{43}`).FindString(out)
	srv := startServe(t, dir, db, "-no-enforce")
	req, _ := http.NewRequest("GET", srv.url+"/api/v1/devices?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Items []struct{ Name, Zone string }
		Total int
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || page.Total != len(page.Items) || len(page.Items) != len(all) {
		t.Fatalf("GET /api/v1/devices: %d, %v, %d of %d items", resp.StatusCode, err, len(page.Items), page.Total)
	}
	apiZone := map[string]string{}
	for _, d := range page.Items {
		apiZone[d.Name] = d.Zone
	}
	srv.stop(t)

	// 3. The firewall: the zone sets of the plan's firewall intent.
	code, out, errs = runWard(t, "plan", "-policy", dir, "-db", db, "-json")
	var p struct {
		Targets []struct {
			Name   string
			Intent struct {
				Firewall *struct {
					Sets []struct {
						Kind, Of string
						V4, V6   []netip.Prefix
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan -json: exit %d, %v\n%s", code, err, errs)
	}
	firewalls := 0
	for _, tg := range p.Targets {
		fw := tg.Intent.Firewall
		if fw == nil {
			continue
		}
		firewalls++
		hasSet := map[string]bool{}
		for _, s := range fw.Sets {
			hasSet[s.Of] = s.Kind == "zone"
		}
		for _, d := range all {
			ip, err := netip.ParseAddr(d.IP)
			if err != nil {
				continue
			}
			var in []string
			for _, s := range fw.Sets {
				for _, pfx := range append(s.V4, s.V6...) {
					if s.Kind == "zone" && pfx.Contains(ip) {
						in = append(in, s.Of)
					}
				}
			}
			want := []string{}
			if z := cliZone[d.Name]; hasSet[z] {
				want = []string{z}
			}
			if !slices.Equal(in, want) && !(len(in) == 0 && len(want) == 0) {
				t.Errorf("%s (%s): firewall %s has it in zone sets %v; ward inventory list -zone says %q", d.Name, d.IP, tg.Name, in, cliZone[d.Name])
			}
		}
	}
	if firewalls == 0 {
		t.Fatalf("the plan has no firewall target:\n%s", out)
	}

	for _, d := range all {
		if cliZone[d.Name] != apiZone[d.Name] {
			t.Errorf("%s: ward inventory list -zone says %q, the API %q", d.Name, cliZone[d.Name], apiZone[d.Name])
		}
		isMoved := d.Class == "infusion_pump" && d.Location == "3 West"
		switch {
		case isMoved && cliZone[d.Name] != "pumps_under_review":
			t.Errorf("%s is in %q, want pumps_under_review (review.rego)", d.Name, cliZone[d.Name])
		case !isMoved && d.Class == "infusion_pump" && cliZone[d.Name] != "infusion_pumps":
			t.Errorf("%s is in %q, want infusion_pumps (its match block)", d.Name, cliZone[d.Name])
		}
	}
}
