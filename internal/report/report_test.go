package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
)

func kindsOf(r *report.Report, flow string) []string {
	var out []string
	for _, g := range r.Findings {
		for _, f := range g.Items {
			if f.Flow == flow && !slices.Contains(out, f.Kind) {
				out = append(out, f.Kind)
			}
		}
	}
	return out
}

func target(r *report.Report, name string) report.Target {
	for _, t := range r.Targets {
		if t.Name == name {
			return t
		}
	}
	return report.Target{}
}

func control(r *report.Report, id string) report.Control {
	for _, c := range r.Controls {
		if c.ID == id {
			return c
		}
	}
	return report.Control{}
}

// TestExampleHospitalBeforeAndAfterApply builds the report of the example
// hospital before anything was applied (every flow in force is "never
// applied", every pushed target "never_applied") and after an apply (none
// is, and every target runs its intended configuration).
func TestExampleHospitalBeforeAndAfterApply(t *testing.T) {
	e := newEnv(t)
	cfg := e.load(t, examplePolicy)
	in := e.inputs(t, cfg)

	r := e.build(t, in)
	if len(r.Zones) != len(cfg.Zones) || len(r.Flows) != len(cfg.Flows) || len(r.Targets) != len(cfg.Targets) {
		t.Fatalf("report has %d zones, %d flows, %d targets; the policy %d, %d, %d", len(r.Zones), len(r.Flows), len(r.Targets), len(cfg.Zones), len(cfg.Flows), len(cfg.Targets))
	}
	if r.PolicyRevision.Hash != cfg.ContentHash() || r.PolicyRevision.Source != "in_force" {
		t.Errorf("policy revision %+v, want the policy's hash %s in force", r.PolicyRevision, cfg.ContentHash())
	}
	if got, want := r.Summary.Findings[report.KindNeverApplied], len(in.Result.Flows); got != want {
		t.Errorf("before any apply, %d flows never applied, want every flow in force (%d)", got, want)
	}
	var expiring int
	for _, f := range cfg.Flows {
		if !f.Expires.IsZero() {
			expiring++
		}
	}
	var exc int
	for _, x := range r.Exceptions {
		if x.Kind == "expiring_flow" {
			exc++
		}
	}
	if exc != expiring || expiring == 0 {
		t.Errorf("%d expiring-flow exceptions, the policy has %d expiring flows", exc, expiring)
	}
	devices := 0
	for _, z := range r.DevicesByZone {
		devices += z.Count
	}
	if devices != len(e.devices) || r.Summary.Devices != len(e.devices) {
		t.Errorf("devices_by_zone counts %d devices, summary %d; the inventory has %d", devices, r.Summary.Devices, len(e.devices))
	}
	if tg := target(r, "core-fw"); tg.Status != "never_applied" || tg.AppliedSHA256 != "" || tg.IntendedSHA256 == "" {
		t.Errorf("core-fw before apply: %+v", tg)
	}
	if c := control(r, "nist-800-53-cm-3"); c.Status != report.StatusNotEvidenced {
		t.Errorf("CM-3 with no change recorded: %s %v, want not_evidenced", c.Status, c.Reasons)
	}

	e.clk.set(e.clk.now().Add(time.Hour))
	e.apply(t, cfg)
	e.clk.set(e.clk.now().Add(time.Hour))
	r = e.build(t, in)
	if n := r.Summary.Findings[report.KindNeverApplied]; n != 0 {
		t.Errorf("after the apply, %d flows never applied: %v", n, r.Findings)
	}
	for _, tg := range r.Targets {
		if tg.Status != "applied" && tg.Status != "render_only" {
			t.Errorf("target %s after the apply: status %s (intended %s, applied %s)", tg.Name, tg.Status, tg.IntendedSHA256, tg.AppliedSHA256)
		}
		if tg.Status == "applied" && (tg.LastPush == nil || tg.LastActor != "test" || tg.LastRunID == nil) {
			t.Errorf("target %s: last push %v by %q run %v", tg.Name, tg.LastPush, tg.LastActor, tg.LastRunID)
		}
	}
	if len(r.Changes) != 1 || r.Changes[0].PolicyHash != cfg.ContentHash() || r.Changes[0].Actor != "test" {
		t.Fatalf("changes: %+v", r.Changes)
	}
	if c := control(r, "nist-800-53-cm-3"); c.Status == report.StatusNotEvidenced {
		t.Errorf("CM-3 with a change recorded: %s %v", c.Status, c.Reasons)
	}
	if !r.Audit.Intact || r.Audit.Keyed == 0 || r.Audit.KeyID != e.st.AuditKeyID() {
		t.Errorf("audit status %+v", r.Audit)
	}
	for _, g := range r.Findings {
		for _, f := range g.Items {
			if z := cfg.Zones[g.To]; f.Kind == report.KindLifeCriticalNotEssential && (z == nil || z.Criticality != "life_critical") {
				t.Errorf("finding %s of flow %s filed under %s → %s, which is not life-critical", f.Kind, f.Flow, g.From, g.To)
			}
		}
	}
	if len(r.Controls) < 35 {
		t.Errorf("%d controls, want the 35 of the crosswalk", len(r.Controls))
	}

	// A period that starts after the apply holds no change.
	in.Since = e.clk.now()
	if r := e.build(t, in); len(r.Changes) != 0 || r.Period.Since == nil {
		t.Errorf("since after the apply: %d changes, period %+v", len(r.Changes), r.Period)
	}
}

