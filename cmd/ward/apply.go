package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/netsession"
	"github.com/wardnet/ward/drivers/sshsession"
	"github.com/wardnet/ward/internal/credentials"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/jobs"
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
	reg := newRegistry()
	return func(ctx context.Context, name string) (drivers.Session, error) {
		t := cfg.Targets[name]
		if t == nil {
			return nil, fmt.Errorf("target %q is not in the policy", name)
		}
		if t.RenderOnly {
			return nil, fmt.Errorf("target %q has push = false: Ward never connects to it", name)
		}
		c, err := creds.Load(t.Credential)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", name, err)
		}
		st := sshsession.Target{Name: t.Name, Address: t.Address, Port: t.Port, Username: t.Username,
			KnownHosts: t.KnownHosts, Timeout: 15 * time.Second}
		sc := sshsession.Credential{PrivateKey: c.PrivateKey, Password: c.Password}
		// A network OS speaks through scrapligo's network driver with the
		// platform definition its driver supplies; Linux hosts get a shell.
		if info, ok := reg.Lookup(t.Driver); ok && info.Platform != nil {
			st.Timeout = 30 * time.Second
			return netsession.Dial(ctx, st, sc, info.Platform)
		}
		return sshsession.Dial(ctx, st, sc)
	}
}

// makePlan loads the policy and inventory and plans against the store.
// With refresh it reads each target's running configuration, so a target
// changed by hand is planned (and applied) again.
func (c *cli) makePlan(ctx context.Context, st *store.Store, dir string, only []string, refresh bool) (*plan.Plan, *policy.Config, bool) {
	cfg, ok := c.planPolicy(dir)
	if !ok {
		return nil, nil, false
	}
	p, ok := c.buildPlan(ctx, st, cfg, dir, only, refresh)
	return p, cfg, ok
}

// planPolicy loads the policy in dir for a plan, printing its diagnostics;
// with errors there is no plan.
func (c *cli) planPolicy(dir string) (*policy.Config, bool) {
	cfg, diags := c.loadPolicy(dir)
	if len(diags) > 0 {
		c.printDiags(cfg, diags)
	}
	if diags.HasErrors() {
		fmt.Fprintf(c.stderr, "%s found in %s; no plan was made.\n", countSeverities(diags), dir)
		return nil, false
	}
	return cfg, true
}

// buildPlan plans cfg, loaded from dir by planPolicy, against the store's
// inventory (see makePlan).
func (c *cli) buildPlan(ctx context.Context, st *store.Store, cfg *policy.Config, dir string, only []string, refresh bool) (*plan.Plan, bool) {
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward: %v\n", err)
		return nil, false
	}
	opts := plan.Options{PolicyDir: dir, GitCommit: policy.GitCommit(dir), Store: st, Drivers: newRegistry(), Only: only}
	if refresh {
		opts.Refresh, opts.Owner = dialer(cfg), targetOwner(st)
	}
	p, diags := plan.Build(ctx, cfg, devices, opts)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return nil, false
	}
	return p, true
}

