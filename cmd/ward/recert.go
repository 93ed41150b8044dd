package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/recert"
	"github.com/wardnet/ward/internal/store"
)

const recertUsage = "Usage: ward recert start -due 30d [-name N] | list | show ID | decide ID FLOW recertify|expire [-comment TEXT] | close ID   (ward recert SUBCOMMAND -h for flags)"

// runRecert is ward recert: recertification campaigns (internal/recert).
func runRecert(c *cli, args []string) int {
	sub := map[string]func(*cli, []string) int{"start": runRecertStart, "list": runRecertList, "show": runRecertShow, "decide": runRecertDecide, "close": runRecertClose}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(c.stderr, recertUsage)
		return 2
	}
	return sub[args[0]](c, args[1:])
}

func runRecertStart(c *cli, args []string) int {
	cl := c.command("recert start", "-due 30d|YYYY-MM-DD [-name NAME] [-json] [-policy DIR] [-db URL]")
	due := cl.String("due", "", "when the owners must have decided: a duration from now (30d, 72h) or a date (YYYY-MM-DD, UTC)")
	name := cl.String("name", "", "the campaign's name (default: Recertification of TODAY)")
	dir := cl.String("policy", "./policy", "directory holding the policy in force")
	asJSON := cl.Bool("json", false, "print the campaign as JSON")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	if *due == "" {
		fmt.Fprintln(c.stderr, "ward recert start: -due is required: give the owners until a date, such as -due 30d")
		return 2
	}
	cfg, diags := c.loadPolicy(*dir)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		fmt.Fprintf(c.stderr, "%s found in %s; no campaign was started.\n", countSeverities(diags), *dir)
		return 1
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	now := st.Now()
	dueAt, err := recert.ParseDue(*due, now)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward recert start: -due: %v\n", err)
		return 2
	}
	camp, err := recert.Start(ctx, st, inforce.New(cfg, nil, nil).Load(), recert.StartOptions{Name: *name, Due: dueAt, Actor: actor(), Now: now})
	if err != nil {
		fmt.Fprintf(c.stderr, "ward recert start: %v\n", err)
		return 1
	}
	d, err := recert.Show(ctx, st, camp.ID, now)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward recert start: %v\n", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(recertJSON(d))
	}
	fmt.Fprintf(c.stdout, "Started campaign %d %q: %d flows to recertify by %s.\n", d.ID, d.Name, d.Counts.Flows, d.DueAt.Format(time.DateOnly))
	unowned := 0
	for _, it := range d.Items {
		if it.Owner == "" {
			unowned++
		}
	}
	if unowned > 0 {
		fmt.Fprintf(c.stdout, "%d of them have no owner: set owner = \"...\" on those flows so someone answers for them.\n", unowned)
	}
	fmt.Fprintf(c.stdout, "Owners decide with: ward recert decide %d FLOW recertify|expire [-comment TEXT], or on /ui/recert/%d\n", d.ID, d.ID)
	return 0
}

func runRecertList(c *cli, args []string) int {
	cl := c.command("recert list", "[-json] [-db URL]")
	asJSON := cl.Bool("json", false, "print the campaigns as JSON")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	list, err := recert.List(ctx, st, st.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "ward recert list: %v\n", err)
		return 1
	}
	if *asJSON {
		out := []recertCampaignJSON{}
		for _, s := range list {
			out = append(out, recertJSON(&recert.Detail{Summary: s}).recertCampaignJSON)
		}
		return c.printJSON(out)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "No recertification campaigns. Start one with: ward recert start -due 30d")
		return 0
	}
	fmt.Fprintf(c.stdout, "%-5s %-8s %-10s %-6s %-11s %-7s %-7s %-15s %s\n", "ID", "STATUS", "DUE", "FLOWS", "RECERTIFIED", "EXPIRED", "PENDING", "NOT_RECERTIFIED", "NAME")
	for _, s := range list {
		fmt.Fprintf(c.stdout, "%-5d %-8s %-10s %-6d %-11d %-7d %-7d %-15d %s\n", s.ID, s.Status, s.DueAt.Format(time.DateOnly), s.Counts.Flows,
			s.Counts.Recertified, s.Counts.Expired, s.Counts.Pending, s.Counts.NotRecertified, s.Name)
	}
	return 0
}

