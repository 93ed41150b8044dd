package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

func runToken(c *cli, args []string) int {
	sub := map[string]func(*cli, []string) int{"create": runTokenCreate, "list": runTokenList, "revoke": runTokenRevoke}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(c.stderr, "Usage: ward token create -role viewer|auditor|operator|admin [-name N] [-expires D] | list | revoke NAME   (ward token SUBCOMMAND -h for flags)")
		return 2
	}
	return sub[args[0]](c, args[1:])
}

func runTokenCreate(c *cli, args []string) int {
	cl := c.command("token create", "-role viewer|auditor|operator|admin [-name NAME] [-expires 90d] [-db URL]")
	role := cl.String("role", "", "viewer (reads), auditor (reads like a viewer, every read written to the audit log), operator (also quarantines, releases, imports, plans), admin (also applies, approves isolates, manages tokens)")
	name := cl.String("name", "", "who or what uses it: siem, grafana, alice (default: ROLE-YYYYMMDD-HHMMSS)")
	expires := cl.String("expires", "", "how long it is valid, e.g. 12h, 90d (default: until revoked)")
	asJSON := cl.Bool("json", false, "print the token and its details as JSON")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	if *role == "" {
		fmt.Fprintf(c.stderr, "ward token create: -role is required: %s\n", strings.Join(store.Roles(), ", "))
		return 2
	}
	var d time.Duration
	if *expires != "" {
		var err error
		if d, err = policy.ParseTTL(*expires); err != nil || d <= 0 {
			fmt.Fprintf(c.stderr, "ward token create: -expires %q is not a positive duration; write it like 12h or 90d\n", *expires)
			return 2
		}
	}
	if *name == "" {
		*name = *role + "-" + time.Now().UTC().Format("20060102-150405")
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	secret, t, err := st.CreateToken(ctx, *name, *role, d, actor())
	if err != nil {
		fmt.Fprintf(c.stderr, "ward token create: %v\n", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(map[string]any{"name": t.Name, "role": t.Role, "expires_at": t.ExpiresAt, "token": secret})
	}
	fmt.Fprintf(c.stdout, "Created %s token %q", t.Role, t.Name)
	if t.ExpiresAt != nil {
		fmt.Fprintf(c.stdout, ", valid until %s", t.ExpiresAt.Local().Format(time.DateTime))
	}
	fmt.Fprintf(c.stdout, ".\nIt is shown only now; Ward keeps only its hash:\n\n%s\n\nUse it as: Authorization: Bearer TOKEN. Revoke it with: ward token revoke %s\n", secret, t.Name)
	return 0
}

func runTokenList(c *cli, args []string) int {
	cl := c.command("token list", "[-json] [-db URL]")
	asJSON := cl.Bool("json", false, "print the tokens as JSON")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	ts, err := st.ListTokens(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward token list: %v\n", err)
		return 1
	}
	type row struct {
		Name       string     `json:"name"`
		Role       string     `json:"role"`
		Status     string     `json:"status"`
		CreatedAt  time.Time  `json:"created_at"`
		ExpiresAt  *time.Time `json:"expires_at"`
		RevokedAt  *time.Time `json:"revoked_at"`
		LastUsedAt *time.Time `json:"last_used_at"`
	}
	now := time.Now()
	rows := make([]row, 0, len(ts))
	for _, t := range ts {
		status := "valid"
		switch {
		case t.RevokedAt != nil:
			status = "revoked"
		case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
			status = "expired"
		}
		rows = append(rows, row{t.Name, t.Role, status, t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt})
	}
	if *asJSON {
		return c.printJSON(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.stdout, "No tokens. Create one with: ward token create -role viewer|auditor|operator|admin -name NAME")
		return 0
	}
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Local().Format(time.DateTime)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tCREATED\tEXPIRES\tLAST USED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Role, r.Status, when(&r.CreatedAt), when(r.ExpiresAt), when(r.LastUsedAt))
	}
	tw.Flush()
	return 0
}

func runTokenRevoke(c *cli, args []string) int {
	cl := c.command("token revoke", "NAME [-db URL]")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "ward token revoke: name one token (ward token list shows them)")
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	if _, err := st.RevokeToken(ctx, pos[0], actor()); err != nil {
		fmt.Fprintf(c.stderr, "ward token revoke: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stdout, "Revoked token %q: it is refused from now on.\n", pos[0])
	return 0
}
