package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/api"
	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// planServer is a test server whose plan-signing key and policy holder the
// test can reach.
type planServer struct {
	*testServer
	signer *plan.Signer
	holder *inforce.Holder
	reg    *drivers.Registry
}

func newPlanServer(t *testing.T) *planServer {
	t.Helper()
	ps := &planServer{signer: planSigner(t)}
	ps.testServer = newTestServer(t, func(c *api.Config) {
		c.PlanSigner = ps.signer
		ps.holder, ps.reg = c.Policy, c.Drivers
	})
	return ps
}

func (s *planServer) createPlan(t *testing.T) api.SavedPlan {
	t.Helper()
	r := s.do(t, "POST", "/api/v1/plans", []byte(`{}`), s.as(store.RoleOperator))
	if r.status != 201 {
		t.Fatalf("creating a plan: %d %s", r.status, r.body)
	}
	var p api.SavedPlan
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// apply posts an apply and returns the status and the error code.
func (s *planServer) apply(t *testing.T, id uint64, body string) (int, string, string) {
	t.Helper()
	r := s.do(t, "POST", fmt.Sprintf("/api/v1/plans/%d/apply", id), []byte(body), s.as(store.RoleAdmin))
	var env api.ErrorBody
	json.Unmarshal(r.body, &env)
	return r.status, env.Error.Code, string(r.body)
}

// storedContent reads and writes a plan's stored row as someone with
// write access to the database would.
func (s *planServer) storedContent(t *testing.T, id uint64) []byte {
	t.Helper()
	var row store.Plan
	if err := s.st.DB.Take(&row, id).Error; err != nil {
		t.Fatal(err)
	}
	return []byte(row.Content)
}

func (s *planServer) setContent(t *testing.T, id uint64, content []byte) {
	t.Helper()
	if err := s.st.DB.Model(&store.Plan{}).Where("id = ?", id).Update("content", string(content)).Error; err != nil {
		t.Fatal(err)
	}
}

// edit changes the plan inside a stored row: signed again with signer, or
// with the old signature kept when signer is nil.
func editSigned(t *testing.T, content []byte, change func(p *plan.Plan), signer *plan.Signer) []byte {
	t.Helper()
	var env plan.Signed
	if err := json.Unmarshal(content, &env); err != nil {
		t.Fatal(err)
	}
	var p plan.Plan
	if err := json.Unmarshal(env.Plan, &p); err != nil {
		t.Fatal(err)
	}
	change(&p)
	if signer != nil {
		b, err := signer.Sign(&p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	env.Plan = b
	out, _ := json.Marshal(env)
	return out
}

func firstChanged(t *testing.T, p *plan.Plan, driver string) *plan.TargetPlan {
	t.Helper()
	for _, tp := range p.Changed() {
		if tp.Driver == driver {
			return tp
		}
	}
	t.Fatalf("the plan changes no %s target", driver)
	return nil
}

func (s *planServer) pushes() []string {
	s.targets.mu.Lock()
	defer s.targets.mu.Unlock()
	return append([]string(nil), s.targets.applies...)
}

// TestAPIApplyRefusesTamperedPlans: a stored plan edited in the database
// is refused with 409 before any push, whether the editor kept the old
// signature or could sign again; the stored plan itself is signed and,
// untouched, applies once.
func TestAPIApplyRefusesTamperedPlans(t *testing.T) {
	s := newPlanServer(t)
	saved := s.createPlan(t)
	content := s.storedContent(t, saved.ID)
	if _, err := s.signer.Open(content); err != nil {
		t.Fatalf("the API stored an unsigned or unverifiable plan: %v", err)
	}

	cases := []struct {
		name   string
		change func(p *plan.Plan)
		code   string // when signed again
	}{
		{"config text", func(p *plan.Plan) {
			firstChanged(t, p, "linux_nftables").Config += "add rule inet ward forward accept\n"
		}, plan.RefusedTampered},
		{"driver renamed", func(p *plan.Plan) { firstChanged(t, p, "openvswitch").Driver = "evil_driver" }, plan.RefusedDriver},
		{"base state", func(p *plan.Plan) { firstChanged(t, p, "openvswitch").BaseHash = "feed" }, plan.RefusedStale},
	}
	for _, c := range cases {
		for _, resign := range []*plan.Signer{nil, s.signer} {
			s.setContent(t, saved.ID, editSigned(t, content, c.change, resign))
			want := plan.RefusedSignature
			if resign != nil {
				want = c.code
			}
			if status, code, body := s.apply(t, saved.ID, `{}`); status != 409 || code != want {
				t.Errorf("%s (signed again: %v): %d %s, want 409 %s\n%s", c.name, resign != nil, status, code, want, body)
			}
		}
	}
	var env plan.Signed
	json.Unmarshal(content, &env)
	for name, stored := range map[string][]byte{
		"unsigned (plain plan JSON)": env.Plan,
		"signed with another key":    editSigned(t, content, func(*plan.Plan) {}, planSigner(t)),
	} {
		s.setContent(t, saved.ID, stored)
		if status, code, body := s.apply(t, saved.ID, `{}`); status != 409 || code != plan.RefusedSignature {
			t.Errorf("%s: %d %s, want 409 %s\n%s", name, status, code, plan.RefusedSignature, body)
		}
	}
	if got := s.pushes(); len(got) > 0 {
		t.Fatalf("refused plans pushed to %v", got)
	}

	// Untouched, it applies, and only once.
	s.setContent(t, saved.ID, content)
	if status, _, body := s.apply(t, saved.ID, `{}`); status != 200 {
		t.Fatalf("the untouched plan: %d\n%s", status, body)
	}
	if got := s.pushes(); len(got) != 2 {
		t.Errorf("pushed to %v, want core-fw and access-ovs", got)
	}
	if status, code, _ := s.apply(t, saved.ID, `{}`); status != 409 || code != plan.RefusedStale {
		t.Errorf("applied twice: %d %s, want 409 %s", status, code, plan.RefusedStale)
	}
}

// TestAPIApplyJudgesEssentialItself: a plan that loses an essential flow
// is refused even when its stored essential list was emptied and signed
// again; approved with a reason it applies and the audit log keeps the
// reason.
func TestAPIApplyJudgesEssentialItself(t *testing.T) {
	s := newPlanServer(t)
	first := s.createPlan(t)
	if status, _, body := s.apply(t, first.ID, `{}`); status != 200 {
		t.Fatalf("first apply: %d %s", status, body)
	}
	// The policy in force loses the essential pump_servers_to_pumps flow.
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(examplePolicy, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if filepath.Base(f) == "flows.hcl" {
			b = regexp.MustCompile(`(?s)flow "pump_servers_to_pumps" \{.*?\n\}\n`).ReplaceAll(b, nil)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
	}
	cfg, diags := policy.NewParser(policy.WithDrivers(s.reg.RolesByName())).LoadDir(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := s.holder.Set(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	losing := s.createPlan(t)
	if losing.Plan.Changes == nil || len(losing.Plan.Changes.Essential) == 0 {
		t.Fatal("removing pump_servers_to_pumps loses nothing essential")
	}
	before := len(s.pushes())
	if status, code, _ := s.apply(t, losing.ID, `{}`); status != 409 || code != plan.RefusedEssential {
		t.Errorf("no approval: %d %s, want 409 %s", status, code, plan.RefusedEssential)
	}
	if status, code, _ := s.apply(t, losing.ID, `{"allow_essential_change":true}`); status != 409 || code != plan.RefusedEssential {
		t.Errorf("approval without a reason: %d %s, want 409 %s", status, code, plan.RefusedEssential)
	}
	content := s.storedContent(t, losing.ID)
	s.setContent(t, losing.ID, editSigned(t, content, func(p *plan.Plan) { p.Changes.Essential = nil }, s.signer))
	if status, code, _ := s.apply(t, losing.ID, `{}`); status != 409 || code != plan.RefusedEssential {
		t.Errorf("essential list emptied and signed again: %d %s, want 409 %s", status, code, plan.RefusedEssential)
	}
	if len(s.pushes()) != before {
		t.Fatal("a refused essential change was pushed")
	}
	s.setContent(t, losing.ID, content)
	status, _, body := s.apply(t, losing.ID, `{"allow_essential_change":true,"reason":"pump servers moved; checked with pharmacy"}`)
	if status != 200 {
		t.Fatalf("approved with a reason: %d %s", status, body)
	}
	events, err := s.st.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var approved bool
	for _, e := range events {
		if e.Action == "apply.allow_essential_change" && strings.Contains(fmt.Sprint(e.Detail), "checked with pharmacy") && e.Actor == "token:admin-token" {
			approved = true
		}
	}
	if !approved {
		t.Error("no apply.allow_essential_change event with the admin and the reason")
	}
}

// TestAPIConcurrentAppliesPushOnce: two applies of one plan at once.
// While the first is pushing (held at its targets), the second is refused
// with 409 apply_in_progress, recording no run: no apply starts beside a
// pending one (the essential-flow check judged the plan against a state
// the first is changing). Each target is pushed once.
func TestAPIConcurrentAppliesPushOnce(t *testing.T) {
	s := &planServer{signer: planSigner(t)}
	s.testServer = newTestServer(t, func(c *api.Config) {
		c.PlanSigner = s.signer
		c.Owner = jobs.NewOwner(c.Store, jobs.OwnerOptions{Holder: "test"})
	})
	ctx := context.Background()
	first, id := heldApply(t, s.testServer, ctx)
	released := false
	release := func() {
		if !released {
			released = true
			close(s.targets.hold)
		}
	}
	t.Cleanup(release)
	status, code, body := s.apply(t, id, `{}`)
	if status != 409 || code != "apply_in_progress" || !strings.Contains(body, "cancel") {
		t.Errorf("second apply while the first pushes: %d %s %s; want 409 apply_in_progress, saying how to cancel", status, code, body)
	}
	var runs int64
	if err := s.st.DB.Model(&store.ApplyRun{}).Count(&runs).Error; err != nil {
		t.Fatal(err)
	}
	if runs != 1 {
		t.Errorf("%d apply runs recorded; want the first only", runs)
	}
	release()
	if got := <-first; !strings.HasPrefix(got, "200 ") {
		t.Fatalf("first apply: %s", got)
	}
	if got := s.pushes(); len(got) != 2 {
		t.Errorf("pushes %v: want core-fw and access-ovs once each", got)
	}
	// Once the first is done, the same plan is stale: it applies once.
	if status, code, body := s.apply(t, id, `{}`); status != 409 || code != "plan_stale" {
		t.Errorf("the plan again after it applied: %d %s %s; want 409 plan_stale", status, code, body)
	}
}

// recordingOwner is an Owner that notes every target it is asked for.
type recordingOwner struct {
	mu      sync.Mutex
	targets []string
}

func (o *recordingOwner) Do(ctx context.Context, target, _ string, fn func(context.Context) error) error {
	o.mu.Lock()
	o.targets = append(o.targets, target)
	o.mu.Unlock()
	return fn(ctx)
}

// TestAPIRefreshReadsUnderTheOwner: a plan made with refresh reads each
// target's running configuration while holding that target, as apply and
// drift do, so it never reads a table half-way through someone's push.
func TestAPIRefreshReadsUnderTheOwner(t *testing.T) {
	owner := &recordingOwner{}
	s := &planServer{signer: planSigner(t)}
	s.testServer = newTestServer(t, func(c *api.Config) {
		c.PlanSigner = s.signer
		c.Owner = owner
	})
	// Refresh reads the targets Ward applied and has nothing to change on.
	if status, code, body := s.apply(t, s.createPlan(t).ID, `{}`); status != 200 {
		t.Fatalf("first apply: %d %s %s", status, code, body)
	}
	owner.mu.Lock()
	owner.targets = nil
	owner.mu.Unlock()
	r := s.do(t, "POST", "/api/v1/plans", []byte(`{"targets":["core-fw","access-ovs"],"refresh":true}`), s.as(store.RoleOperator))
	if r.status != 201 {
		t.Fatalf("refresh plan: %d %s", r.status, r.body)
	}
	owner.mu.Lock()
	got := slices.Sorted(slices.Values(owner.targets))
	owner.mu.Unlock()
	if want := []string{"access-ovs", "core-fw"}; !slices.Equal(got, want) {
		t.Errorf("the refresh held %v, want each target read: %v", got, want)
	}
}
