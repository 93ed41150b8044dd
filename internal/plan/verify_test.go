package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// recorder is a fake fleet: it records every dial and every command sent,
// so a test can tell whether a device was contacted at all.
type recorder struct {
	mu    sync.Mutex
	dials []string
	cmds  []string
	// owned, when set, is asked whether the target is owned at dial time.
	owned func(ctx context.Context, target string) bool
	// unowned lists dials made while the target was not owned.
	unowned []string
}

func (r *recorder) dial(ctx context.Context, target string) (drivers.Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dials = append(r.dials, target)
	if r.owned != nil && !r.owned(ctx, target) {
		r.unowned = append(r.unowned, target)
	}
	return &recSession{r: r, target: target}, nil
}

func (r *recorder) contacted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(append([]string(nil), r.dials...), r.cmds...)
}

type recSession struct {
	r      *recorder
	target string
}

func (s *recSession) Run(_ context.Context, cmd string) (string, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.cmds = append(s.r.cmds, s.target+": "+cmd)
	return "", nil
}
func (s *recSession) Close() error { return nil }

// fakeDriver renders a target's intent as JSON and "applies" by sending
// one command carrying the text.
type fakeDriver struct{}

func (fakeDriver) Render(t *intent.Target) (drivers.Config, error) {
	b, err := json.Marshal(t)
	return drivers.Config{Text: string(b) + "\n"}, err
}
func (fakeDriver) Apply(ctx context.Context, s drivers.Session, cfg drivers.Config) error {
	_, err := s.Run(ctx, "apply "+cfg.Text)
	return err
}
func (fakeDriver) Running(ctx context.Context, s drivers.Session) (drivers.Config, error) {
	_, err := s.Run(ctx, "show running")
	return drivers.Config{}, err
}

func fakeRegistry() *drivers.Registry {
	var r drivers.Registry
	newFake := func(json.RawMessage) (drivers.Driver, error) { return fakeDriver{}, nil }
	both := []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}
	r.Register(drivers.Info{Name: "linux_nftables", Roles: []drivers.Role{drivers.RoleFirewall}, New: newFake})
	r.Register(drivers.Info{Name: "openvswitch", Roles: []drivers.Role{drivers.RoleAccessSwitch}, New: newFake})
	for _, name := range []string{"cisco_iosxe", "arista_eos", "juniper_junos"} {
		r.Register(drivers.Info{Name: name, Roles: both}) // names only
	}
	return &r
}

// fixture is a store with the example inventory, a copy of a policy that a
// test may edit, the fake fleet and a signing key.
type fixture struct {
	t      *testing.T
	dir    string
	st     *store.Store
	reg    *drivers.Registry
	rec    *recorder
	signer *Signer
}

func newFixture(t *testing.T, policyDir string) *fixture {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "policy")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(policyDir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(tmp, "ward.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := inventory.ImportFile(ctx, st, "../../examples/hospital/inventory.csv", inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, dir: dir, st: st, reg: fakeRegistry(), rec: &recorder{}, signer: testSigner(t)}
}

func (f *fixture) inputs() (*policy.Config, []inventory.Device) {
	f.t.Helper()
	cfg, diags := policy.NewParser(policy.WithDrivers(f.reg.RolesByName()), policy.WithClock(fixedNow)).LoadDir(f.dir)
	if diags.HasErrors() {
		f.t.Fatal(diags)
	}
	devices, err := inventory.Active(context.Background(), f.st)
	if err != nil {
		f.t.Fatal(err)
	}
	return cfg, devices
}

func (f *fixture) plan(only ...string) *Plan {
	f.t.Helper()
	cfg, devices := f.inputs()
	p, diags := Build(context.Background(), cfg, devices, Options{PolicyDir: f.dir, Now: fixedNow, Store: f.st, Drivers: f.reg, Only: only})
	if diags.HasErrors() {
		f.t.Fatal(diags)
	}
	return p
}

func (f *fixture) sign(p *Plan) []byte {
	f.t.Helper()
	b, err := f.signer.Sign(p)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) prepare(signed []byte, allow bool, reason string) (*Plan, error) {
	f.t.Helper()
	cfg, devices := f.inputs()
	return PrepareApply(context.Background(), signed, ApplyInputs{Signer: f.signer, Config: cfg, Devices: devices, Store: f.st,
		Drivers: f.reg, PolicyDir: f.dir, Now: fixedNow, AllowEssentialChange: allow, Reason: reason, Actor: "test"})
}

func (f *fixture) apply(p *Plan) []PushResult {
	f.t.Helper()
	res, err := ApplyWith(context.Background(), p, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Signer: f.signer, Actor: "test", Parallel: 2})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != "applied" && r.Status != "skipped" {
			f.t.Fatalf("apply: %+v", res)
		}
	}
	return res
}