func runRecertShow(c *cli, args []string) int {
	cl := c.command("recert show", "ID [-json] [-db URL]")
	asJSON := cl.Bool("json", false, "print the campaign and its items as JSON")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	id, ok := campaignID(c, "show", pos, 1)
	if !ok {
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	d, err := recert.Show(ctx, st, id, st.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "ward recert show: %v\n", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(recertJSON(d))
	}
	fmt.Fprintf(c.stdout, "Campaign %d %q: %s, due %s, started by %s at %s over policy %s\n", d.ID, d.Name, d.Status,
		d.DueAt.Format(time.DateOnly), d.CreatedBy, d.CreatedAt.Format(time.DateTime), shortHash(d.PolicyHash))
	fmt.Fprintf(c.stdout, "%d flows: %d recertified, %d expired, %d pending, %d not recertified\n\n", d.Counts.Flows, d.Counts.Recertified, d.Counts.Expired, d.Counts.Pending, d.Counts.NotRecertified)
	fmt.Fprintf(c.stdout, "%-40s %-28s %-15s %-20s %-19s %s\n", "FLOW", "OWNER", "STATE", "BY", "AT", "COMMENT")
	for _, it := range d.Items {
		at := ""
		if it.DecidedAt != nil {
			at = it.DecidedAt.Format(time.DateTime)
		}
		owner := it.Owner
		if owner == "" {
			owner = "(none)"
		}
		fmt.Fprintf(c.stdout, "%-40s %-28s %-15s %-20s %-19s %s\n", it.Flow, owner, it.State, it.DecidedBy, at, it.Comment)
	}
	return 0
}

func runRecertDecide(c *cli, args []string) int {
	cl := c.command("recert decide", "ID FLOW recertify|expire [-comment TEXT] [-db URL]")
	comment := cl.String("comment", "", "why (recorded with the decision)")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	id, ok := campaignID(c, "decide", pos, 3)
	if !ok {
		return 2
	}
	decision := pos[2]
	if decision != store.RecertRecertify && decision != store.RecertExpire {
		fmt.Fprintf(c.stderr, "ward recert decide: %q: decide recertify (keep the flow) or expire (let it go)\n", decision)
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	it, err := recert.Decide(ctx, st, id, pos[1], decision, actor(), *comment)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward recert decide: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Recorded: %s %s in campaign %d, by %s.\n", decision, it.Flow, id, it.DecidedBy)
	if decision == store.RecertExpire {
		fmt.Fprintf(c.stdout, "The flow stays in force until the policy changes: remove flow %q (or set its expires date) in git, then plan and apply.\n", it.Flow)
	}
	return 0
}

func runRecertClose(c *cli, args []string) int {
	cl := c.command("recert close", "ID [-db URL]")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	id, ok := campaignID(c, "close", pos, 1)
	if !ok {
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	d, err := recert.Close(ctx, st, id, actor(), st.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "ward recert close: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Closed campaign %d: %d recertified, %d expired, %d not recertified.\n", d.ID, d.Counts.Recertified, d.Counts.Expired, d.Counts.NotRecertified)
	return 0
}

// campaignID reads the campaign ID from the first of want positional
// arguments.
func campaignID(c *cli, sub string, pos []string, want int) (uint64, bool) {
	if len(pos) != want {
		fmt.Fprintf(c.stderr, "ward recert %s: wrong arguments\n%s\n", sub, recertUsage)
		return 0, false
	}
	id, err := strconv.ParseUint(strings.TrimSpace(pos[0]), 10, 64)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward recert %s: %q is not a campaign ID; ward recert list shows them\n", sub, pos[0])
		return 0, false
	}
	return id, true
}

// recertCampaignJSON and recertDetailJSON are ward recert's -json forms.
type recertCampaignJSON struct {
	ID         uint64        `json:"id"`
	Name       string        `json:"name"`
	Status     string        `json:"status"`
	CreatedBy  string        `json:"created_by"`
	CreatedAt  time.Time     `json:"created_at"`
	DueAt      time.Time     `json:"due_at"`
	PolicyHash string        `json:"policy_hash"`
	ClosedBy   string        `json:"closed_by"`
	ClosedAt   *time.Time    `json:"closed_at"`
	Counts     recert.Counts `json:"counts"`
}

type recertItemJSON struct {
	Flow      string     `json:"flow"`
	Owner     string     `json:"owner"`
	State     string     `json:"state"`
	DecidedBy string     `json:"decided_by"`
	DecidedAt *time.Time `json:"decided_at"`
	Comment   string     `json:"comment"`
}

type recertDetailJSON struct {
	recertCampaignJSON
	Items []recertItemJSON `json:"items"`
}

func recertJSON(d *recert.Detail) recertDetailJSON {
	out := recertDetailJSON{recertCampaignJSON: recertCampaignJSON{ID: d.ID, Name: d.Name, Status: d.Status, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt,
		DueAt: d.DueAt, PolicyHash: d.PolicyHash, ClosedBy: d.ClosedBy, ClosedAt: d.ClosedAt, Counts: d.Counts}, Items: []recertItemJSON{}}
	for _, it := range d.Items {
		out.Items = append(out.Items, recertItemJSON{Flow: it.Flow, Owner: it.Owner, State: it.State, DecidedBy: it.DecidedBy, DecidedAt: it.DecidedAt, Comment: it.Comment})
	}
	return out
}