// findingsPolicy is a small policy with one flow of each finding kind.
const findingsPolicy = `
settings {
  default_zone = "other"
}
zone "pumps" {
  criticality = "life_critical"
  vlan = 210
  subnets = ["10.61.210.0/24"]
}
zone "servers" {
  criticality = "high"
  subnets = ["10.61.60.0/24"]
}
zone "other" {
  criticality = "low"
}
network "everywhere" { cidrs = ["10.0.0.0/8"] }
service "https" { tcp = [443] }
service "wide" { tcp = ["1-2000"] }
flow "good" {
  from = zone.pumps
  to = zone.servers
  services = [service.https]
  essential = true
  reason = "telemetry"
  ticket = "CHG-1"
  owner = "Network engineering"
}
flow "into_pumps" {
  from = zone.servers
  to = zone.pumps
  services = [service.https]
  reason = "configuration push"
  ticket = "CHG-2"
  owner = "Network engineering"
}
flow "no_ticket" {
  from = zone.other
  to = zone.servers
  services = [service.https]
  reason = "printing"
}
flow "wide_ports" {
  from = zone.servers
  to = zone.other
  services = [service.wide]
  reason = "vendor tool"
  ticket = "CHG-3"
  owner = "Network engineering"
}
flow "big_network" {
  from = zone.servers
  to = network.everywhere
  services = [service.https]
  reason = "updates"
  ticket = "CHG-4"
  owner = "Network engineering"
}
flow "no_owner" {
  from = zone.servers
  to = zone.other
  services = [service.https]
  reason = "printing"
  ticket = "CHG-7"
}
flow "vendor_support" {
  from = network.everywhere
  to = zone.servers
  services = [service.https]
  reason = "remote support"
  ticket = "CHG-5"
  owner = "Network engineering"
  expires = "2026-11-15"
}
target "fw" {
  driver = "linux_nftables"
  address = "10.250.61.2"
  username = "ward"
  credential = "fw"
  known_hosts = "/etc/ward/known_hosts"
  role = "firewall"
}
`