// edit rewrites a policy file of the fixture's copy.
func (f *fixture) edit(file string, change func(string) string) {
	f.t.Helper()
	path := filepath.Join(f.dir, file)
	b, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	after := change(string(b))
	if after == string(b) {
		f.t.Fatalf("the edit of %s changed nothing", file)
	}
	if err := os.WriteFile(path, []byte(after), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// removeFlow deletes one flow block from flows.hcl.
func removeFlow(name string) func(string) string {
	re := regexp.MustCompile(`(?s)flow "` + regexp.QuoteMeta(name) + `" \{.*?\n\}\n`)
	return func(s string) string { return re.ReplaceAllString(s, "") }
}

// tamper decodes the plan inside a signed file, changes it, and writes it
// back: signed again with resign when given (someone who holds the key, or
// a bug), else with the old signature left in place.
func tamper(t *testing.T, signed []byte, change func(p *Plan), resign *Signer) []byte {
	t.Helper()
	var env Signed
	if err := json.Unmarshal(signed, &env); err != nil {
		t.Fatal(err)
	}
	var p Plan
	if err := json.Unmarshal(env.Plan, &p); err != nil {
		t.Fatal(err)
	}
	change(&p)
	if resign != nil {
		b, err := resign.Sign(&p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	body, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	env.Plan = body
	b, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func changedTarget(t *testing.T, p *Plan, driver string) *TargetPlan {
	t.Helper()
	for _, tp := range p.Changed() {
		if tp.Driver == driver {
			return tp
		}
	}
	t.Fatalf("the plan changes no %s target", driver)
	return nil
}

func wantRefused(t *testing.T, err error, code string, mention ...string) {
	t.Helper()
	var r *RefusedError
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want a refusal %s", err, code)
	}
	if r.Code != code {
		t.Errorf("refused with %s (%v), want %s", r.Code, r, code)
	}
	for _, m := range mention {
		if !strings.Contains(r.Error(), m) {
			t.Errorf("refusal %q does not mention %q", r.Error(), m)
		}
	}
}

// TestPrepareApplyRefusesTamperedPlans edits a saved plan every way the
// issue names. Left with its old signature, each edit fails the signature;
// signed again with the right key (a key holder, or a bug that trusts the
// file), each still fails the checks made on the plan rebuilt from the
// current inputs. Either way no device is contacted.
func TestPrepareApplyRefusesTamperedPlans(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	good := f.sign(f.plan())

	// A guardrail-denied plan, from the example's bad change.
	bad := newFixture(t, "../../examples/hospital/bad-change")
	bad.signer = f.signer
	blockedPlan := bad.plan()
	if !blockedPlan.Blocked {
		t.Fatal("the bad change is not blocked")
	}
	blocked := bad.sign(blockedPlan)

	cases := []struct {
		name   string
		fx     *fixture
		signed []byte
		change func(p *Plan)
		code   string // when signed again
		naming string
	}{
		{"config text of one target edited", f, good, func(p *Plan) {
			tp := changedTarget(t, p, "linux_nftables")
			tp.Config = strings.Replace(tp.Config, `"ward"`, `"ward-open"`, 1) + "accept all\n"
		}, RefusedTampered, "core-fw"},
		{"blocked flipped to false on a guardrail-denied plan", bad, blocked, func(p *Plan) {
			p.Blocked, p.Reasons, p.Guardrails.Deny = false, []string{}, nil
		}, RefusedBlocked, "guardrail"},
		{"driver renamed to an unregistered one", f, good, func(p *Plan) {
			changedTarget(t, p, "linux_nftables").Driver = "evil_driver"
		}, RefusedDriver, "evil_driver"},
		{"name-only driver marked available", f, good, func(p *Plan) {
			for i := range p.Targets {
				if p.Targets[i].Driver == "cisco_iosxe" {
					p.Targets[i].Unavailable, p.Targets[i].Changed, p.Targets[i].Config = "", true, "conf t\n"
					return
				}
			}
			t.Fatal("no cisco_iosxe target in the example")
		}, RefusedDriver, "cisco_iosxe"},
		{"base state rewritten", f, good, func(p *Plan) {
			changedTarget(t, p, "openvswitch").BaseHash = "0123456789abcdef"
		}, RefusedStale, "access-ovs"},
		{"policy hash rewritten", f, good, func(p *Plan) { p.Policy.Hash = strings.Repeat("0", 64) }, RefusedStale, "policy changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.fx.prepare(tamper(t, c.signed, c.change, nil), false, "")
			wantRefused(t, err, RefusedSignature, "changed after it was signed")
			_, err = c.fx.prepare(tamper(t, c.signed, c.change, c.fx.signer), false, "")
			wantRefused(t, err, c.code, c.naming)
		})
	}
	t.Run("signature removed", func(t *testing.T) {
		_, err := f.prepare(reenvelope(t, good, func(env map[string]any) { delete(env, "signature") }), false, "")
		wantRefused(t, err, RefusedSignature, "no signature")
	})
	t.Run("unsigned plan", func(t *testing.T) {
		var env Signed
		json.Unmarshal(good, &env)
		_, err := f.prepare(env.Plan, false, "")
		wantRefused(t, err, RefusedSignature, "unsigned")
	})
	t.Run("signed with another key", func(t *testing.T) {
		_, err := f.prepare(tamper(t, good, func(*Plan) {}, testSigner(t)), false, "")
		wantRefused(t, err, RefusedSignature, "signed with key")
	})
	t.Run("no signing key", func(t *testing.T) {
		cfg, devices := f.inputs()
		_, err := PrepareApply(context.Background(), good, ApplyInputs{Config: cfg, Devices: devices, Store: f.st, Drivers: f.reg})
		wantRefused(t, err, RefusedSignature)
	})
	for _, fx := range []*fixture{f, bad} {
		if got := fx.rec.contacted(); len(got) > 0 {
			t.Errorf("a refused plan contacted devices: %v", got)
		}
	}
	// And the untouched plan is good.
	if _, err := f.prepare(good, false, ""); err != nil {
		t.Fatalf("the untouched plan was refused: %v", err)
	}
}

// TestPrepareApplyGoodPlanApplies: a plan as saved applies, pushes exactly
// its configurations, and cannot be applied twice.
func TestPrepareApplyGoodPlanApplies(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	saved := f.plan()
	signed := f.sign(saved)
	p, err := f.prepare(signed, false, "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, tp := range saved.Changed() {
		if tp.Unavailable == "" {
			want = append(want, tp.Name+": apply "+tp.Config)
		}
	}
	if len(want) != 2 {
		t.Fatalf("the example should push to core-fw and access-ovs, plan changes %d available targets", len(want))
	}
	f.apply(p)
	got := slices.Clone(f.rec.cmds)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("commands sent:\n%q\nwant the saved plan's configurations:\n%q", got, want)
	}
	// Applied once, its base state is gone: a second apply is refused
	// before any device is contacted.
	n := len(f.rec.contacted())
	_, err = f.prepare(signed, false, "")
	wantRefused(t, err, RefusedStale, "changed by another apply")
	if len(f.rec.contacted()) != n {
		t.Error("the refused second apply contacted a device")
	}
	// The plan recorded for the run is signed.
	rows, _, err := f.st.ListPlans(context.Background(), 10, 0)
	if err != nil || len(rows) != 1 {
		t.Fatalf("recorded plans: %v %v", rows, err)
	}
	if _, err := f.signer.Open([]byte(rows[0].Content)); err != nil {
		t.Errorf("the recorded plan does not verify: %v", err)
	}
}

func TestPrepareApplyRefusesChangedInputs(t *testing.T) {
	t.Run("policy", func(t *testing.T) {
		f := newFixture(t, "../../examples/hospital/policy")
		signed := f.sign(f.plan())
		f.edit("flows.hcl", func(s string) string { return s + "\n# reviewed again\n" })
		_, err := f.prepare(signed, false, "")
		wantRefused(t, err, RefusedStale, "policy changed")
	})
	t.Run("inventory", func(t *testing.T) {
		f := newFixture(t, "../../examples/hospital/policy")
		signed := f.sign(f.plan())
		csv := filepath.Join(t.TempDir(), "more.csv")
		os.WriteFile(csv, []byte("name,mac,ip,class,vendor,model,firmware,criticality,site,location,switch,port\nnew-pc,,10.99.0.5,workstation,,,,low,main,,,\n"), 0o644)
		if _, err := inventory.ImportFile(context.Background(), f.st, csv, inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := f.prepare(signed, false, "")
		wantRefused(t, err, RefusedStale, "inventory changed")
	})
	t.Run("target restricted plan still checked", func(t *testing.T) {
		f := newFixture(t, "../../examples/hospital/policy")
		signed := f.sign(f.plan("core-fw"))
		p, err := f.prepare(signed, false, "")
		if err != nil {
			t.Fatal(err)
		}
		if names := changedNames(p); !slices.Equal(names, []string{"core-fw"}) {
			t.Errorf("a -target core-fw plan would push to %v", names)
		}
		_, err = f.prepare(tamper(t, signed, func(p *Plan) { p.Targets[0].Config += "x" }, f.signer), false, "")
		wantRefused(t, err, RefusedTampered, "core-fw")
	})
}

func changedNames(p *Plan) []string {
	var out []string
	for _, tp := range p.Changed() {
		out = append(out, tp.Name)
	}
	return out
}

// TestPrepareApplyEssentialGate: a plan losing an essential flow is
// judged on the rebuilt plan, so emptying the file's list does not help;
// an approval needs a reason and is recorded on the plan.
func TestPrepareApplyEssentialGate(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	p, err := f.prepare(f.sign(f.plan()), false, "")
	if err != nil {
		t.Fatal(err)
	}
	f.apply(p)
	f.edit("flows.hcl", removeFlow("pump_servers_to_pumps"))
	losing := f.plan()
	if !losing.LosesEssential() {
		t.Fatal("removing pump_servers_to_pumps loses nothing essential")
	}
	signed := f.sign(losing)
	before := len(f.rec.contacted())

	_, err = f.prepare(signed, false, "")
	wantRefused(t, err, RefusedEssential, "-allow-essential-change")
	_, err = f.prepare(signed, true, "  ")
	wantRefused(t, err, RefusedEssential, "reason")
	emptied := func(p *Plan) { p.Changes.Essential = nil }
	_, err = f.prepare(tamper(t, signed, emptied, nil), false, "")
	wantRefused(t, err, RefusedSignature)
	_, err = f.prepare(tamper(t, signed, emptied, f.signer), false, "")
	wantRefused(t, err, RefusedEssential)
	_, err = f.prepare(tamper(t, signed, func(p *Plan) { p.Approval = &Approval{Actor: "mallory", Reason: "trust me"} }, f.signer), false, "")
	wantRefused(t, err, RefusedEssential)
	if len(f.rec.contacted()) != before {
		t.Fatal("a refused essential change contacted a device")
	}

	ok, err := f.prepare(signed, true, "Pump server moved to the new VLAN; checked with pharmacy")
	if err != nil {
		t.Fatal(err)
	}
	if ok.Approval == nil || ok.Approval.Actor != "test" || !strings.Contains(ok.Approval.Reason, "pharmacy") {
		t.Fatalf("approval not recorded on the plan: %+v", ok.Approval)
	}
	f.apply(ok)
	events, err := f.st.ListAudit(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events {
		if e.Action == "apply.finish" && strings.Contains(fmt.Sprint(e.Detail), "pharmacy") {
			found = true
		}
	}
	if !found {
		t.Error("the apply.finish audit event does not carry the approval's reason")
	}
}

// TestApplyUnknownDriverDoesNotCrash: a plan naming a driver this build
// lacks is refused before any device is contacted, without the nil
// dereference it used to cause in the push goroutine.
func TestApplyUnknownDriverDoesNotCrash(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	p := f.plan()
	changedTarget(t, p, "openvswitch").Driver = "no_such_driver"
	_, err := ApplyWith(context.Background(), p, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Actor: "test"})
	if err == nil || !strings.Contains(err.Error(), `"no_such_driver" is not available`) {
		t.Fatalf("err %v, want the unknown driver named", err)
	}
	if _, _, err := ApplyRecorded(context.Background(), 1, p, ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Actor: "test"}); err == nil {
		t.Fatal("ApplyRecorded pushed a plan with an unknown driver")
	}
	if got := f.rec.contacted(); len(got) > 0 {
		t.Errorf("devices contacted: %v", got)
	}
}

// fakeOwner records which targets it holds, for which purpose.
type fakeOwner struct {
	mu       sync.Mutex
	held     map[string]bool
	purposes []string
}

func (o *fakeOwner) Do(ctx context.Context, target, purpose string, fn func(context.Context) error) error {
	o.mu.Lock()
	if o.held[target] {
		o.mu.Unlock()
		return fmt.Errorf("target %s is already held", target)
	}
	o.held[target] = true
	o.purposes = append(o.purposes, target+"/"+purpose)
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.held, target)
		o.mu.Unlock()
	}()
	return fn(ctx)
}

