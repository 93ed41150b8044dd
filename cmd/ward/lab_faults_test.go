package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
)

// labRuleset is the inet ward table running on the lab firewall.
func labRuleset(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", "ward-fw", "nft", "list", "table", "inet", "ward").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table inet ward on the lab firewall: %v: %s", err, out)
	}
	return string(out)
}

func labVsctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ovs-vsctl", append([]string{"--timeout=30"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ovs-vsctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// editPolicy rewrites one file of a policy directory.
func editPolicy(t testing.TB, pol, file string, edit func(string) string) {
	t.Helper()
	path := filepath.Join(pol, file)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	after := edit(string(b))
	if after == string(b) {
		t.Fatalf("the edit of %s changed nothing", file)
	}
	if err := os.WriteFile(path, []byte(after), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLabFaults: drift is repaired by apply -refresh; a wrong host key is
// refused with nothing pushed while the other target applies; an SSH
// connection dropped mid-apply leaves the previous ruleset in force.
func TestLabFaults(t *testing.T) {
	needLab(t)
	dir, pol, db := labWorkspace(t)
	both := []string{"-target", "core-fw", "-target", "access-ovs"}
	apply := func(args ...string) (int, string) {
		t.Helper()
		code, out, errs := runWard(t, append(append([]string{"apply", "-policy", pol, "-db", db, "-auto-approve"}, both...), args...)...)
		return code, out + errs
	}
	if code, out := apply(); code != 0 {
		t.Fatalf("first apply: exit %d\n%s", code, out)
	}

	t.Run("drift-repaired-by-refresh", func(t *testing.T) {
		applied := labRuleset(t)
		chain := regexp.MustCompile(`chain (\w+) \{`).FindStringSubmatch(applied)
		if chain == nil {
			t.Fatalf("no chain in the applied table:\n%s", applied)
		}
		if out, err := exec.Command("ip", "netns", "exec", "ward-fw", "nft", "flush", "chain", "inet", "ward", chain[1]).CombinedOutput(); err != nil {
			t.Fatalf("flushing chain %s by hand: %v: %s", chain[1], err, out)
		}
		port := labDevices(t)[0].name
		portName := labVsctl(t, "--bare", "--columns=name", "find", "port", "external_ids:ward-device="+port)
		labVsctl(t, "set", "port", portName, "tag=42")

		if code, out, _ := runWard(t, append([]string{"drift", "-policy", pol, "-db", db}, both...)...); code != 1 ||
			!strings.Contains(out, "core-fw        drift") || !strings.Contains(out, "access-ovs     drift") {
			t.Fatalf("drift after changes by hand: exit %d, want both targets drifted\n%s", code, out)
		}
		// Without -refresh, the plan compares with the last apply: nothing to do.
		if code, out := apply(); code != 0 || !strings.Contains(out, "Nothing to apply") {
			t.Fatalf("apply without -refresh: exit %d, want nothing to apply\n%s", code, out)
		}
		code, out := apply("-refresh")
		if code != 0 || strings.Count(out, "drifted: its running configuration was changed outside Ward") != 2 {
			t.Fatalf("apply -refresh: exit %d, want both targets shown drifted and repaired\n%s", code, out)
		}
		if code, out, _ := runWard(t, append([]string{"drift", "-policy", pol, "-db", db}, both...)...); code != 0 {
			t.Fatalf("drift after apply -refresh: exit %d\n%s", code, out)
		}
		if got := labRuleset(t); got != applied {
			t.Errorf("after the repair the firewall runs a different table than applied before")
		}
		if tag := labVsctl(t, "get", "port", portName, "tag"); tag == "42" {
			t.Errorf("port %s is still in VLAN 42 after the repair", portName)
		}
	})

	t.Run("wrong-host-key-other-target-applies", func(t *testing.T) {
		before := labRuleset(t)
		// A known_hosts pinning a different key for the firewall's address.
		kh := filepath.Join(dir, "wrong_known_hosts")
		key := filepath.Join(dir, "wrongkey")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
		pub, _ := os.ReadFile(key + ".pub")
		f := strings.Fields(string(pub))
		os.WriteFile(kh, []byte("10.250.61.2 "+f[0]+" "+f[1]+"\n"), 0o644)
		editPolicy(t, pol, "targets.hcl", func(s string) string {
			return regexp.MustCompile(`(?s)(target "core-fw" \{.*?known_hosts\s*=\s*)"[^"]*"`).ReplaceAllString(s, `${1}"`+kh+`"`)
		})
		// A change for each target: a flow less (firewall), another
		// quarantine VLAN (switch).
		editPolicy(t, pol, "flows.hcl", func(s string) string {
			return regexp.MustCompile(`(?s)\nflow "guest_to_internet" \{.*?\n\}\n`).ReplaceAllString(s, "\n")
		})
		editPolicy(t, pol, "quarantine.hcl", func(s string) string {
			return strings.Replace(s, "vlan              = 999", "vlan              = 998", 1)
		})

		code, out := apply()
		if code != 1 {
			t.Fatalf("apply with a wrong host key: exit %d, want 1\n%s", code, out)
		}
		for _, want := range []string{"host key", "ward target trust core-fw", "1 of 2 target(s) not applied"} {
			if !strings.Contains(out, want) {
				t.Errorf("apply output does not say %q:\n%s", want, out)
			}
		}
		if !regexp.MustCompile(`access-ovs\s+applied`).MatchString(out) || !regexp.MustCompile(`core-fw\s+failed`).MatchString(out) {
			t.Errorf("want core-fw failed and access-ovs applied:\n%s", out)
		}
		if got := labRuleset(t); got != before {
			t.Error("the firewall's table changed although its host key was refused")
		}
		if got := labVsctl(t, "get", "open_vswitch", ".", "external_ids:ward-quarantine-vlan"); strings.Trim(got, `"`) != "998" {
			t.Errorf("access-ovs quarantine VLAN = %s, want 998: the other target must apply", got)
		}
	})

	t.Run("ssh-dropped-mid-apply", func(t *testing.T) {
		// Trust the firewall again; the policy still differs from what it runs.
		editPolicy(t, pol, "targets.hcl", func(s string) string {
			return regexp.MustCompile(`(?s)(target "core-fw" \{.*?known_hosts\s*=\s*)"[^"]*"`).ReplaceAllString(s, `${1}"/etc/ward/known_hosts"`)
		})
		for _, at := range []string{"printf", "sudo -n nft -c", "sudo -n nft -f"} {
			t.Run(strings.ReplaceAll(at, " ", "_"), func(t *testing.T) {
				before := labRuleset(t)
				ctx := context.Background()
				var errs bytes.Buffer
				c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errs}
				st, ok := c.openStore(ctx, db)
				if !ok {
					t.Fatal(errs.String())
				}
				defer st.Close()
				p, cfg, ok := c.makePlan(ctx, st, pol, []string{"core-fw"}, false)
				if !ok || len(p.Changed()) != 1 {
					t.Fatalf("plan for core-fw: ok %v, %d changed\n%s", ok, len(p.Changed()), errs.String())
				}
				dial := dialer(cfg)
				var killed int
				drop := func(ctx context.Context, name string) (drivers.Session, error) {
					s, err := dial(ctx, name)
					if err != nil {
						return nil, err
					}
					return &dropAt{Session: s, prefix: at, drop: func() { killed = killSSHSessions(t, "ward-fw") }}, nil
				}
				results, err := plan.Apply(ctx, p, newRegistry(), st, drop, "test", 1)
				if err != nil {
					t.Fatal(err)
				}
				if killed == 0 {
					t.Fatalf("no SSH session to the firewall was killed at %q", at)
				}
				if len(results) != 1 || results[0].Status != "failed" {
					t.Fatalf("results %+v, want core-fw failed", results)
				}
				msg := results[0].Error
				if at == "sudo -n nft -f" {
					if !strings.Contains(msg, "either the previous table or the new one is in force") {
						t.Errorf("a drop during nft -f: error %q, want it to say either table may be in force", msg)
					}
				} else if !strings.Contains(msg, "nothing was changed") {
					t.Errorf("a drop before nft -f: error %q, want it to say nothing was changed", msg)
				}
				if got := labRuleset(t); got != before {
					t.Errorf("the firewall's table changed although the connection dropped before nft -f ran")
				}
				if code, out, _ := runWard(t, "drift", "-policy", pol, "-db", db, "-target", "core-fw"); code != 0 {
					t.Errorf("drift after the failed apply: exit %d, want the last applied table still in force\n%s", code, out)
				}
				assertApplyRecordedFailure(t, st)
			})
		}
		// And the next apply goes through.
		if code, out := apply(); code != 0 {
			t.Fatalf("apply after the faults: exit %d\n%s", code, out)
		}
	})
}

// assertApplyRecordedFailure checks the last apply run was stored as failed.
func assertApplyRecordedFailure(t *testing.T, st *store.Store) {
	t.Helper()
	var run store.ApplyRun
	if err := st.DB.Order("id desc").Take(&run).Error; err != nil {
		t.Fatal(err)
	}
	if run.Status != "failed" || !strings.Contains(run.Summary, "core-fw") {
		t.Errorf("last apply run: status %q summary %s; want failed, naming core-fw", run.Status, run.Summary)
	}
}

// dropAt kills the SSH connection just before sending the first command
// that starts with prefix, and then sends it (on a dead connection).
type dropAt struct {
	drivers.Session
	prefix string
	drop   func()
	once   sync.Once
}

func (d *dropAt) Run(ctx context.Context, cmd string) (string, error) {
	if strings.HasPrefix(cmd, d.prefix) {
		d.once.Do(d.drop)
	}
	return d.Session.Run(ctx, cmd)
}

// killSSHSessions kills the per-connection sshd processes of the ward user
// inside network namespace ns (not the listener), as a dropped link would
// end them, and returns how many it killed.
func killSSHSessions(t *testing.T, ns string) int {
	t.Helper()
	var want syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &want); err != nil {
		t.Fatal(err)
	}
	nsLink := fmt.Sprintf("net:[%d]", want.Ino)
	procs, _ := filepath.Glob("/proc/[0-9]*")
	n := 0
	for _, p := range procs {
		link, err := os.Readlink(p + "/ns/net")
		if err != nil || link != nsLink {
			continue
		}
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if !regexp.MustCompile(`^sshd(-session)?: ward\b`).Match(cmdline) {
			continue
		}
		var pid int
		fmt.Sscanf(filepath.Base(p), "%d", &pid)
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}
