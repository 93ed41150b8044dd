package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/plan"
)

// labLogins counts the logins the lab's sshd of target has logged
// (LogLevel VERBOSE: one "Accepted publickey" line per session).
func labLogins(t *testing.T, target string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(labState, "logs", "sshd-"+target+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "Accepted publickey")
}

// TestLabTamperedPlanTouchesNothing: against the lab's real firewall and
// switch, a saved plan whose configuration was edited — keeping the old
// signature, or signed again with the installation's key — and one whose
// driver was renamed exit 1 with no login in either sshd's log and the
// firewall's ruleset unchanged; the plan as saved then applies, and the
// logs show its logins (the control).
func TestLabTamperedPlanTouchesNothing(t *testing.T) {
	needLab(t)
	dir, pol, db := labWorkspace(t)
	targets := []string{"-target", "core-fw", "-target", "access-ovs"}
	saved := filepath.Join(dir, "saved.plan")
	if code, out, errs := runWard(t, append([]string{"plan", "-policy", pol, "-db", db, "-out", saved}, targets...)...); code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	ruleset := func() string {
		out, err := exec.Command("ip", "netns", "exec", "ward-fw", "nft", "list", "ruleset").CombinedOutput()
		if err != nil {
			t.Fatalf("nft list ruleset on the lab firewall: %v: %s", err, out)
		}
		return string(out)
	}
	before, fw, sw := ruleset(), labLogins(t, "core-fw"), labLogins(t, "access-ovs")

	openAll := func(p *plan.Plan) {
		changedOf(t, p, "linux_nftables").Config += "add rule inet ward forward accept\n"
	}
	for name, file := range map[string]string{
		"config edited, old signature": rewrite(t, saved, openAll, false),
		"config edited, signed again":  rewrite(t, saved, openAll, true),
		"driver renamed, signed again": rewrite(t, saved, func(p *plan.Plan) { changedOf(t, p, "openvswitch").Driver = "evil_driver" }, true),
	} {
		code, out, errs := runWard(t, "apply", file, "-auto-approve", "-policy", pol, "-db", db)
		if code != 1 || !strings.Contains(errs, "refusing the plan") {
			t.Errorf("%s: exit %d, want 1 and a refusal\n%s%s", name, code, out, errs)
		}
	}
	if got := labLogins(t, "core-fw") - fw; got != 0 {
		t.Errorf("core-fw's sshd logged %d login(s) during refused applies", got)
	}
	if got := labLogins(t, "access-ovs") - sw; got != 0 {
		t.Errorf("access-ovs's sshd logged %d login(s) during refused applies", got)
	}
	if after := ruleset(); after != before {
		t.Errorf("the firewall's ruleset changed during refused applies")
	}

	if code, out, errs := runWard(t, "apply", saved, "-auto-approve", "-policy", pol, "-db", db); code != 0 {
		t.Fatalf("the plan as saved: exit %d\n%s%s", code, out, errs)
	}
	if labLogins(t, "core-fw") == fw || labLogins(t, "access-ovs") == sw {
		t.Error("the applied plan left no login in the sshd logs: the check above proves nothing")
	}
}