func (o *fakeOwner) holds(target string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held[target]
}

// TestDeviceIOOnlyUnderOwner: apply, refresh and drift contact a target
// only while the owner holds it: refresh and drift the owner given, apply
// its jobs' (internal/jobs.Owner, whose holds carry the target's fence).
func TestDeviceIOOnlyUnderOwner(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	owner := &fakeOwner{held: map[string]bool{}}
	f.rec.owned = func(ctx context.Context, target string) bool {
		_, fenced := drivers.FenceOf(ctx)
		return owner.holds(target) || (fenced && drivers.FenceTarget(ctx) == target)
	}
	ctx := context.Background()
	if _, err := ApplyWith(ctx, f.plan(), ApplyOptions{Drivers: f.reg, Store: f.st, Dial: f.rec.dial, Actor: "test", Parallel: 4}); err != nil {
		t.Fatal(err)
	}
	cfg, devices := f.inputs()
	if _, diags := Build(ctx, cfg, devices, Options{Store: f.st, Drivers: f.reg, Refresh: f.rec.dial, Owner: owner}); diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := CheckDrift(ctx, f.st, f.reg, map[string]string{"core-fw": "linux_nftables", "access-ovs": "openvswitch"}, f.rec.dial, owner, "test"); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.dials) < 6 {
		t.Fatalf("only %d dials: %v", len(f.rec.dials), f.rec.dials)
	}
	if len(f.rec.unowned) > 0 {
		t.Errorf("dialled without owning the target: %v", f.rec.unowned)
	}
	slices.Sort(owner.purposes)
	want := []string{"access-ovs/drift", "access-ovs/refresh", "core-fw/drift", "core-fw/refresh"}
	if !slices.Equal(owner.purposes, want) {
		t.Errorf("owner took %v, want %v", owner.purposes, want)
	}
}

