package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// quarantineManager opens the store, loads the policy and builds the
// quarantine manager the quarantine commands share.
func (c *cli) quarantineManager(ctx context.Context, dir, db string, enforce bool) (*quarantine.Manager, *store.Store, bool) {
	cfg, diags := c.loadPolicy(dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return nil, nil, false
	}
	m, st, ok := c.newManager(ctx, cfg, db, enforce, nil)
	return m, st, ok
}

// newManager opens the store and builds a quarantine manager for cfg;
// edit, when set, adjusts its options.
func (c *cli) newManager(ctx context.Context, cfg *policy.Config, db string, enforce bool, edit func(*quarantine.Options)) (*quarantine.Manager, *store.Store, bool) {
	st, ok := c.openStore(ctx, db)
	if !ok {
		return nil, nil, false
	}
	opts := quarantine.Options{Store: st, Config: cfg, Drivers: newRegistry()}
	if enforce {
		opts.Dial = quarantine.DialFunc(dialer(cfg))
	}
	if edit != nil {
		edit(&opts)
	}
	m, err := quarantine.New(ctx, opts)
	if err != nil {
		st.Close()
		fmt.Fprintf(c.stderr, "ward: %v\n", err)
		return nil, nil, false
	}
	return m, st, true
}

func runQuarantine(c *cli, args []string) int {
	fs := c.newFlagSet("quarantine", "DEVICE [-level restrict|isolate] [-ttl D] [-reason TEXT] [-policy DIR] [-db URL]")
	level := fs.String("level", "isolate", "restrict (keep only essential flows) or isolate (quarantine VLAN, remediation only)")
	ttl := fs.String("ttl", "", "how long it lasts, e.g. 30m, 4h, 7d (default: the policy's ttl for the level)")
	reason := fs.String("reason", "", "why (recorded and shown)")
	dir := fs.String("policy", "./policy", "policy directory")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	db := dbFlag(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "ward quarantine: name one device: ward quarantine DEVICE [-level restrict|isolate]")
		return 2
	}
	var d time.Duration
	if *ttl != "" {
		var err error
		if d, err = policy.ParseTTL(*ttl); err != nil || d <= 0 {
			fmt.Fprintf(c.stderr, "ward quarantine: -ttl %q is not a positive duration; write it like 30m, 4h or 7d\n", *ttl)
			return 2
		}
	}
	ctx := context.Background()
	m, st, ok := c.quarantineManager(ctx, *dir, *db, true)
	if !ok {
		return 1
	}
	defer st.Close()
	defer m.Close()
	out, err := m.Quarantine(ctx, quarantine.Request{Device: pos[0], Level: *level, TTL: d, Reason: *reason, Actor: actor()})
	if err != nil {
		fmt.Fprintf(c.stderr, "ward quarantine: %v\n", err)
		return 1
	}
	return c.printOutcome(out, *asJSON)
}

func (c *cli) printOutcome(out *quarantine.Outcome, asJSON bool) int {
	if asJSON {
		c.printJSON(out)
	} else {
		q := out.Quarantine
		fmt.Fprintf(c.stdout, "Quarantine #%d of %s: %s", q.ID, out.Device, q.Level)
		if q.PendingLevel != "" {
			fmt.Fprintf(c.stdout, " (%s waits for approval: ward approve %d)", q.PendingLevel, q.ID)
		}
		if q.ExpiresAt != nil && q.Status == quarantine.StatusActive {
			fmt.Fprintf(c.stdout, ", until %s", q.ExpiresAt.Local().Format(time.DateTime))
		}
		fmt.Fprintf(c.stdout, "\n  %s\n", out.Message)
		if out.EnforceError != "" {
			fmt.Fprintf(c.stdout, "  NOT fully enforced (ward serve retries): %s\n", out.EnforceError)
		}
	}
	if out.EnforceError != "" {
		return 1
	}
	return 0
}

func runRelease(c *cli, args []string) int {
	fs := c.newFlagSet("release", "DEVICE [-policy DIR] [-db URL]")
	dir := fs.String("policy", "./policy", "policy directory")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	db := dbFlag(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "ward release: name one device: ward release DEVICE")
		return 2
	}
	ctx := context.Background()
	m, st, ok := c.quarantineManager(ctx, *dir, *db, true)
	if !ok {
		return 1
	}
	defer st.Close()
	defer m.Close()
	out, err := m.Release(ctx, pos[0], actor())
	if err != nil {
		fmt.Fprintf(c.stderr, "ward release: %v\n", err)
		return 1
	}
	return c.printOutcome(out, *asJSON)
}

func runApprove(c *cli, args []string) int {
	fs := c.newFlagSet("approve", "ID [-comment TEXT] [-policy DIR] [-db URL]")
	comment := fs.String("comment", "", "why it is safe (recorded)")
	dir := fs.String("policy", "./policy", "policy directory")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	db := dbFlag(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	var id uint64
	var err error
	if len(pos) == 1 {
		id, err = strconv.ParseUint(strings.TrimPrefix(pos[0], "#"), 10, 64)
	}
	if len(pos) != 1 || err != nil {
		fmt.Fprintln(c.stderr, "ward approve: give one quarantine ID (ward quarantines lists them)")
		return 2
	}
	ctx := context.Background()
	m, st, ok := c.quarantineManager(ctx, *dir, *db, true)
	if !ok {
		return 1
	}
	defer st.Close()
	defer m.Close()
	out, err := m.Approve(ctx, id, actor(), *comment)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward approve: %v\n", err)
		return 1
	}
	return c.printOutcome(out, *asJSON)
}

func runQuarantines(c *cli, args []string) int {
	fs := c.newFlagSet("quarantines", "[-all] [-json] [-policy DIR] [-db URL]")
	all := fs.Bool("all", false, "also list released and expired quarantines")
	dir := fs.String("policy", "./policy", "policy directory")
	asJSON := fs.Bool("json", false, "print the list as JSON")
	db := dbFlag(fs)
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ctx := context.Background()
	m, st, ok := c.quarantineManager(ctx, *dir, *db, false)
	if !ok {
		return 1
	}
	defer st.Close()
	list, err := m.List(ctx, *all)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward quarantines: %v\n", err)
		return 1
	}
	if *asJSON {
		if list == nil {
			list = []quarantine.Listed{}
		}
		return c.printJSON(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "No quarantines.")
		return 0
	}
	fmt.Fprintf(c.stdout, "%-5s %-24s %-9s %-9s %-9s %-19s %s\n", "ID", "DEVICE", "STATUS", "LEVEL", "PENDING", "EXPIRES", "REASON")
	for _, q := range list {
		exp := ""
		if q.ExpiresAt != nil {
			exp = q.ExpiresAt.Local().Format(time.DateTime)
		}
		reason := q.Reason
		if q.EnforceError != "" {
			reason = "NOT ENFORCED: " + q.EnforceError + "; " + reason
		}
		fmt.Fprintf(c.stdout, "%-5d %-24s %-9s %-9s %-9s %-19s %s\n", q.ID, q.Device, q.Status, q.Level, q.PendingLevel, exp, reason)
	}
	return 0
}
