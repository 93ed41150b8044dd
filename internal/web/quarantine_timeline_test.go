package web_test

import (
	"context"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/quarantine/alert"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// managerServer is the UI over the example hospital with a real
// quarantine manager that records and decides but changes no target.
func managerServer(t *testing.T) (*uiServer, *quarantine.Manager, *policy.Config) {
	t.Helper()
	f := newUIFixture(t)
	m, err := quarantine.New(context.Background(), quarantine.Options{Store: f.st, Policy: f.holder, NoEnforce: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return f.serve(t, m, slog.LevelInfo), m, f.cfg
}

// essentialOf lists the essential flows of the example's policy that
// device name takes part in (its zone or a network holding its address
// at either end), from the policy and the engine's placement.
func essentialOf(t *testing.T, s *uiServer, cfg *policy.Config, name string) []string {
	t.Helper()
	devices, err := inventory.Active(context.Background(), s.st)
	if err != nil {
		t.Fatal(err)
	}
	eng, diags := engine.New(context.Background(), cfg, devices)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := eng.Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(devices, func(d inventory.Device) bool { return d.Name == name })
	if i < 0 {
		t.Fatalf("the example has no device %s", name)
	}
	var out []string
	for fname, f := range cfg.Flows {
		if !f.Essential || f.ExpiredAt(time.Now()) {
			continue
		}
		if slices.ContainsFunc(slices.Concat(f.From, f.To), func(r policy.Ref) bool {
			if r.Kind == "zone" {
				return r.Name == res.Zone[name]
			}
			n := cfg.Networks[r.Name]
			return n != nil && slices.ContainsFunc(n.CIDRs, func(p netip.Prefix) bool { return p.Contains(devices[i].IP) })
		}) {
			out = append(out, fname)
		}
	}
	slices.Sort(out)
	return out
}

// section is the part of body from the first from to the next until.
func section(t *testing.T, body, from, until string) string {
	t.Helper()
	i := strings.Index(body, from)
	if i < 0 {
		t.Fatalf("no %q in the page:\n%s", from, body)
	}
	j := strings.Index(body[i:], until)
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

var flowLink = regexp.MustCompile(`href="/ui/flows/([^"]+)"`)

func flowLinks(html string) []string {
	var out []string
	for _, m := range flowLink.FindAllStringSubmatch(html, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestQuarantineTimeline: a workstation in essential flows is quarantined
// by an alert (restricted, isolate waiting for approval), pushed with one
// failure, approved, released; its timeline shows each step, the flows
// the decision kept open, and who approved and released it.
func TestQuarantineTimeline(t *testing.T) {
	s, m, cfg := managerServer(t)
	ctx := context.Background()
	const dev = "ws-netlab-01"
	want := essentialOf(t, s, cfg, dev)
	if len(want) == 0 {
		t.Fatalf("%s takes part in no essential flow in the example; the test needs one that does", dev)
	}
	rs, err := m.Intake(ctx, []alert.Alert{{Format: "generic", Source: "suricata", ID: "ev-1", Severity: "high",
		Addresses: []netip.Addr{netip.MustParseAddr("10.61.100.241")}, Signature: "ET TROJAN beacon", Raw: []byte("{}")}})
	if err != nil {
		t.Fatal(err)
	}
	id := rs[0].QuarantineID
	if id == 0 || rs[0].Action != quarantine.LevelRestrict || rs[0].Pending != quarantine.LevelIsolate {
		t.Fatalf("intake: %+v, want a restrict with isolate waiting", rs[0])
	}
	// Every step a second apart by the store's clock, which the
	// manager's records use too.
	now := s.clock.Now().Add(time.Second)
	if err := s.st.RecordTargetEnforcement(ctx, []uint64{id}, store.PushOutcome{Target: "core-fw", Error: "dial tcp 10.250.61.2:22: i/o timeout", At: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.RecordTargetEnforcement(ctx, []uint64{id}, store.PushOutcome{Target: "core-fw", Error: "", At: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	c := s.signIn(t, store.RoleViewer)
	path := "/ui/quarantines/" + strconv.FormatUint(id, 10)

	a := do(t, c, "GET", s.url+path, nil)
	if a.status != 200 {
		t.Fatalf("GET %s: %d\n%s", path, a.status, a.body)
	}
	for _, w := range []string{"ET TROJAN beacon", "suricata", "Decision", "Push to core-fw", "i/o timeout", "isolate waiting for approval"} {
		if !strings.Contains(a.body, w) {
			t.Errorf("timeline before approval: no %q", w)
		}
	}
	decision := section(t, a.body, "<th scope=\"row\">Decision</th>", "</tr>")
	if got := flowLinks(decision); !slices.Equal(got, want) {
		t.Errorf("the decision kept open %v, want the device's essential flows %v", got, want)
	}
	for _, f := range want {
		if fa := do(t, c, "GET", s.url+"/ui/flows/"+f, nil); fa.status != 200 {
			t.Errorf("kept flow %s links to a page that answers %d", f, fa.status)
		}
	}
	if !strings.Contains(do(t, c, "GET", s.url+"/ui/quarantines", nil).body, `href="`+path+`"`) {
		t.Errorf("/ui/quarantines does not link %s", path)
	}

	s.clock.Advance(5 * time.Second)
	if _, err := m.Approve(ctx, id, "dr-kim", "confirmed with the ward"); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	if _, err := m.Release(ctx, dev, "alice"); err != nil {
		t.Fatal(err)
	}
	a = do(t, c, "GET", s.url+path, nil)
	if a.status != 200 {
		t.Fatalf("GET %s after release: %d", path, a.status)
	}
	events := regexp.MustCompile(`<th scope="row">(Alert|Decision|Decision \(change\)|Push to [^<]+|Approval|Released|Expired)</th>`).FindAllStringSubmatch(a.body, -1)
	var order []string
	for _, e := range events {
		order = append(order, e[1])
	}
	if got, wantOrder := strings.Join(order, ", "), "Alert, Decision, Push to core-fw, Push to core-fw, Approval, Released"; got != wantOrder {
		t.Errorf("timeline events %q, want %q", got, wantOrder)
	}
	for _, w := range []string{"dr-kim", "confirmed with the ward", "alice", "released", "Approved by"} {
		if !strings.Contains(a.body, w) {
			t.Errorf("timeline after release: no %q", w)
		}
	}
	approval := section(t, a.body, "<th scope=\"row\">Approval</th>", "</tr>")
	if !strings.Contains(approval, "nothing but remediation") || len(flowLinks(approval)) != 0 {
		t.Errorf("the approved isolate keeps flows open:\n%s", approval)
	}

	if dp := do(t, c, "GET", s.url+"/ui/devices/"+dev, nil); !strings.Contains(dp.body, `href="`+path+`"`) {
		t.Errorf("the device page does not link its quarantine's timeline %s", path)
	}
	for _, bad := range []string{"/ui/quarantines/999999", "/ui/quarantines/nope"} {
		if nf := do(t, c, "GET", s.url+bad, nil); nf.status != 404 || !strings.Contains(nf.body, "No such quarantine") {
			t.Errorf("GET %s: %d, want 404 No such quarantine", bad, nf.status)
		}
	}
}

// TestDevicePreview: the device page says what the quarantine manager
// would do, per the example's quarantine block: a medium workstation in
// essential flows is restricted with its isolate waiting for approval; a
// low guest device is isolated at once and keeps nothing open.
func TestDevicePreview(t *testing.T) {
	s, _, cfg := managerServer(t)
	c := s.signIn(t, store.RoleViewer)
	for _, tc := range []struct {
		device, criticality string
		approval            bool
	}{
		{"ws-netlab-01", "medium", true},
		{"tv-netlab-01", "low", false},
	} {
		t.Run(tc.device, func(t *testing.T) {
			ess := essentialOf(t, s, cfg, tc.device)
			level := cfg.Quarantine.Action[tc.criticality]
			if level == quarantine.LevelIsolate && len(ess) > 0 {
				level = quarantine.LevelRestrict
			}
			a := do(t, c, "GET", s.url+"/ui/devices/"+tc.device, nil)
			if a.status != 200 {
				t.Fatalf("GET device: %d", a.status)
			}
			pv := section(t, a.body, "What a quarantine would keep open", "<h2>Quarantines")
			if !strings.Contains(pv, "<td>"+cfg.Quarantine.Action[tc.criticality]+"</td>") {
				t.Errorf("no policy action %s in:\n%s", cfg.Quarantine.Action[tc.criticality], pv)
			}
			if !strings.Contains(pv, "<td>"+level) {
				t.Errorf("not enforced at %s:\n%s", level, pv)
			}
			if strings.Contains(pv, "waits for approval") != tc.approval {
				t.Errorf("isolate waits for approval: %v, want %v:\n%s", !tc.approval, tc.approval, pv)
			}
			kept := section(t, pv, "<th scope=\"row\">Kept open</th>", "</tr>")
			wantKept := ess
			if level == quarantine.LevelIsolate {
				wantKept = nil
			}
			if got := flowLinks(kept); !slices.Equal(got, wantKept) {
				t.Errorf("kept open %v, want %v", got, wantKept)
			}
		})
	}
}
