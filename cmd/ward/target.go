package main

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers/sshsession"
	"github.com/wardnet/ward/internal/store"
	"golang.org/x/crypto/ssh"
)

func runTarget(c *cli, args []string) int {
	if len(args) == 0 || args[0] != "trust" {
		fmt.Fprintln(c.stderr, "Usage: ward target trust NAME [-policy DIR] [-yes] [-db URL]")
		return 2
	}
	return runTargetTrust(c, args[1:])
}

// runTargetTrust records a target's SSH host key in its known_hosts after
// showing the fingerprint, so Ward can connect with the key pinned.
func runTargetTrust(c *cli, args []string) int {
	cl := c.command("target trust", "NAME [-policy DIR] [-yes] [-db URL]")
	dir := cl.String("policy", "./policy", "policy directory that declares the target")
	yes := cl.Bool("yes", false, "trust the key without asking (only when the fingerprint was checked out of band)")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) != 1 {
		cl.Usage()
		return 2
	}
	cfg, diags := c.loadPolicy(*dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return 1
	}
	t, found := cfg.Targets[pos[0]]
	if !found {
		fmt.Fprintf(c.stderr, "ward target trust: the policy in %s has no target %q\n", *dir, pos[0])
		return 1
	}
	if t.KnownHosts == "" {
		fmt.Fprintf(c.stderr, "ward target trust: target %q names no known_hosts file; add known_hosts = \"/etc/ward/known_hosts\" to it\n", t.Name)
		return 1
	}
	ctx := cl.context()
	key, err := sshsession.FetchHostKey(ctx, t.Address, t.Port, 10*time.Second)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward target trust %s: %v\n", t.Name, err)
		return 1
	}
	fp := ssh.FingerprintSHA256(key)
	known, err := sshsession.KnownKeys(t.KnownHosts, t.Address, t.Port)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward target trust %s: %v\n", t.Name, err)
		return 1
	}
	for _, k := range known {
		if ssh.FingerprintSHA256(k) == fp {
			fmt.Fprintf(c.stdout, "Target %s (%s:%d) is already trusted: %s %s\n", t.Name, t.Address, t.Port, key.Type(), fp)
			return 0
		}
	}
	fmt.Fprintf(c.stdout, "Target %s at %s:%d presents host key\n  %s %s\n", t.Name, t.Address, t.Port, key.Type(), fp)
	for _, k := range known {
		fmt.Fprintf(c.stdout, "It REPLACES the key on file in %s:\n  %s %s\n", t.KnownHosts, k.Type(), ssh.FingerprintSHA256(k))
	}
	if !*yes {
		fmt.Fprint(c.stdout, "Compare the fingerprint with the device's console (ssh-keygen -lf on its host key). Trust it? [y/N] ")
		answer, _ := bufio.NewReader(c.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(c.stdout, "Not trusted; nothing changed.")
			return 1
		}
	}
	_, st, ok := cl.open()
	if !ok {
		return 1
	}
	replaced, err := sshsession.Trust(t.KnownHosts, t.Address, t.Port, key)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward target trust %s: writing %s: %v\n", t.Name, t.KnownHosts, err)
		return 1
	}
	if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: actor(), Action: "target.trust", Object: t.Name,
		Detail: map[string]any{"address": t.Address, "port": t.Port, "key_type": key.Type(), "fingerprint": fp, "replaced": replaced, "known_hosts": t.KnownHosts}}); err != nil {
		fmt.Fprintf(c.stderr, "ward target trust %s: the key was recorded but the audit log failed: %v\n", t.Name, err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Trusted: %s %s recorded in %s for %s:%d.\n", key.Type(), fp, t.KnownHosts, t.Address, t.Port)
	return 0
}
