package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/policy"
)

// labVendorDrivers are the drivers whose targets the lab serves with the
// fakes (examples/lab/netfakes).
var labVendorDrivers = []string{"cisco_iosxe", "arista_eos", "juniper_junos"}

// labNetfakesTargets is what netfakes serves: target name -> driver, from
// the configuration lab.sh wrote for it.
func labNetfakesTargets(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(labState, "netfakes.conf"))
	if err != nil {
		t.Fatalf("the lab serves no network-OS targets: %v (lab.sh up writes netfakes.conf when the policy has some)", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			fields := strings.Split(line, "\t")
			out[fields[0]] = fields[1]
		}
	}
	return out
}

// resetNetfakes stops netfakes and brings the lab up again, which starts
// it afresh: every fake back to its factory configuration, so nothing an
// earlier test left (a port in the quarantine VLAN) is read here.
func resetNetfakes(t *testing.T) {
	t.Helper()
	pidfile := filepath.Join(labState, "run", "netfakes.pid")
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("netfakes is not running: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", pidfile, err)
	}
	if cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); !strings.Contains(string(cmdline), "netfakes") {
		t.Fatalf("pid %d in %s is not netfakes (%q)", pid, pidfile, cmdline)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("netfakes (pid %d) did not stop on SIGTERM", pid)
		}
	}
	if out, err := exec.Command("bash", "../../examples/lab/lab.sh", "up").CombinedOutput(); err != nil {
		t.Fatalf("lab.sh up after stopping netfakes: %v\n%s", err, out)
	}
}

// labVendorDevice is an inventory device on a port of a vendor target.
type labVendorDevice struct {
	name, target, driver, port string
}

// labVendorDevices picks, for each vendor driver, the first device of the
// inventory on a port of a target of that driver, preferring one whose
// criticality is low or medium (an isolate of those needs no approval
// unless the device takes part in essential flows).
func labVendorDevices(t *testing.T, cfg *policy.Config, served map[string]string) []labVendorDevice {
	t.Helper()
	f, err := os.Open(exampleInventory)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	best := map[string]labVendorDevice{}
	low := map[string]bool{}
	for _, r := range rows[1:] {
		target := r[col["switch"]]
		tg := cfg.Targets[target]
		if tg == nil || served[target] == "" || r[col["port"]] == "" {
			continue
		}
		d := labVendorDevice{name: r[col["name"]], target: target, driver: tg.Driver, port: r[col["port"]]}
		isLow := r[col["criticality"]] == "low" || r[col["criticality"]] == "medium"
		if _, seen := best[d.driver]; !seen || (isLow && !low[d.driver]) {
			best[d.driver], low[d.driver] = d, isLow
		}
	}
	var out []labVendorDevice
	for _, drv := range labVendorDrivers {
		if d, ok := best[drv]; ok {
			out = append(out, d)
		}
	}
	return out
}

// samePort says whether a port named as the inventory names it (Gi1/0/5,
// Et7, ge-0/0/1) is the port a driver reports (GigabitEthernet1/0/5): the
// same number, and a type the inventory's abbreviates.
func samePort(inv, dev string) bool {
	split := regexp.MustCompile(`^([A-Za-z-]+)([0-9].*)$`)
	a, b := split.FindStringSubmatch(inv), split.FindStringSubmatch(dev)
	if a == nil || b == nil {
		return inv == dev
	}
	return a[2] == b[2] && strings.HasPrefix(strings.ToLower(b[1]), strings.ToLower(a[1]))
}

// labReadQuarantine dials target as ward does and reads the quarantine in
// force on it with its driver: the VLAN (home VLAN) of the port the
// inventory names, 0 when that port is not in the quarantine VLAN.
func labReadQuarantine(t *testing.T, cfg *policy.Config, target, port string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tg := cfg.Targets[target]
	info, ok := newRegistry().Lookup(tg.Driver)
	if !ok {
		t.Fatalf("driver %s is not registered", tg.Driver)
	}
	d, err := info.New(tg.Options)
	if err != nil {
		t.Fatalf("target %s: %v", target, err)
	}
	qr, ok := d.(drivers.QuarantineReader)
	if !ok {
		t.Fatalf("driver %s reads no quarantine (drivers.QuarantineReader)", tg.Driver)
	}
	s, err := dialer(cfg)(ctx, target)
	if err != nil {
		t.Fatalf("dialing %s: %v", target, err)
	}
	defer s.Close()
	q, err := qr.ReadQuarantine(ctx, s)
	if err != nil {
		t.Fatalf("reading the quarantine on %s: %v", target, err)
	}
	for p, home := range q.Ports {
		if samePort(port, p) {
			if home == 0 {
				return -1
			}
			return home
		}
	}
	return 0
}

// quarantineJSON is what ward quarantine / approve / release -json print.
type quarantineJSON struct {
	Quarantine struct {
		ID           int64  `json:"id"`
		Level        string `json:"level"`
		Status       string `json:"status"`
		PendingLevel string `json:"pending_level"`
		EnforceError string `json:"enforce_error"`
		SwitchTarget string `json:"switch_target"`
		SwitchPort   string `json:"switch_port"`
		HomeVLAN     int    `json:"home_vlan"`
	} `json:"quarantine"`
	Message string `json:"message"`
}

func runWardJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errs := runWard(t, args...)
	if code != 0 {
		t.Fatalf("ward %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("ward %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestLabVendorTargets applies the example policy through ward apply (its
// dialer, netsession, the pinned known_hosts, the credential store) to
// every Cisco IOS-XE, Arista EOS and Juniper Junos target the lab serves
// with netfakes, checks ward drift finds them in sync, then isolates a
// device on an access port of each vendor (ward quarantine), reads the
// port in the quarantine VLAN off the fake with the driver's own
// ReadQuarantine, and releases it (ward release): the port is back.
func TestLabVendorTargets(t *testing.T) {
	needLab(t)
	resetNetfakes(t)
	_, pol, db := labWorkspace(t)
	cfg, diags := (&cli{}).loadPolicy(pol)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	served := labNetfakesTargets(t)

	// Every vendor target of the policy is served, on the policy's address.
	var targets []string
	for name, tg := range cfg.Targets {
		if !slices.Contains(labVendorDrivers, tg.Driver) {
			continue
		}
		if served[name] != tg.Driver {
			t.Errorf("target %s (%s, %s) is not served by the lab's netfakes (served: %v)", name, tg.Driver, tg.Address, served)
			continue
		}
		targets = append(targets, name)
	}
	slices.Sort(targets)
	if len(targets) == 0 || t.Failed() {
		t.Fatalf("no vendor targets to test (served: %v)", served)
	}
	var only []string
	for _, name := range targets {
		only = append(only, "-target", name)
	}

	code, out, errs := runWard(t, append([]string{"apply", "-policy", pol, "-db", db, "-auto-approve"}, only...)...)
	if code != 0 {
		t.Fatalf("apply to %v: exit %d\n%s%s", targets, code, out, errs)
	}
	results := out[strings.LastIndex(out, "Apply results:"):]
	for _, name := range targets {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s+applied\b`).MatchString(results) {
			t.Errorf("apply: target %s not reported applied:\n%s", name, results)
		}
	}

	var drift []struct{ Target, Status string }
	runWardJSON(t, &drift, append([]string{"drift", "-policy", pol, "-db", db, "-json"}, only...)...)
	if len(drift) != len(targets) {
		t.Errorf("drift reports %d targets, want %d: %+v", len(drift), len(targets), drift)
	}
	for _, d := range drift {
		if d.Status != "in_sync" {
			t.Errorf("drift right after apply: %s is %s", d.Target, d.Status)
		}
	}

	devices := labVendorDevices(t, cfg, served)
	var got []string
	for _, d := range devices {
		got = append(got, d.driver)
	}
	if !slices.Equal(got, labVendorDrivers) {
		t.Errorf("devices on ports of %v only, want one on each of %v", got, labVendorDrivers)
	}
	for _, dev := range devices {
		t.Run(dev.driver, func(t *testing.T) {
			if v := labReadQuarantine(t, cfg, dev.target, dev.port); v != 0 {
				t.Fatalf("%s port %s is in the quarantine VLAN before any quarantine (home %d)", dev.target, dev.port, v)
			}
			var q quarantineJSON
			runWardJSON(t, &q, "quarantine", dev.name, "-level", "isolate", "-reason", "lab vendor test", "-policy", pol, "-db", db, "-json")
			if q.Quarantine.PendingLevel == "isolate" {
				runWardJSON(t, &q, "approve", strconv.FormatInt(q.Quarantine.ID, 10), "-reason", "lab vendor test", "-policy", pol, "-db", db, "-json")
			}
			if q.Quarantine.Level != "isolate" || q.Quarantine.EnforceError != "" || q.Quarantine.SwitchTarget != dev.target || q.Quarantine.SwitchPort != dev.port {
				t.Fatalf("quarantine of %s: %+v (%s); want isolate on %s port %s, enforced", dev.name, q.Quarantine, q.Message, dev.target, dev.port)
			}
			if home := labReadQuarantine(t, cfg, dev.target, dev.port); home != q.Quarantine.HomeVLAN {
				t.Fatalf("after ward quarantine, %s reads port %s in the quarantine VLAN with home VLAN %d, want %d (0: not in the quarantine VLAN)",
					dev.target, dev.port, home, q.Quarantine.HomeVLAN)
			}

			var r quarantineJSON
			runWardJSON(t, &r, "release", dev.name, "-policy", pol, "-db", db, "-json")
			if r.Quarantine.Status != "released" {
				t.Fatalf("release of %s: %+v (%s)", dev.name, r.Quarantine, r.Message)
			}
			if v := labReadQuarantine(t, cfg, dev.target, dev.port); v != 0 {
				t.Errorf("after ward release, %s still has port %s in the quarantine VLAN (home VLAN %d)", dev.target, dev.port, v)
			}
		})
	}

	var after []struct{ Target, Status string }
	runWardJSON(t, &after, append([]string{"drift", "-policy", pol, "-db", db, "-json"}, only...)...)
	for _, d := range after {
		if d.Status != "in_sync" {
			t.Errorf("drift after quarantine and release: %s is %s", d.Target, d.Status)
		}
	}
}
