package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/sshsession"
	"github.com/wardnet/ward/internal/credentials"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// targetList is a repeatable -target flag.
type targetList []string

func (l *targetList) String() string     { return strings.Join(*l, ",") }
func (l *targetList) Set(v string) error { *l = append(*l, v); return nil }

// dialer connects to a policy's targets over SSH with their credentials
// and pinned host keys.
func dialer(cfg *policy.Config) plan.DialFunc {
	creds := credentials.FromEnv()
	return func(ctx context.Context, name string) (drivers.Session, error) {
		t := cfg.Targets[name]
		if t == nil {
			return nil, fmt.Errorf("target %q is not in the policy", name)
		}
		c, err := creds.Load(t.Credential)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", name, err)
		}
		return sshsession.Dial(ctx, sshsession.Target{Name: t.Name, Address: t.Address, Port: t.Port, Username: t.Username,
			KnownHosts: t.KnownHosts, Timeout: 15 * time.Second}, sshsession.Credential{PrivateKey: c.PrivateKey, Password: c.Password})
	}
}

// makePlan loads the policy and inventory and plans against the store.
// With refresh it reads each target's running configuration, so a target
// changed by hand is planned (and applied) again.
func (c *cli) makePlan(ctx context.Context, st *store.Store, dir string, only []string, refresh bool) (*plan.Plan, *policy.Config, bool) {
	cfg, diags := c.loadPolicy(dir)
	if len(diags) > 0 {
		c.printDiags(cfg, diags)
	}
	if diags.HasErrors() {
		fmt.Fprintf(c.stderr, "%s found in %s; no plan was made.\n", countSeverities(diags), dir)
		return nil, nil, false
	}
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward: %v\n", err)
		return nil, nil, false
	}
	opts := plan.Options{PolicyDir: dir, GitCommit: policy.GitCommit(dir), Store: st, Drivers: newRegistry(), Only: only}
	if refresh {
		opts.Refresh = dialer(cfg)
	}
	p, diags := plan.Build(ctx, cfg, devices, opts)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return nil, nil, false
	}
	return p, cfg, true
}

func runApply(c *cli, args []string) int {
	fs := c.newFlagSet("apply", "[PLANFILE] [-auto-approve] [-allow-essential-change] [-refresh] [-target NAME]... [-policy DIR] [-db URL]")
	dir := fs.String("policy", "./policy", "policy directory (for a saved plan: checked against the plan's hash)")
	auto := fs.Bool("auto-approve", false, "apply without asking")
	allowEssential := fs.Bool("allow-essential-change", false, "apply although the plan removes or narrows a flow marked essential (recorded in the audit log)")
	parallel := fs.Int("parallel", 4, "targets pushed at once")
	refresh := fs.Bool("refresh", false, "read each target's running configuration first, and push again to any that was changed outside Ward (repairs drift)")
	var only targetList
	fs.Var(&only, "target", "apply only this target (repeatable)")
	db := dbFlag(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	ctx := context.Background()
	st, ok := c.openStore(ctx, *db)
	if !ok {
		return 1
	}
	defer st.Close()

	var p *plan.Plan
	var cfg *policy.Config
	if len(pos) == 1 {
		var ok bool
		if p, cfg, ok = c.loadSavedPlan(ctx, st, pos[0], fs, *dir); !ok {
			return 1
		}
	} else {
		var ok bool
		if p, cfg, ok = c.makePlan(ctx, st, *dir, only, *refresh); !ok {
			return 1
		}
		if err := plan.WriteText(c.stdout, p); err != nil {
			return 1
		}
	}
	if p.Blocked {
		fmt.Fprintln(c.stderr, "Refusing to apply a blocked plan.")
		return 1
	}
	changed := p.Changed()
	if len(changed) == 0 {
		fmt.Fprintln(c.stdout, "Nothing to apply: every target already runs this policy.")
		return 0
	}
	if p.Changes != nil && len(p.Changes.Essential) > 0 {
		if !*allowEssential {
			fmt.Fprintf(c.stderr, "Refusing: this plan removes or narrows %d essential flow(s) (listed at the top of the plan). If a person has checked that patients are safe, run again with -allow-essential-change.\n", len(p.Changes.Essential))
			return 1
		}
		if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: actor(), Action: "apply.allow_essential_change", Object: p.Policy.Hash,
			Detail: p.Changes.Essential}); err != nil {
			fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
			return 1
		}
	}
	if !*auto {
		fmt.Fprintf(c.stdout, "\nApply to %d target(s)? Only 'yes' is accepted: ", len(changed))
		answer, _ := bufio.NewReader(c.stdin).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			fmt.Fprintln(c.stdout, "Apply cancelled; nothing changed.")
			return 1
		}
	}
	results, err := plan.Apply(ctx, p, newRegistry(), st, dialer(cfg), actor(), *parallel)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
		return 1
	}
	failed := 0
	fmt.Fprintln(c.stdout, "\nApply results:")
	for _, r := range results {
		line := fmt.Sprintf("  %-12s %-8s %s", r.Target, r.Status, r.Duration.Round(time.Millisecond))
		if r.Error != "" {
			line += "  " + r.Error
			failed++
		}
		fmt.Fprintln(c.stdout, line)
	}
	if failed > 0 {
		fmt.Fprintf(c.stdout, "%d of %d target(s) not applied; the others are. A target that failed keeps its previous configuration.\n", failed, len(results))
		return 1
	}
	fmt.Fprintf(c.stdout, "Applied to %d target(s).\n", len(results))
	return 0
}

