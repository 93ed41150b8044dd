package plan

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText shows a plan for review.
func WriteText(w io.Writer, p *Plan) error {
	ew := &errWriter{w: w}
	commit := ""
	if p.Policy.GitCommit != "" {
		commit = ", git " + shortCommit(p.Policy.GitCommit)
	}
	ew.printf("Plan for %s (policy %s%s) against %d devices\n\n", p.Policy.Dir, p.Policy.Hash[:12], commit, p.Inventory.Devices)

	ew.printf("Placement\n")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  ZONE\tCRITICALITY\tVLAN\tENFORCEMENT\tDEVICES\n")
	for _, z := range p.Placement.Zones {
		vlan := "-"
		if z.VLAN != nil {
			vlan = fmt.Sprint(*z.VLAN)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\n", z.Zone, z.Criticality, vlan, z.Enforcement, z.Devices)
	}
	tw.Flush()
	if n := len(p.Placement.Unplaced); n > 0 {
		ew.printf("  %d device(s) match no zone and there is no default_zone: %s\n", n, list(p.Placement.Unplaced, 10))
	}
	for _, c := range p.Placement.Conflicts {
		ew.printf("  ✗ %s matches zones of equal priority: %s (%s); set priority on one of them\n",
			c.Device, strings.Join(c.Zones, ", "), strings.Join(c.Where, ", "))
	}

	ew.printf("\nFlows: %d in force, %d essential", p.Flows.InForce, p.Flows.Essential)
	if len(p.Flows.Expired) > 0 {
		ew.printf(", %d expired and dropped:\n", len(p.Flows.Expired))
		for _, f := range p.Flows.Expired {
			ew.printf("  ! %s expired %s (%s)\n", f.Name, f.Expires, f.DeclaredAt)
		}
	} else {
		ew.printf("\n")
	}

	ew.printf("\nAllowed traffic (from → to: services; everything else is denied)\n")
	for _, c := range p.Matrix {
		ew.printf("  %s → %s: %s\n", c.From, c.To, strings.Join(c.Services, ", "))
	}

	ew.printf("\nGuardrails\n")
	if len(p.Guardrails.Deny)+len(p.Guardrails.Warn)+len(p.Guardrails.Waived) == 0 {
		ew.printf("  all pass\n")
	}
	for _, f := range p.Guardrails.Deny {
		ew.printf("  ✗ deny   %s%s\n", rule(f.Rule), f.Message)
	}
	for _, f := range p.Guardrails.Warn {
		ew.printf("  ! warn   %s%s\n", rule(f.Rule), f.Message)
	}
	for _, f := range p.Guardrails.Waived {
		ew.printf("  ~ waived %s%s\n           because: %s\n", rule(f.Rule), f.Message, f.Reason)
	}

	if p.Blocked {
		ew.printf("\nPlan BLOCKED: %s. Fix the policy; a built-in guardrail can be waived on one flow with waive = [\"rule\"] and waive_reason.\n",
			strings.Join(p.Reasons, "; "))
	} else {
		ew.printf("\nPlan OK: no guardrail denies and every device has one zone.\n")
	}
	return ew.err
}

func rule(r string) string {
	if r == "" {
		return ""
	}
	return "[" + r + "] "
}

// shortCommit shortens a full commit hash, keeping a "+dirty" suffix.
func shortCommit(c string) string {
	if len(c) >= 40 {
		return c[:12] + c[40:]
	}
	return c
}

func list(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(" and %d more", len(names)-max)
}

// errWriter keeps the first write error so WriteText can report it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
