package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// quarantineManager opens the store, loads the policy and builds the
// quarantine manager the quarantine commands share. Its decisions are the
// store's transactions, the same ones ward serve runs, so a command and a
// server (or two commands) acting on one device at once cannot both act.
func (c *cli) quarantineManager(ctx context.Context, dir, db string, enforce bool) (*quarantine.Manager, *store.Store, bool) {
	cfg, diags := c.loadPolicy(dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return nil, nil, false
	}
	return c.newManager(ctx, inforce.New(cfg, nil, nil), db, enforce, nil)
}

// newManager opens the store and builds a quarantine manager reading the
// policy in force from holder; edit, when set, adjusts its options.
func (c *cli) newManager(ctx context.Context, holder *inforce.Holder, db string, enforce bool, edit func(*quarantine.Options)) (*quarantine.Manager, *store.Store, bool) {
	st, ok := c.openStore(ctx, db)
	if !ok {
		return nil, nil, false
	}
	opts := quarantine.Options{Store: st, Policy: holder, Drivers: newRegistry()}
	if enforce {
		opts.Dial = func(ctx context.Context, name string) (drivers.Session, error) {
			return dialer(holder.Load().Config)(ctx, name)
		}
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
	cl := c.command("quarantine", "DEVICE [-level restrict|isolate] [-ttl D] [-reason TEXT] [-policy DIR] [-db URL]")
	level := cl.String("level", "isolate", "restrict (keep only essential flows) or isolate (quarantine VLAN, remediation only)")
	ttl := cl.String("ttl", "", "how long it lasts, e.g. 30m, 4h, 7d (default: the policy's ttl for the level)")
	reason := cl.String("reason", "", "why (recorded and shown)")
	dir := cl.String("policy", "./policy", "policy directory")
	asJSON := cl.Bool("json", false, "print the result as JSON")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
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
	ctx := cl.context()
	m, st, ok := c.quarantineManager(ctx, *dir, *cl.db, true)
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
		if q.ExpiresAt != nil && (q.Status == quarantine.StatusActive || q.Status == quarantine.StatusPending) {
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
	cl := c.command("release", "DEVICE [-policy DIR] [-db URL]")
	dir := cl.String("policy", "./policy", "policy directory")
	asJSON := cl.Bool("json", false, "print the result as JSON")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "ward release: name one device: ward release DEVICE")
		return 2
	}
	ctx := cl.context()
	m, st, ok := c.quarantineManager(ctx, *dir, *cl.db, true)
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
	cl := c.command("approve", "ID... | -all-pending [-reason TEXT] [-policy DIR] [-db URL]")
	reason := cl.String("reason", "", "why it is safe (recorded with each approval)")
	comment := cl.String("comment", "", "the same as -reason")
	allPending := cl.Bool("all-pending", false, "approve every quarantine waiting for a person (ward quarantines -status pending lists them)")
	dir := cl.String("policy", "./policy", "policy directory")
	asJSON := cl.Bool("json", false, "print the result as JSON")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	var ids []uint64
	for _, p := range pos {
		id, err := strconv.ParseUint(strings.TrimPrefix(p, "#"), 10, 64)
		if err != nil {
			fmt.Fprintf(c.stderr, "ward approve: %q is not a quarantine ID (ward quarantines -status pending lists them)\n", p)
			return 2
		}
		ids = append(ids, id)
	}
	if (len(ids) == 0) == !*allPending {
		fmt.Fprintln(c.stderr, "ward approve: give quarantine IDs or -all-pending, not both (ward quarantines -status pending lists them)")
		return 2
	}
	why := *reason
	if *comment != "" {
		why = strings.TrimSpace(why + " " + *comment)
	}
	ctx := cl.context()
	m, st, ok := c.quarantineManager(ctx, *dir, *cl.db, true)
	if !ok {
		return 1
	}
	defer st.Close()
	defer m.Close()
	if len(ids) == 1 {
		out, err := m.Approve(ctx, ids[0], actor(), why)
		if err != nil {
			fmt.Fprintf(c.stderr, "ward approve: %v\n", err)
			return 1
		}
		return c.printOutcome(out, *asJSON)
	}
	list, err := m.ApprovePending(ctx, ids, *allPending, actor(), why)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward approve: %v\n", err)
		return 1
	}
	if *asJSON {
		c.printJSON(list)
	}
	code = 0
	for _, a := range list {
		switch {
		case a.Error != "":
			fmt.Fprintf(c.stderr, "ward approve: #%d: %s\n", a.ID, a.Error)
			code = 1
		case a.Outcome.EnforceError != "":
			code = 1
			fallthrough
		default:
			if !*asJSON {
				c.printOutcome(a.Outcome, false)
			}
		}
	}
	if len(list) == 0 && !*asJSON {
		fmt.Fprintln(c.stdout, "No quarantine waits for a person.")
	}
	return code
}

func runQuarantines(c *cli, args []string) int {
	cl := c.command("quarantines", "[-status open|pending|active|released|expired|all] [-all] [-json] [-policy DIR] [-db URL]")
	all := cl.Bool("all", false, "also list released and expired quarantines (the same as -status all)")
	status := cl.String("status", "open", "which: open (active and pending), pending (waiting for a person: held by the storm guard or a level waiting for approval), active, released, expired or all")
	dir := cl.String("policy", "./policy", "policy directory")
	asJSON := cl.Bool("json", false, "print the list as JSON")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	which := *status
	switch {
	case *all:
		which = "all"
	case which == "open":
		which = ""
	}
	ctx := cl.context()
	m, st, ok := c.quarantineManager(ctx, *dir, *cl.db, false)
	if !ok {
		return 1
	}
	defer st.Close()
	list, err := m.ListStatus(ctx, which)
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