func TestFindings(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.hcl"), []byte(findingsPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := e.load(t, dir)
	e.apply(t, cfg) // 2026-11-01: vendor_support is in force and deployed
	// A flow added after the apply is allowed but never applied.
	if err := os.WriteFile(filepath.Join(dir, "later.hcl"), []byte(`flow "later" {
  from = zone.pumps
  to = zone.servers
  services = [service.https]
  essential = true
  reason = "new"
  ticket = "CHG-6"
  owner = "Network engineering"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.clk.set(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) // vendor_support expired on the 15th
	cfg = e.load(t, dir)
	r := e.build(t, e.inputs(t, cfg))

	want := map[string][]string{
		"good":           nil,
		"into_pumps":     {report.KindLifeCriticalNotEssential},
		"no_ticket":      {report.KindUndocumented},
		"no_owner":       {report.KindUndocumented},
		"wide_ports":     {report.KindBroad},
		"big_network":    {report.KindBroad},
		"vendor_support": {report.KindExpiredDeployed},
		"later":          {report.KindNeverApplied},
	}
	for flow, kinds := range want {
		if got := kindsOf(r, flow); !slices.Equal(got, kinds) {
			t.Errorf("flow %s: findings %v, want %v", flow, got, kinds)
		}
	}
	// The gravest kind comes first.
	if len(r.Findings) == 0 || r.Findings[0].Items[0].Kind != report.KindExpiredDeployed {
		t.Errorf("first finding group %+v, want the expired-but-deployed one", r.Findings)
	}
	if g := r.Findings[0]; g.From != "network:everywhere" || g.To != "servers" {
		t.Errorf("expired flow grouped under %s → %s", g.From, g.To)
	}
	for _, x := range r.Exceptions {
		if x.Flow == "vendor_support" && (!x.Expired || !x.Deployed) {
			t.Errorf("exception %+v: want expired and deployed", x)
		}
	}
	// A control whose rule forbids expired_deployed is partial, and says why.
	if c := control(r, "nist-800-53-ac-4"); c.Status != report.StatusPartial || !strings.Contains(strings.Join(c.Reasons, ";"), report.KindExpiredDeployed) {
		t.Errorf("AC-4: %s %v", c.Status, c.Reasons)
	}
	if c := control(r, "nist-800-53-ir-4"); c.Status != report.StatusNotEvidenced {
		t.Errorf("IR-4 without quarantines: %s", c.Status)
	}
}

// TestAsOf applies two policies one after the other: a report as of a
// time between them describes the first, after them the second, before
// them none.
func TestAsOf(t *testing.T) {
	e := newEnv(t)
	cfgA := e.load(t, examplePolicy)
	t1 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	e.clk.set(t1)
	e.apply(t, cfgA)

	dir := copyPolicy(t)
	if err := os.WriteFile(filepath.Join(dir, "added.hcl"), []byte(`flow "report_test_added" {
  from = zone.biomed_engineering
  to = zone.printers
  services = [service.printing]
  reason = "print calibration reports"
  ticket = "CHG-9000"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t2 := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	e.clk.set(t2)
	cfgB := e.load(t, dir)
	if cfgA.ContentHash() == cfgB.ContentHash() {
		t.Fatal("the two policies hash the same")
	}
	e.apply(t, cfgB)
	e.clk.set(time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC))
	in := e.inputs(t, cfgB) // B is in force now

	has := func(r *report.Report, flow string) bool {
		return slices.ContainsFunc(r.Flows, func(f report.Flow) bool { return f.Name == flow })
	}
	in.AsOf = t1.Add(24 * time.Hour)
	between := e.build(t, in)
	if between.PolicyRevision.Hash != cfgA.ContentHash() || between.PolicyRevision.Source != "applied_plan" || has(between, "report_test_added") {
		t.Errorf("as of %s: policy %+v, added flow present %v; want the first policy", in.AsOf, between.PolicyRevision, has(between, "report_test_added"))
	}
	if !has(between, "pumps_to_pump_servers") || len(between.Matrix) == 0 || len(between.Zones) != len(cfgA.Zones) {
		t.Errorf("as of %s: %d flows, %d cells, %d zones", in.AsOf, len(between.Flows), len(between.Matrix), len(between.Zones))
	}
	if len(between.Changes) != 1 {
		t.Errorf("as of %s: %d changes, want the first apply", in.AsOf, len(between.Changes))
	}

	in.AsOf = t2.Add(time.Minute)
	after := e.build(t, in)
	if after.PolicyRevision.Hash != cfgB.ContentHash() || !has(after, "report_test_added") {
		t.Errorf("as of %s: policy %s, added flow present %v; want the second policy", in.AsOf, after.PolicyRevision.Hash, has(after, "report_test_added"))
	}
	for _, f := range after.Flows {
		if f.Name == "report_test_added" && f.Ticket != "CHG-9000" {
			t.Errorf("the policy in force is the applied one: flow details should come from it, got %+v", f)
		}
	}

	in.AsOf = t1.Add(-time.Hour)
	before := e.build(t, in)
	if before.PolicyRevision.Source != "none" || len(before.Flows) != 0 || !strings.Contains(strings.Join(before.Notes, " "), "no applied plan") {
		t.Errorf("as of before any apply: %+v, notes %v", before.PolicyRevision, before.Notes)
	}
}

func TestManifestDetectsOneChangedByte(t *testing.T) {
	e := newEnv(t)
	r := e.build(t, e.inputs(t, e.load(t, examplePolicy)))
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	m, err := report.Sign(testKey, "report.json", report.FormatJSON, data, r)
	if err != nil {
		t.Fatal(err)
	}
	if m.KeyID != e.st.AuditKeyID() {
		t.Errorf("manifest key id %s, the store names the same key %s", m.KeyID, e.st.AuditKeyID())
	}
	b, _ := json.Marshal(m)
	m2, err := report.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.VerifyManifest(testKey, m2, data); err != nil {
		t.Fatalf("the report as signed: %v", err)
	}
	changed := bytes.Clone(data)
	changed[len(changed)/2] ^= 0x01
	if err := report.VerifyManifest(testKey, m2, changed); !errors.Is(err, report.ErrReportChanged) {
		t.Errorf("one changed byte: %v, want ErrReportChanged", err)
	}
	other := bytes.Repeat([]byte{7}, 32)
	if err := report.VerifyManifest(other, m2, data); !errors.Is(err, report.ErrWrongKey) {
		t.Errorf("another key: %v, want ErrWrongKey", err)
	}
	forged := *m2
	forged.SHA256 = strings.Repeat("0", 64)
	if err := report.VerifyManifest(testKey, &forged, data); !errors.Is(err, report.ErrManifestForged) {
		t.Errorf("a rewritten manifest: %v, want ErrManifestForged", err)
	}
}

func TestCSVFlowRegister(t *testing.T) {
	e := newEnv(t)
	cfg := e.load(t, examplePolicy)
	r := e.build(t, e.inputs(t, cfg))
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], report.CSVHeader) || len(rows) != len(cfg.Flows)+1 {
		t.Fatalf("header %v and %d rows; want %v and %d", rows[0], len(rows), report.CSVHeader, len(cfg.Flows)+1)
	}
	// Read by header name: a column moved or renamed fails here.
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"flow", "ticket", "owner", "essential"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("no %q column in %v", h, rows[0])
		}
	}
	owned := 0
	for _, row := range rows[1:] {
		f := cfg.Flows[row[col["flow"]]]
		if f == nil {
			t.Errorf("row %v: not a flow of the policy", row)
			continue
		}
		if row[col["ticket"]] != f.Ticket || row[col["owner"]] != f.Owner || row[col["essential"]] != strconv.FormatBool(f.Essential) {
			t.Errorf("flow %s: ticket %q owner %q essential %q; the policy says %q %q %v", f.Name, row[col["ticket"]], row[col["owner"]], row[col["essential"]], f.Ticket, f.Owner, f.Essential)
		}
		if f.Owner != "" {
			owned++
		}
	}
	if owned == 0 {
		t.Error("no flow of the example has an owner: the owner column is not checked")
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	e := newEnv(t)
	r := e.build(t, e.inputs(t, e.load(t, examplePolicy)))
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, id := range []string{"findings", "policy", "controls", "zones", "matrix", "flows", "exceptions", "targets", "changes", "quarantines", "devices", "audit"} {
		if !strings.Contains(page, `<section id="`+id+`">`) {
			t.Errorf("no section %s", id)
		}
	}
	for _, bad := range []string{"<script", "src=", "http://", "<link"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("the page holds %q: it must need nothing outside itself", bad)
		}
	}
	// Findings come before everything else.
	if i, j := strings.Index(page, `id="findings"`), strings.Index(page, `id="zones"`); i < 0 || i > j {
		t.Error("the findings are not first")
	}
	if !strings.Contains(page, "<th scope=\"col\">Flow</th>") || !strings.Contains(page, "pumps_to_pump_servers") {
		t.Error("the flow register is not a table of the flows")
	}
}