// loadSavedPlan reads a plan file and refuses it if the policy or the
// inventory changed since it was made.
func (c *cli) loadSavedPlan(ctx context.Context, st *store.Store, path string, fs *flag.FlagSet, dir string) (*plan.Plan, *policy.Config, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
		return nil, nil, false
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		fmt.Fprintf(c.stderr, "ward apply: %s is not a plan file: %v\n", path, err)
		return nil, nil, false
	}
	if p.FormatVersion != plan.FormatVersion {
		fmt.Fprintf(c.stderr, "ward apply: %s has plan format %q; this Ward reads %q. Run ward plan -out again.\n", path, p.FormatVersion, plan.FormatVersion)
		return nil, nil, false
	}
	policyFlagSet := false
	fs.Visit(func(f *flag.Flag) { policyFlagSet = policyFlagSet || f.Name == "policy" })
	if !policyFlagSet && p.Policy.Dir != "" {
		dir = p.Policy.Dir
	}
	cfg, diags := c.loadPolicy(dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return nil, nil, false
	}
	if h := cfg.ContentHash(); h != p.Policy.Hash {
		fmt.Fprintf(c.stderr, "Refusing %s: the policy in %s changed since the plan was made (hash %s, plan %s). Run ward plan -out again and review it.\n", path, dir, h[:12], p.Policy.Hash[:12])
		return nil, nil, false
	}
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
		return nil, nil, false
	}
	if h := plan.InventoryHash(devices); h != p.Inventory.Hash {
		fmt.Fprintf(c.stderr, "Refusing %s: the inventory changed since the plan was made. Run ward plan -out again and review it.\n", path)
		return nil, nil, false
	}
	return &p, cfg, true
}

func runDrift(c *cli, args []string) int {
	fs := c.newFlagSet("drift", "[-policy DIR] [-target NAME]... [-db URL] [-json]")
	dir := fs.String("policy", "./policy", "policy directory (for the targets' addresses and credentials)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var only targetList
	fs.Var(&only, "target", "check only this target (repeatable)")
	db := dbFlag(fs)
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, diags := c.loadPolicy(*dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return 1
	}
	ctx := context.Background()
	st, ok := c.openStore(ctx, *db)
	if !ok {
		return 1
	}
	defer st.Close()
	driverOf := map[string]string{}
	for name, t := range cfg.Targets {
		if len(only) == 0 || slices.Contains(only, name) {
			driverOf[name] = t.Driver
		}
	}
	drifts, err := plan.CheckDrift(ctx, st, newRegistry(), driverOf, dialer(cfg))
	if err != nil {
		fmt.Fprintf(c.stderr, "ward drift: %v\n", err)
		return 1
	}
	bad := 0
	for _, d := range drifts {
		if d.Status == "drift" || d.Status == "error" {
			bad++
		}
	}
	if *asJSON {
		c.printJSON(drifts)
	} else {
		for _, d := range drifts {
			fmt.Fprintf(c.stdout, "%-14s %s %s\n", d.Target, d.Status, d.Error)
			if d.Diff != "" {
				fmt.Fprint(c.stdout, d.Diff)
			}
		}
	}
	if bad > 0 {
		return 1
	}
	return 0
}
