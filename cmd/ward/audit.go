package main

import (
	"context"
	"fmt"
	"slices"
	"text/tabwriter"
)

func runAudit(c *cli, args []string) int {
	if len(args) > 0 && args[0] == "verify" {
		return runAuditVerify(c, args[1:])
	}
	fs := c.newFlagSet("audit", "[-limit N] [-json] [-db URL]   |   ward audit verify [-db URL]")
	limit := fs.Int("limit", 50, "show the newest N events (0: all)")
	asJSON := fs.Bool("json", false, "print events as a JSON array, oldest first")
	db := dbFlag(fs)
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ctx := context.Background()
	st, ok := c.openStore(ctx, *db)
	if !ok {
		return 1
	}
	defer st.Close()
	evs, err := st.ListAudit(ctx, *limit)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward audit: %v\n", err)
		return 1
	}
	slices.Reverse(evs) // oldest first, like a log
	if *asJSON {
		return c.printJSON(evs)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tACTOR\tACTION\tOBJECT\tDETAIL")
	for _, e := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Object, e.Detail)
	}
	tw.Flush()
	return 0
}

func runAuditVerify(c *cli, args []string) int {
	fs := c.newFlagSet("audit verify", "[-db URL]")
	db := dbFlag(fs)
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ctx := context.Background()
	st, ok := c.openStore(ctx, *db)
	if !ok {
		return 1
	}
	defer st.Close()
	n, brk, err := st.VerifyAudit(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward audit verify: %v\n", err)
		return 1
	}
	if brk != nil {
		fmt.Fprintf(c.stderr, "Audit log BROKEN after %d intact events: %v\n", n, brk)
		fmt.Fprintln(c.stderr, "Events from this one on cannot be trusted. Preserve the database for investigation and compare it with a backup.")
		return 1
	}
	fmt.Fprintf(c.stdout, "Audit log intact: %s, every hash chained to the one before.\n", plural(n, "event"))
	return 0
}