// TestJSONMatchesSchema validates the example's JSON report against
// docs/report.schema.json, and a report missing a required key against it
// too, which must fail.
func TestJSONMatchesSchema(t *testing.T) {
	b, err := os.ReadFile("../../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema openapi3.Schema
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	cfg := e.load(t, examplePolicy)
	e.apply(t, cfg)
	r := e.build(t, e.inputs(t, cfg))
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if err := schema.VisitJSON(doc, openapi3.EnableJSONSchema2020()); err != nil {
		t.Fatalf("the example report does not match docs/report.schema.json: %v", err)
	}
	delete(doc, "controls")
	if err := schema.VisitJSON(doc, openapi3.EnableJSONSchema2020()); err == nil {
		t.Error("a report without controls matches the schema: the schema checks nothing")
	}
	var again map[string]any
	_ = json.Unmarshal(buf.Bytes(), &again)
	again["targets"].([]any)[0].(map[string]any)["status"] = 7
	if err := schema.VisitJSON(again, openapi3.EnableJSONSchema2020()); err == nil {
		t.Error("a target status that is a number matches the schema")
	}
}

func TestSinceAfterUntilIsRefused(t *testing.T) {
	e := newEnv(t)
	in := e.inputs(t, e.load(t, examplePolicy))
	in.Since = e.clk.now().Add(time.Hour)
	if _, err := report.Build(context.Background(), in); err == nil || !strings.Contains(err.Error(), "after the end of the period") {
		t.Errorf("since after now: %v", err)
	}
}

// TestQuarantinesInThePeriod records two quarantines, one released: the
// report lists those open at some time in the period, each as it stood at
// the period's end, and a quarantine no target enforced keeps incident
// handling partial.
func TestQuarantinesInThePeriod(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := inventory.ImportFile(ctx, e.st, exampleInventory, inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := e.load(t, examplePolicy)
	quarantine := func(name string) store.Quarantine {
		t.Helper()
		dev, err := e.st.DeviceNamed(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		q := store.Quarantine{DeviceID: dev.ID, Level: "isolate", Status: store.QuarantineActive, Reason: "test", CreatedBy: "test", CreatedAt: e.clk.now()}
		err = e.st.QuarantineDecision(ctx, func(tx *store.QuarantineTx) error {
			return tx.CreateQuarantine(&q, store.AuditEntry{Actor: "test", Action: "quarantine.create", Object: name}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	t0 := e.clk.now()
	first := quarantine(e.devices[0].Name)
	e.clk.set(t0.Add(time.Hour))
	err := e.st.QuarantineDecision(ctx, func(tx *store.QuarantineTx) error {
		_, err := tx.EndQuarantine(first, store.QuarantineReleased, "test", store.AuditEntry{Actor: "test", Action: "quarantine.release"}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.set(t0.Add(2 * time.Hour))
	second := quarantine(e.devices[1].Name)
	e.clk.set(t0.Add(3 * time.Hour))

	in := e.inputs(t, cfg)
	ids := func(r *report.Report) (out []uint64) {
		for _, q := range r.Quarantines {
			out = append(out, q.ID)
		}
		return out
	}
	r := e.build(t, in)
	if got := ids(r); !slices.Equal(got, []uint64{first.ID, second.ID}) || r.Summary.ActiveQuarantines != 1 {
		t.Fatalf("whole period: quarantines %v, %d active; want both, 1 active", got, r.Summary.ActiveQuarantines)
	}
	if q := r.Quarantines[0]; q.Device != e.devices[0].Name || q.Zone != in.Result.Zone[q.Device] || q.ReleasedAt == nil {
		t.Errorf("first quarantine %+v", q)
	}
	if c := control(r, "nist-800-53-ir-4"); c.Status != report.StatusPartial {
		t.Errorf("IR-4 with a quarantine no target enforced: %s %v", c.Status, c.Reasons)
	}

	in.Since = t0.Add(90 * time.Minute) // after the first was released
	if got := ids(e.build(t, in)); !slices.Equal(got, []uint64{second.ID}) {
		t.Errorf("since the release: %v, want only the second", got)
	}
	in.Since, in.AsOf = time.Time{}, t0.Add(30*time.Minute) // the first still open, the second not yet made
	r = e.build(t, in)
	if got := ids(r); !slices.Equal(got, []uint64{first.ID}) || r.Quarantines[0].ReleasedAt != nil || r.Quarantines[0].Status != "active" {
		t.Errorf("as of before the release: %v %+v", got, r.Quarantines)
	}
}
