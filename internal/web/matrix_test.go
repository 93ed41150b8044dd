package web_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// exampleResult evaluates the example policy against the server's
// inventory with the engine, independently of the UI.
func exampleResult(t *testing.T, s *uiServer) *engine.Result {
	t.Helper()
	ctx := context.Background()
	roles := map[string][]string{"linux_nftables": {"firewall"}, "openvswitch": {"access_switch"}}
	for _, n := range []string{"cisco_iosxe", "arista_eos", "juniper_junos"} {
		roles[n] = []string{"firewall", "access_switch"}
	}
	cfg, diags := policy.NewParser(policy.WithDrivers(roles)).LoadDir(examplePolicy)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	devices, err := inventory.Active(ctx, s.st)
	if err != nil {
		t.Fatal(err)
	}
	eng, diags := engine.New(ctx, cfg, devices)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := eng.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var cellLink = regexp.MustCompile(`<a href="/ui/flows\?(from=[^"]+)">([^<]*)</a>`)

// matrixCells reads the matrix page's cells: from|to to the services shown.
func matrixCells(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range cellLink.FindAllStringSubmatch(body, -1) {
		q, err := url.ParseQuery(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		out[q.Get("from")+"|"+q.Get("to")] = html.UnescapeString(m[2])
	}
	return out
}

func TestMatrixIsTheEnginesMatrix(t *testing.T) {
	s := newUIServer(t)
	c := s.signIn(t, store.RoleAuditor)
	res := exampleResult(t, s)
	a := do(t, c, "GET", s.url+"/ui/matrix", nil)
	if a.status != 200 {
		t.Fatalf("GET /ui/matrix: %d\n%s", a.status, a.body)
	}
	got := matrixCells(t, a.body)
	want := map[string]string{}
	for from, tos := range res.Matrix {
		for to, svcs := range tos {
			svcs = slices.Clone(svcs)
			slices.Sort(svcs)
			want[from+"|"+to] = strings.Join(svcs, ", ")
		}
	}
	if len(want) == 0 {
		t.Fatal("the example policy allows nothing")
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("cell %s: %q, want %q", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("cell %s shown, but the engine allows nothing there", k)
		}
	}
	if !strings.Contains(a.body, "★ essential") || !strings.Contains(a.body, `class="matrix"`) {
		t.Error("no essential cell marked, or no matrix table")
	}
	// Each cell opens the flows behind it, and only those.
	for k := range want {
		from, to, _ := strings.Cut(k, "|")
		f := do(t, c, "GET", s.url+"/ui/flows?"+url.Values{"from": {from}, "to": {to}}.Encode(), nil)
		if f.status != 200 || !strings.Contains(f.body, "The flows that allow traffic from") {
			t.Fatalf("flows of %s: %d", k, f.status)
		}
		n := strings.Count(f.body, `<th scope="row"><a href="/ui/flows/`)
		if n == 0 {
			t.Errorf("flows of %s: none listed", k)
		}
	}
	// Filters: by criticality, by name; a bad criticality is refused.
	lc := do(t, c, "GET", s.url+"/ui/matrix?criticality=life_critical", nil)
	if lc.status != 200 || strings.Contains(lc.body, `<th scope="col">guest_wifi</th>`) || !strings.Contains(lc.body, `<th scope="col">infusion_pumps</th>`) {
		t.Errorf("criticality filter: %d", lc.status)
	}
	q := do(t, c, "GET", s.url+"/ui/matrix?q=pump", nil)
	if !strings.Contains(q.body, `<th scope="col">infusion_pumps</th>`) || strings.Contains(q.body, `<th scope="col">guest_wifi</th>`) {
		t.Error("search filter")
	}
	// By site: the zones with a device at the clinic, as the inventory and
	// the engine's placement say.
	devices, err := inventory.Active(context.Background(), s.st)
	if err != nil {
		t.Fatal(err)
	}
	clinic := map[string]bool{}
	for _, d := range devices {
		if d.Site == "clinic" && res.Zone[d.Name] != "" {
			clinic[res.Zone[d.Name]] = true
		}
	}
	cs := do(t, c, "GET", s.url+"/ui/matrix?site=clinic", nil)
	cols := map[string]bool{}
	for _, m := range regexp.MustCompile(`<th scope="col">([^<]+)</th>`).FindAllStringSubmatch(cs.body, -1) {
		if m[1] != `From \ To` {
			cols[m[1]] = true
		}
	}
	if len(clinic) == 0 || len(cols) != len(clinic) {
		t.Errorf("site filter: columns %v, zones with clinic devices %v", cols, clinic)
	}
	for z := range clinic {
		if !cols[z] {
			t.Errorf("site filter: zone %s has clinic devices, not shown", z)
		}
	}
	if bad := do(t, c, "GET", s.url+"/ui/matrix?criticality=nonsense", nil); bad.status != 400 {
		t.Errorf("bad criticality: %d", bad.status)
	}
}

func TestAsOfDevicesChanges(t *testing.T) {
	s := newUIServer(t)
	c := s.signIn(t, store.RoleViewer)
	// Before any apply there was no enforced policy.
	a := do(t, c, "GET", s.url+"/ui/matrix?as_of=2020-01-01", nil)
	if a.status != 200 || !strings.Contains(a.body, "no plan had been applied yet") || len(matrixCells(t, a.body)) != 0 {
		t.Errorf("as_of before any apply: %d\n%s", a.status, a.body)
	}
	if !strings.Contains(a.body, `href="/ui/zones?as_of=2020-01-01"`) {
		t.Error("the navigation drops as_of")
	}
	if bad := do(t, c, "GET", s.url+"/ui/matrix?as_of=yesterday", nil); bad.status != 400 {
		t.Errorf("bad as_of: %d", bad.status)
	}
	ch := do(t, c, "GET", s.url+"/ui/changes", nil)
	if ch.status != 200 || !strings.Contains(ch.body, "No apply recorded") {
		t.Errorf("changes: %d", ch.status)
	}
	res := exampleResult(t, s)
	var name, zone string
	for d, z := range res.Zone {
		if name == "" || d < name {
			name, zone = d, z
		}
	}
	l := do(t, c, "GET", s.url+"/ui/devices?zone="+zone, nil)
	if l.status != 200 || !strings.Contains(l.body, `href="/ui/devices/`+name+`"`) {
		t.Errorf("device list of %s: %d, no %s", zone, l.status, name)
	}
	d := do(t, c, "GET", s.url+"/ui/devices/"+name, nil)
	if d.status != 200 || !strings.Contains(d.body, `href="/ui/zones/`+zone+`"`) {
		t.Errorf("device %s: %d, zone %s not shown", name, d.status, zone)
	}
	for to := range res.Matrix[zone] {
		if !strings.Contains(d.body, "<th scope=\"row\">"+to+"</th>") {
			t.Errorf("device %s: may open %s, not shown", name, to)
		}
	}
	// A restrict quarantine keeps the zone's essential flows: the device
	// page lists each essential flow in force touching its zone.
	for fname, f := range res.Flows {
		touches := slices.ContainsFunc(append(slices.Clone(f.From), f.To...), func(r policy.DocRef) bool { return r.Kind == "zone" && r.Name == zone })
		kept := strings.Contains(d.body[strings.Index(d.body, "would keep open"):strings.Index(d.body, "<h2>Quarantines")], `href="/ui/flows/`+fname+`"`)
		if f.Essential && touches != kept {
			t.Errorf("device %s: essential flow %s touching its zone: %v, listed as kept: %v", name, fname, touches, kept)
		}
	}
	// The dashboard as of a time says what it shows.
	if db := do(t, c, "GET", s.url+"/ui/?as_of=2020-01-01", nil); db.status != 200 || !strings.Contains(db.body, "As of 2020-01-01") ||
		!strings.Contains(db.body, "The sections below show Ward now") || !strings.Contains(db.body, `href="/ui/matrix?as_of=2020-01-01"`) {
		t.Errorf("dashboard as of 2020: %d", db.status)
	}
	// Zones, zone and flow pages as of a time before any apply.
	z := do(t, c, "GET", s.url+"/ui/zones?as_of=2020-01-01", nil)
	if z.status != 200 || !strings.Contains(z.body, "no plan had been applied yet") || strings.Contains(z.body, `href="/ui/zones/`+zone) {
		t.Errorf("zones as of 2020: %d", z.status)
	}
	if f := do(t, c, "GET", s.url+"/ui/zones/"+zone+"?as_of=2020-01-01", nil); f.status != 404 || !strings.Contains(f.body, "enforced as of 2020-01-01") {
		t.Errorf("zone as of 2020: %d", f.status)
	}
	if nf := do(t, c, "GET", s.url+"/ui/devices/no-such-device", nil); nf.status != 404 {
		t.Errorf("unknown device: %d", nf.status)
	}
}
