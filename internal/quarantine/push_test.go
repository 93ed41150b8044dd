package quarantine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/localsession"
	"github.com/wardnet/ward/drivers/nftables"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/jobs"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// TestSyncJobsConvergeInAnyOrder: a sync job reads what the store says
// when it runs, so jobs run late, twice or out of order leave the targets
// as the store says — a released quarantine is never put back by an old
// job, and one released before its jobs ran never reaches a target.
func TestSyncJobsConvergeInAnyOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	out, err := e.m.Quarantine(ctx, Request{Device: "tv-netlab-01", Level: LevelIsolate, Actor: "alice"})
	if err != nil || out.EnforceError != "" {
		t.Fatalf("quarantine: %v %+v", err, out)
	}
	if !e.f.in(intent.IsolateSet, tvIP) || e.f.port("p-guest1") != 999 {
		t.Fatalf("not enforced: calls %v", e.f.calls)
	}
	isolateJobs := e.m.syncJobs(out.Quarantine)
	if got := jobTargets(isolateJobs); !slices.Equal(got, []string{"access-ovs", "core-fw"}) {
		t.Fatalf("jobs for an isolate on targets %v, want the firewall and the device's switch", got)
	}
	if _, err := e.m.Release(ctx, "tv-netlab-01", "alice"); err != nil {
		t.Fatal(err)
	}
	// The isolate's jobs run again, late, twice, in reverse order.
	for range 2 {
		for i := len(isolateJobs) - 1; i >= 0; i-- {
			if err := e.m.runSyncJob(ctx, isolateJobs[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if e.f.in(intent.IsolateSet, tvIP) || e.f.port("p-guest1") != 190 {
		t.Fatalf("an old job re-isolated a released device: isolate set %v, port %d", e.f.in(intent.IsolateSet, tvIP), e.f.port("p-guest1"))
	}

	// A queue worked elsewhere (Jobs): the decision only enqueues. The
	// device is released before its jobs run: they never add it.
	owner := jobs.NewOwner(e.st, jobs.OwnerOptions{})
	q := jobs.NewQueue(e.st, owner, jobs.QueueOptions{})
	e.m.Jobs(q, owner)
	e.f.mu.Lock()
	e.f.calls = nil
	e.f.mu.Unlock()
	r := intake(t, e, genericAlert("late-1", tvIP, "high"))[0]
	if r.Action != LevelIsolate || r.EnforceError != "" {
		t.Fatalf("alert: %+v", r)
	}
	if len(e.f.calls) != 0 {
		t.Fatalf("intake with a worked queue called the targets itself: %v", e.f.calls)
	}
	if _, err := e.m.Release(ctx, "tv-netlab-01", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := q.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.f.calls {
		if strings.Contains(c, "add ") && strings.Contains(c, tvIP) || strings.Contains(c, "vlan 999") {
			t.Errorf("a job for a quarantine released before it ran contained the device: %s", c)
		}
	}
	if e.f.in(intent.IsolateSet, tvIP) || e.f.port("p-guest1") != 190 {
		t.Errorf("after the drain: isolate set %v, port %d", e.f.in(intent.IsolateSet, tvIP), e.f.port("p-guest1"))
	}
	list, _ := e.m.List(ctx, true)
	for _, l := range list {
		if l.EnforceError != "" {
			t.Errorf("quarantine #%d records an enforce error after every job succeeded: %s", l.ID, l.EnforceError)
		}
	}
	// An alert held for a person enforces nothing, open or ended: no job.
	held := store.Quarantine{DeviceID: 1, Status: StatusPending, Level: LevelNotify, PendingLevel: LevelIsolate,
		Addresses: tvIP, SwitchTarget: "access-ovs", SwitchPort: "p-guest1", HomeVLAN: 190}
	if js := e.m.syncJobs(held); len(js) != 0 {
		t.Errorf("a held quarantine made jobs %+v", js)
	}
	held.Status = StatusExpired
	if js := e.m.syncJobs(held); len(js) != 0 {
		t.Errorf("a held quarantine that expired unapproved made jobs %+v", js)
	}
}

func jobTargets(js []store.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Target)
	}
	slices.Sort(out)
	return out
}

// wardQuarantineSets is Ward's nftables table as far as quarantine needs
// it: the four sets the linux_nftables driver renders.
const wardQuarantineSets = `table inet ward {
	set quarantine_isolate_v4 { type ipv4_addr; flags interval; comment "ward quarantine: apply keeps its members"; }
	set quarantine_isolate_v6 { type ipv6_addr; flags interval; comment "ward quarantine: apply keeps its members"; }
	set quarantine_restrict_v4 { type ipv4_addr; flags interval; comment "ward quarantine: apply keeps its members"; }
	set quarantine_restrict_v6 { type ipv6_addr; flags interval; comment "ward quarantine: apply keeps its members"; }
}
`

// realFirewall makes a network namespace whose nftables hold Ward's
// quarantine sets, and returns its name.
func realFirewall(t testing.TB) string {
	t.Helper()
	drivertest.NeedCommand(t, "nft", "nftables")
	ns := drivertest.Netns(t)
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(wardQuarantineSets)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("loading the quarantine sets into %s: %v: %s", ns, err, out)
	}
	return ns
}

// setMembers reads the members of one of the firewall's sets.
func setMembers(t testing.TB, ns, set string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "set", "inet", "ward", set).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list set %s in %s: %v: %s", set, ns, err, out)
	}
	_, elems, ok := strings.Cut(string(out), "elements = {")
	if !ok {
		return nil
	}
	elems, _, _ = strings.Cut(elems, "}")
	var members []string
	for _, e := range strings.Split(elems, ",") {
		if e = strings.TrimSpace(e); e != "" {
			members = append(members, e)
		}
	}
	return members
}