// TestPrepareApplyEssentialByInventory: an inventory edit re-zones a pump
// without touching a rule; the saved plan lists the lost pairs, and a file
// whose list was emptied and signed again is still refused, because the
// gate runs on the plan made again.
func TestPrepareApplyEssentialByInventory(t *testing.T) {
	f := newFixture(t, "../../examples/hospital/policy")
	p, err := f.prepare(f.sign(f.plan()), false, "")
	if err != nil {
		t.Fatal(err)
	}
	f.apply(p)
	b, err := os.ReadFile("../../examples/hospital/inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	const from = "pump-netlab-01,00:1a:2b:3c:4e:a7,10.61.210.241,infusion_pump,BD,"
	if !strings.Contains(string(b), from) {
		t.Fatal("pump-netlab-01 with vendor BD is not in the example inventory")
	}
	edited := filepath.Join(t.TempDir(), "inventory.csv")
	os.WriteFile(edited, []byte(strings.Replace(string(b), from, strings.Replace(from, ",BD,", ",Acme Medical,", 1), 1)), 0o644)
	if _, err := inventory.ImportFile(context.Background(), f.st, edited, inventory.FormatCSV, inventory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	losing := f.plan()
	if len(losing.EssentialLoss) == 0 {
		t.Fatal("re-zoning pump-netlab-01 loses no essential pair")
	}
	signed := f.sign(losing)
	before := len(f.rec.contacted())
	_, err = f.prepare(signed, false, "")
	wantRefused(t, err, RefusedEssential, "pump-netlab-01")
	hide := func(p *Plan) { p.EssentialLoss, p.EssentialLossTotal, p.Endpoints = nil, 0, nil }
	_, err = f.prepare(tamper(t, signed, hide, f.signer), false, "")
	wantRefused(t, err, RefusedEssential, "pump-netlab-01")
	if len(f.rec.contacted()) != before {
		t.Fatal("a refused essential change contacted a device")
	}
	if _, err := f.prepare(signed, true, "pump validated by biomed; checked with pharmacy"); err != nil {
		t.Fatalf("approved with a reason: %v", err)
	}
}

// Parse reads back what Render wrote (JSON); nothing is the empty model.
func (fakeDriver) Parse(cfg drivers.Config) (*intent.Target, error) {
	t := &intent.Target{}
	if strings.TrimSpace(cfg.Text) == "" {
		return t, nil
	}
	return t, json.Unmarshal([]byte(cfg.Text), t)
}
