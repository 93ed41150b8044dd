package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/testenv"
)

const labState = "/run/ward-lab"

// needLab brings up the example lab (root only; with CI=true it must run)
// and takes it down afterwards unless it was already up.
func needLab(t testing.TB) {
	t.Helper()
	testenv.NeedRoot(t, "the lab (network namespaces, nftables, Open vSwitch)")
	lockLab(t)
	wasUp := exec.Command("ip", "netns", "exec", "ward-fw", "true").Run() == nil
	out, err := exec.Command("bash", "../../examples/lab/lab.sh", "up").CombinedOutput()
	if err != nil {
		t.Fatalf("lab.sh up: %v\n%s", err, out)
	}
	if !wasUp {
		t.Cleanup(func() { exec.Command("bash", "../../examples/lab/lab.sh", "down").Run() })
	}
	t.Setenv("WARD_CREDENTIALS_DIR", filepath.Join(labState, "credentials"))
}

// lockLab holds an exclusive lock on the one lab for the rest of the test:
// test binaries of other packages, or other checkouts on this machine, wait
// instead of bringing the lab down under each other.
func lockLab(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile("/run/ward-lab.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // registered first, so it runs after lab.sh down
}

// labWorkspace copies the example policy to a directory of the test's own
// and imports the example inventory into a new store.
func labWorkspace(t testing.TB) (dir, pol, db string) {
	t.Helper()
	dir = t.TempDir()
	db = "sqlite://" + filepath.Join(dir, "ward.db")
	pol = filepath.Join(dir, "policy")
	os.Mkdir(pol, 0o755)
	files, _ := filepath.Glob(filepath.Join(examplePolicy, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(pol, filepath.Base(f)), b, 0o644)
	}
	if code, _, errs := runWard(t, "inventory", "import", exampleInventory, "-db", db); code != 0 {
		t.Fatal(errs)
	}
	return dir, pol, db
}

type labDevice struct {
	name, ns, ip string
	tcp          []string
}

func labDevices(t testing.TB) []labDevice {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(labState, "devices.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []labDevice
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 9 || strings.HasPrefix(line, "#") {
			continue
		}
		d := labDevice{name: f[0], ns: f[1], ip: strings.Split(f[2], "/")[0]}
		for _, p := range strings.Split(f[7], ",") {
			d.tcp = append(d.tcp, strings.Split(p, "-")[0]) // a range: its first port
		}
		out = append(out, d)
	}
	if len(out) < 8 {
		t.Fatalf("the lab has %d devices, want at least 8", len(out))
	}
	return out
}

// probeAgreesWithReach probes every lab device pair on every port the
// destination listens on and checks each result against query reach.
func probeAgreesWithReach(t *testing.T, policyDir, db string) (allowed, denied int) {
	t.Helper()
	ctx := context.Background()
	cfg, diags := (&cli{}).loadPolicy(policyDir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, ok := (&cli{stderr: os.Stderr}).openStore(ctx, db)
	if !ok {
		t.Fatal("store")
	}
	devices, _ := inventory.Active(ctx, st)
	st.Close()
	e, d := engine.New(ctx, cfg, devices)
	if d.HasErrors() {
		t.Fatal(d)
	}
	if _, err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	lab := labDevices(t)
	result := regexp.MustCompile(`^(open|closed) tcp:([0-9.]+):(\d+)`)
	for _, src := range lab {
		var targets []string
		want := map[string]bool{}
		for _, dst := range lab {
			if dst.name == src.name {
				continue
			}
			for _, port := range dst.tcp {
				a, err := e.Reach(engine.ReachQuery{From: src.name, To: dst.name, Service: port + "/tcp"})
				if err != nil {
					t.Fatal(err)
				}
				key := dst.ip + ":" + port
				targets = append(targets, "tcp:"+key)
				want[key] = a.Allowed || a.Monitor
			}
		}
		out, _ := exec.Command("ip", append([]string{"netns", "exec", src.ns, filepath.Join(labState, "bin/labnet"), "probe", "-timeout", "700ms"}, targets...)...).CombinedOutput()
		seen := 0
		for _, line := range strings.Split(string(out), "\n") {
			m := result.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			seen++
			key := m[2] + ":" + m[3]
			open := m[1] == "open"
			if open != want[key] {
				t.Errorf("%s -> %s: probe says %s, query reach says allowed=%v", src.name, key, m[1], want[key])
			}
			if open {
				allowed++
			} else {
				denied++
			}
		}
		if seen != len(targets) {
			t.Fatalf("%s: %d probe results for %d targets:\n%s", src.name, seen, len(targets), out)
		}
	}
	return allowed, denied
}

// TestLabEndToEnd applies the example policy to the lab's real firewall
// and switch over SSH, probes real connections, then removes one essential
// flow and checks the plan, the refusal, the apply and the probes.
func TestLabEndToEnd(t *testing.T) {
	needLab(t)
	dir, pol, db := labWorkspace(t)
	planFile := filepath.Join(dir, "first.plan")
	code, out, errs := runWard(t, "plan", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs", "-out", planFile)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runWard(t, "apply", planFile, "-auto-approve", "-db", db); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	allowed, denied := probeAgreesWithReach(t, pol, db)
	if allowed < 5 || denied < 20 {
		t.Fatalf("probes: %d allowed, %d denied; want at least 5 and 20", allowed, denied)
	}
	if code, out, _ := runWard(t, "drift", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs"); code != 0 {
		t.Fatalf("drift right after apply:\n%s", out)
	}

	// Remove one essential flow: the plan shows exactly that, apply refuses
	// without -allow-essential-change, applies with it, and the probes follow.
	flows := filepath.Join(pol, "flows.hcl")
	b, _ := os.ReadFile(flows)
	re := regexp.MustCompile(`(?s)\nflow "lab_analyzers_to_lis" \{.*?\n\}\n`)
	if !re.Match(b) {
		t.Fatal("flow lab_analyzers_to_lis not found in flows.hcl")
	}
	os.WriteFile(flows, re.ReplaceAll(b, []byte("\n")), 0o644)
	code, out, _ = runWard(t, "plan", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs", "-json")
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil || code != 0 {
		t.Fatalf("second plan: exit %d %v", code, err)
	}
	n := p.Changes.Counts
	if n.FlowsRemoved != 1 || n.FlowsAdded != 0 || n.FlowsChanged != 0 || n.PortsChanged != 0 || len(p.Changes.Essential) != 1 ||
		p.Changes.Essential[0].Flow != "lab_analyzers_to_lis" {
		t.Fatalf("the plan should show exactly the removed essential flow: counts %+v essential %+v", n, p.Changes.Essential)
	}
	code, _, errs = runWard(t, "apply", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs", "-auto-approve")
	if code != 1 || !strings.Contains(errs, "-allow-essential-change") {
		t.Fatalf("apply of an essential removal: exit %d, want a refusal\n%s", code, errs)
	}
	code, out, errs = runWard(t, "apply", "-policy", pol, "-db", db, "-target", "core-fw", "-target", "access-ovs", "-auto-approve", "-allow-essential-change", "-reason", "lab test of an approved essential change")
	if code != 0 {
		t.Fatalf("apply with -allow-essential-change: exit %d\n%s%s", code, out, errs)
	}
	probeAgreesWithReach(t, pol, db)
	if _, out, _ := runWard(t, "audit", "-db", db); !strings.Contains(out, "apply.allow_essential_change") {
		t.Fatal("the essential change was not audited")
	}
	fmt.Fprintln(os.Stderr, "lab e2e:", allowed, "allowed,", denied, "denied probes agree with query reach")
}