// realRegistry is linux_nftables for real; the other drivers are known by
// name and role only (their targets hold no quarantine here).
func realRegistry() *drivers.Registry {
	reg := &drivers.Registry{}
	nftables.Register(reg)
	reg.Register(drivers.Info{Name: "openvswitch", Roles: []drivers.Role{drivers.RoleAccessSwitch}})
	for _, n := range []string{"cisco_iosxe", "arista_eos", "juniper_junos"} {
		reg.Register(drivers.Info{Name: n, Roles: []drivers.Role{drivers.RoleFirewall, drivers.RoleAccessSwitch}})
	}
	return reg
}

// realManager builds a Manager over st with the example policy (edited by
// edit), real drivers and dial.
func realManager(t testing.TB, st *store.Store, dial DialFunc, edit func(*policy.Config)) (*Manager, *policy.Config) {
	t.Helper()
	reg := realRegistry()
	cfg, diags := policy.NewParser(policy.WithDrivers(reg.RolesByName())).LoadDir(examplePolicy)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if edit != nil {
		edit(cfg)
	}
	m, err := New(context.Background(), Options{Store: st, Policy: inforce.New(cfg, nil, nil), Drivers: reg, Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, cfg
}

// netnsDial dials core-fw as a session into the namespace ns; other
// targets do not answer until ctx ends.
func netnsDial(ns string) DialFunc {
	return func(ctx context.Context, target string) (drivers.Session, error) {
		if target == "core-fw" {
			return localsession.New(localsession.Options{Netns: ns}), nil
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
}

const killChildEnv = "WARD_TEST_KILL_CHILD_DB"

// TestKilledBetweenCommitAndPush: a Ward process records a quarantine and
// is killed (SIGKILL) before any push reaches the firewall — its dials
// never answer — while its queue holds the firewall's owner. A new process on the
// same store, running only its job queue (no reconcile), enforces the
// quarantine on a real nftables firewall: the push was committed with the
// decision, and the dead process's hold on the target is let go. SQLite
// (a lease whose holder's pid is gone) and PostgreSQL (an advisory lock
// released with the connection).
func TestKilledBetweenCommitAndPush(t *testing.T) {
	drivertest.NeedRoot(t, "nft in a network namespace")
	for name, url := range dbKinds(t) {
		t.Run(name, func(t *testing.T) { killedBetweenCommitAndPush(t, url(t)) })
	}
}

func killedBetweenCommitAndPush(t *testing.T, url string) {
	ns := realFirewall(t)
	st := seededStore(t, url)

	child, stdout, stderr := startChild(t, t.Context(), "TestKillChild", killChildEnv, url)
	committed, dialling := make(chan string, 1), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "COMMITTED "); ok {
				committed <- line
			}
			if sc.Text() == "DIALLING core-fw" {
				close(dialling)
			}
		}
		close(committed)
	}()
	select {
	case id, ok := <-committed:
		if !ok {
			child.Wait()
			t.Fatalf("the child exited without committing a quarantine:\n%s", stderr.String())
		}
		t.Logf("child committed quarantine #%s", id)
	case <-time.After(time.Minute):
		child.Process.Kill()
		t.Fatalf("the child committed nothing within a minute:\n%s", stderr.String())
	}
	// Killed while its queue holds core-fw and dials it for the push.
	select {
	case <-dialling:
	case <-time.After(30 * time.Second):
		child.Process.Kill()
		t.Fatalf("the child's queue never started the push to core-fw:\n%s", stderr.String())
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	if slices.Contains(setMembers(t, ns, "quarantine_isolate_v4"), tvIP) {
		t.Fatal("the killed process pushed the quarantine: the test did not kill it between commit and push")
	}
	pending, err := st.ListJobs(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(pending, func(j store.Job) bool {
		return j.Kind == SyncJobKind && j.Target == "core-fw" && (j.Status == store.JobQueued || j.Status == store.JobRunning)
	}) {
		t.Fatalf("no quarantine job for core-fw survived the kill: %+v", pending)
	}

	// The restart: only the job queue runs.
	m, _ := realManager(t, st, netnsDial(ns), nil)
	owner := jobs.NewOwner(st, jobs.OwnerOptions{})
	q := jobs.NewQueue(st, owner, jobs.QueueOptions{Deadline: 5 * time.Second})
	m.Jobs(q, owner)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx) }()
	defer func() { cancel(); <-done }()
	start := time.Now()
	for !slices.Contains(setMembers(t, ns, "quarantine_isolate_v4"), tvIP) {
		if time.Since(start) > 20*time.Second {
			jobs, _ := st.ListJobs(t.Context(), "")
			t.Fatalf("20 s after the restart the firewall's isolate set does not hold %s; jobs %+v", tvIP, jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("enforced %s after the restart", time.Since(start).Round(time.Millisecond))
}

// TestKillChild is the process TestKilledBetweenCommitAndPush kills; it
// does nothing on its own.
func TestKillChild(t *testing.T) {
	url := os.Getenv(killChildEnv)
	if url == "" {
		t.Fatal("run only as the child process of TestKilledBetweenCommitAndPush")
	}
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	// Every dial hangs: the push never happens.
	m, _ := realManager(t, st, func(ctx context.Context, target string) (drivers.Session, error) {
		fmt.Printf("DIALLING %s\n", target)
		<-ctx.Done()
		return nil, ctx.Err()
	}, nil)
	owner := jobs.NewOwner(st, jobs.OwnerOptions{})
	q := jobs.NewQueue(st, owner, jobs.QueueOptions{})
	m.Jobs(q, owner)
	go q.Run(context.Background())
	out, err := m.Quarantine(context.Background(), Request{Device: "tv-netlab-01", Level: LevelIsolate, Actor: "child"})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("COMMITTED %d\n", out.Quarantine.ID)
	select {} // until killed
}