func runApply(c *cli, args []string) int {
	cl := c.command("apply", "[PLANFILE] [-auto-approve] [-allow-essential-change -reason TEXT] [-refresh] [-target NAME]... [-parallel N] [-policy DIR] [-db URL] | -cancel RUN")
	dir := cl.String("policy", "./policy", "policy directory (for a saved plan: the plan is made again from it and must match)")
	auto := cl.Bool("auto-approve", false, "apply without asking")
	allowEssential := cl.Bool("allow-essential-change", false, "apply although the plan loses a flow marked essential; needs -reason (both recorded in the audit log)")
	reason := cl.String("reason", "", "why a person judged an essential change safe for patients (required with -allow-essential-change)")
	parallel := cl.Int("parallel", plan.DefaultParallel, "targets pushed at once (each reported as it finishes)")
	refresh := cl.Bool("refresh", false, "read each target's running configuration first, and push again to any that was changed outside Ward (repairs drift)")
	cancel := cl.Uint64("cancel", 0, "cancel what is left of apply run `RUN` (ward status lists them): its targets whose push has not started are skipped; a running push ends")
	var only targetList
	cl.Var(&only, "target", "apply only this target (repeatable)")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if *cancel != 0 {
		if len(pos) != 0 {
			fmt.Fprintln(c.stderr, "ward apply -cancel RUN takes no plan file")
			return 2
		}
		return c.cancelApply(cl, *cancel, *dir)
	}
	if *allowEssential && strings.TrimSpace(*reason) == "" {
		fmt.Fprintln(c.stderr, "ward apply: -allow-essential-change needs -reason TEXT: say why a person judged the change safe for patients (it is recorded in the audit log).")
		return 2
	}
	if len(pos) > 1 {
		fmt.Fprintf(c.stderr, "ward apply: one plan file at most, got %d\n", len(pos))
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	signer, ok := c.planSigner("apply")
	if !ok {
		return 1
	}

	var p *plan.Plan
	var cfg *policy.Config
	if len(pos) == 1 {
		var ok bool
		if p, cfg, ok = c.loadSavedPlan(ctx, st, signer, pos[0], cl.FlagSet, *dir, *allowEssential, *reason); !ok {
			return 1
		}
		if a := p.Approval; a != nil {
			fmt.Fprintf(c.stdout, "Essential change approved by %s: %s\n", a.Actor, a.Reason)
		}
	} else {
		var ok bool
		if p, cfg, ok = c.makePlan(ctx, st, *dir, only, *refresh); !ok {
			return 1
		}
		err := plan.Gate(p, *allowEssential, *reason, actor())
		if err := plan.WriteText(c.stdout, p); err != nil {
			return 1
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
			return 1
		}
	}
	unread := 0
	for _, t := range p.Targets {
		if t.RefreshError != "" {
			unread++
		}
	}
	changed := p.Changed()
	if len(changed) == 0 {
		if unread > 0 {
			fmt.Fprintf(c.stdout, "Nothing to apply to the targets that could be read; %d target(s) could not be read, so whether they run this policy is unknown.\n", unread)
			return 1
		}
		fmt.Fprintln(c.stdout, "Nothing to apply: every target already runs this policy.")
		return 0
	}
	if !*auto {
		fmt.Fprintf(c.stdout, "\nApply to %d target(s)? Only 'yes' is accepted: ", len(changed))
		answer, _ := bufio.NewReader(c.stdin).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			fmt.Fprintln(c.stdout, "Apply cancelled; nothing changed.")
			return 1
		}
	}
	if *parallel <= 0 {
		*parallel = plan.DefaultParallel
	}
	fmt.Fprintf(c.stdout, "\nApplying to %d target(s), %d at a time:\n", len(changed), min(*parallel, len(changed)))
	// Each target's push is a job, run here (or by a ward serve sharing
	// the store) under the target's owner; interrupted, the apply stays
	// recorded and its pushes queued for ward serve, and no other apply
	// starts until it is finished or cancelled (ward apply -cancel RUN).
	results, err := plan.ApplyWith(ctx, p, plan.ApplyOptions{Drivers: newRegistry(), Store: st, Dial: dialer(cfg),
		Signer: signer, Actor: actor(), Parallel: *parallel, OnResult: progress(c.stdout, len(changed)),
		OnBusy: func(b *jobs.BusyError) {
			fmt.Fprintf(c.stdout, "  waiting: %v (Ctrl-C stops waiting; the push stays queued for ward serve, and no other apply starts until this one is finished or cancelled: ward apply -cancel RUN, RUN as ward status lists it)\n", b)
		}})
	if err != nil && results == nil {
		fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
		if errors.Is(err, store.ErrPlanStale) || errors.Is(err, store.ErrApplyInProgress) {
			fmt.Fprintln(c.stderr, "Nothing was applied; the plan shown above was not pushed.")
		}
		return 1
	}
	failed := 0
	fmt.Fprintln(c.stdout, "\nApply results:")
	for _, r := range results {
		if r.Status != "applied" && r.Status != "not_pushed" && r.Status != store.ApplyPending {
			failed++
		}
		fmt.Fprintln(c.stdout, "  "+resultLine(r))
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
		return 1
	}
	if failed > 0 {
		fmt.Fprintf(c.stdout, "%d of %d target(s) not applied; the others are. A target that failed keeps its previous configuration unless its line says otherwise (committed, may have reached the device, or either configuration: run ward drift).\n", failed, len(results))
		return 1
	}
	fmt.Fprintf(c.stdout, "Applied to %d target(s).\n", len(results))
	if unread > 0 {
		fmt.Fprintf(c.stdout, "%d target(s) could not be read (see above), so whether they run this policy is unknown.\n", unread)
		return 1
	}
	return 0
}

