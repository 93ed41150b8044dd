package main

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// Exit codes of ward query reach, like grep's, so a script can ask
// "ward query reach guest infusion_pumps && alarm": 0 allowed, 1 denied
// (also when a monitor-mode zone only logs it), 2 no answer (bad
// arguments, an unknown name, an invalid policy, an unreachable database).
const (
	exitAllowed  = 0
	exitDenied   = 1
	exitNoAnswer = 2
)

func runQuery(c *cli, args []string) int {
	sub := map[string]func(*cli, []string) int{"reach": runQueryReach}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(c.stderr, "Usage: ward query reach FROM TO [SERVICE|PORT/PROTO]   (ward query reach -h for flags)")
		return exitNoAnswer
	}
	return sub[args[0]](c, args[1:])
}

func runQueryReach(c *cli, args []string) int {
	cl := c.command("query reach", "FROM TO [SERVICE|PORT/PROTO] [-policy DIR] [-db URL] [-json]\n\n"+
		"FROM and TO are device names, zone or network names, or IP addresses (zone:NAME,\n"+
		"network:NAME or device:NAME when a name is ambiguous). SERVICE is a service of the\n"+
		"policy, or PORT/PROTO such as 443/tcp, 53/udp, icmp, echo-request/icmp; without it,\n"+
		"any service. Exit status: 0 allowed, 1 denied, 2 no answer (error).")
	dir := cl.String("policy", "./policy", "directory holding the policy's *.hcl and *.rego files")
	asJSON := cl.Bool("json", false, "print the answer as JSON")
	cl.dbFlag()
	pos, code, ok := cl.parse(args)
	if !ok {
		return code // 0 after -h, 2 for a bad flag
	}
	defer cl.close()
	if len(pos) < 2 || len(pos) > 3 {
		cl.Usage()
		return exitNoAnswer
	}
	q := engine.ReachQuery{From: pos[0], To: pos[1]}
	if len(pos) == 3 {
		q.Service = pos[2]
	}

	cfg, diags := c.loadPolicy(*dir)
	if diags.HasErrors() {
		files := map[string]*hcl.File{}
		if cfg != nil {
			files = cfg.Files
		}
		_ = policy.WriteDiagnostics(c.stderr, files, diags, c.width, c.color)
		fmt.Fprintf(c.stderr, "ward query reach needs a valid policy; fix %s first (ward validate -policy %s).\n", *dir, *dir)
		return exitNoAnswer
	}
	ctx, st, ok := cl.open()
	if !ok {
		return exitNoAnswer
	}
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward query reach: %v\n", err)
		return exitNoAnswer
	}
	e, diags := engine.New(ctx, cfg, devices)
	if diags.HasErrors() {
		_ = policy.WriteDiagnostics(c.stderr, cfg.Files, diags, c.width, c.color)
		return exitNoAnswer
	}
	if _, err := e.Evaluate(ctx); err != nil {
		fmt.Fprintf(c.stderr, "ward query reach: %v\n", err)
		return exitNoAnswer
	}
	a, err := e.Reach(q)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward query reach: %v\n", err)
		return exitNoAnswer
	}

	if *asJSON {
		if c.printJSON(a) != 0 {
			return exitNoAnswer
		}
	} else {
		printReach(c, a)
	}
	if a.Allowed {
		return exitAllowed
	}
	return exitDenied
}

// printReach writes the answer: the quotable reason, what FROM and TO
// turned out to be, and the flows behind it.
func printReach(c *cli, a *engine.ReachAnswer) {
	svc := a.Service
	if svc == "" {
		svc = "any service"
	}
	fmt.Fprintln(c.stdout, a.Reason)
	fmt.Fprintf(c.stdout, "  %s -> %s, %s\n", endpointText(a.From), endpointText(a.To), svc)
	for _, f := range a.Flows {
		fmt.Fprintf(c.stdout, "  flow %s (%s)%s\n", f.Name, f.DeclaredAt, flowNote(f))
	}
	for _, f := range a.Expired {
		fmt.Fprintf(c.stdout, "  expired flow %s (%s), last day %s%s\n", f.Name, f.DeclaredAt, f.Expires, flowNote(f))
	}
}

// flowNote is a flow's services, essential mark, ticket and reason.
func flowNote(f engine.AllowingFlow) string {
	var parts []string
	if len(f.Services) > 0 {
		parts = append(parts, "on "+strings.Join(f.Services, ", "))
	}
	if f.Essential {
		parts = append(parts, "essential")
	}
	if f.Ticket != "" {
		parts = append(parts, f.Ticket)
	}
	note := " " + strings.Join(parts, ", ")
	if f.Reason != "" {
		note += ": " + f.Reason
	}
	return note
}

// endpointText: pump-3w-01 (device, zone infusion_pumps, 10.61.210.11).
func endpointText(ep engine.ResolvedEndpoint) string {
	facts := []string{ep.Kind}
	switch {
	case ep.Zone != "" && ep.Kind != engine.EndpointZone:
		facts = append(facts, "zone "+ep.Zone)
	case ep.NoZone != "":
		facts = append(facts, "no zone")
	}
	if ep.IP.IsValid() && ep.Kind != engine.EndpointIP {
		facts = append(facts, ep.IP.String())
	}
	if len(ep.Networks) > 0 {
		facts = append(facts, "network "+strings.Join(ep.Networks, ", "))
	}
	return fmt.Sprintf("%s (%s)", ep.Name, strings.Join(facts, ", "))
}