// cancelApply is ward apply -cancel RUN. The pushes it cannot cancel
// (started, or waiting to retry an attempt that may have reached the
// device) it runs to their end here, with the policy in dir for the
// targets' addresses: no other apply starts while they are pending, and
// without ward serve nothing else would run them.
func (c *cli) cancelApply(cl *cmdline, run uint64, dir string) int {
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	cancelled, running, err := plan.CancelApply(ctx, st, run, actor())
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply -cancel: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Apply run %d: %d target(s) cancelled, nothing sent to them", run, len(cancelled))
	if len(cancelled) > 0 {
		fmt.Fprintf(c.stdout, ": %s", strings.Join(cancelled, ", "))
	}
	fmt.Fprintln(c.stdout, ".")
	if len(running) == 0 {
		return 0
	}
	fmt.Fprintf(c.stdout, "Still pushing, or waiting to retry a push that may have reached the device: %s. Following them to their end (Ctrl-C stops waiting; ward serve, if it runs, finishes them):\n", strings.Join(running, ", "))
	cfg, diags := c.loadPolicy(dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		fmt.Fprintf(c.stderr, "ward apply -cancel: the policy in %s is needed to reach %s; give it with -policy DIR, or let ward serve finish them\n", dir, strings.Join(running, ", "))
		return 1
	}
	results, err := plan.Await(ctx, run, plan.ApplyOptions{Drivers: newRegistry(), Store: st, Dial: dialer(cfg), Actor: actor(),
		OnResult: func(r plan.PushResult) {
			if slices.Contains(running, r.Target) {
				fmt.Fprintln(c.stdout, "  "+resultLine(r))
			}
		}})
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply -cancel: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Apply run %d is finished: %s.\n", run, plan.RunStatus(results))
	return 0
}

// progress prints one line per target as it finishes, numbered in the
// order they finish, so a long apply shows where it is; the sorted
// results follow at the end. plan.Await makes the calls one at a time.
func progress(w io.Writer, total int) func(plan.PushResult) {
	done := 0
	width := len(strconv.Itoa(total))
	return func(r plan.PushResult) {
		done++
		fmt.Fprintf(w, "  [%*d/%d] %s\n", width, done, total, resultLine(r))
	}
}

// resultLine is one target's result: name, status, duration, error.
func resultLine(r plan.PushResult) string {
	line := fmt.Sprintf("%-12s %-8s %s", r.Target, r.Status, r.Duration.Round(time.Millisecond))
	if r.Error != "" {
		line += "  " + r.Error
	}
	return line
}

// planSigner loads the plan-signing key from the credential store
// (WARD_CREDENTIALS_DIR), creating it on first use.
func (c *cli) planSigner(cmd string) (*plan.Signer, bool) {
	s, err := plan.LoadSigner(credentials.FromEnv())
	if err != nil {
		fmt.Fprintf(c.stderr, "ward %s: %v\n", cmd, err)
		return nil, false
	}
	return s, true
}

// targetOwner serialises this process's device I/O per target with every
// other Ward process sharing the store (a lease on SQLite, an advisory lock
// on PostgreSQL): an apply, a refresh or drift read, and ward serve's
// quarantine pushes never overlap on one target. A target held longer
// than jobs.DefaultWait fails with the holder named.
func targetOwner(st *store.Store) plan.Owner {
	return jobs.NewOwner(st, jobs.OwnerOptions{})
}

// loadSavedPlan reads a signed plan file and checks it with
// plan.PrepareApply against the current policy, inventory and
// last-applied state, before any device is contacted. It returns the plan
// to push: the one made again now, which must match the file.
func (c *cli) loadSavedPlan(ctx context.Context, st *store.Store, signer *plan.Signer, path string, fs *flag.FlagSet, dir string, allow bool, reason string) (*plan.Plan, *policy.Config, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
		return nil, nil, false
	}
	policyFlagSet := false
	fs.Visit(func(f *flag.Flag) { policyFlagSet = policyFlagSet || f.Name == "policy" })
	if !policyFlagSet {
		// Only where to look: what is found there must match the plan.
		if p, err := plan.DecodeUnverified(b); err == nil && p.Policy.Dir != "" {
			dir = p.Policy.Dir
		}
	}
	cfg, diags := c.loadPolicy(dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return nil, nil, false
	}
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply: %v\n", err)
		return nil, nil, false
	}
	p, err := plan.PrepareApply(ctx, b, plan.ApplyInputs{Signer: signer, Config: cfg, Devices: devices, Store: st, Drivers: newRegistry(),
		PolicyDir: dir, GitCommit: policy.GitCommit(dir), AllowEssentialChange: allow, Reason: reason, Actor: actor()})
	if err != nil {
		fmt.Fprintf(c.stderr, "ward apply: %s: %v\n", path, err)
		return nil, nil, false
	}
	return p, cfg, true
}

func runDrift(c *cli, args []string) int {
	cl := c.command("drift", "[-policy DIR] [-target NAME]... [-db URL] [-json]")
	dir := cl.String("policy", "./policy", "policy directory (for the targets' addresses and credentials)")
	asJSON := cl.Bool("json", false, "print the result as JSON")
	var only targetList
	cl.Var(&only, "target", "check only this target (repeatable)")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	cfg, diags := c.loadPolicy(*dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return 1
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	driverOf := map[string]string{}
	for name, t := range cfg.Targets {
		if len(only) == 0 || slices.Contains(only, name) {
			driverOf[name] = t.Driver
		}
	}
	drifts, err := plan.CheckDrift(ctx, st, newRegistry(), driverOf, dialer(cfg), targetOwner(st), actor())
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
