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

	writeEssentialLoss(ew, p)
	if c := p.Changes; c != nil {
		writeChanges(ew, p)
	}

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

	for _, w := range p.Warnings {
		ew.printf("  ! %s\n", w)
	}
	for _, t := range p.Targets {
		switch {
		case t.Unavailable != "":
			ew.printf("\nTarget %s (%s): not applied: %s\n", t.Name, t.Driver, t.Unavailable)
		case t.RenderOnly && t.Changed:
			ew.printf("\nTarget %s (%s): push = false, so apply will not connect to it; push its configuration with your own tooling (ward render -target %s)\n%s", t.Name, t.Driver, t.Name, indent(t.ConfigDiff))
		case t.Drifted:
			ew.printf("\nTarget %s (%s): drifted: its running configuration was changed outside Ward; apply restores the planned one\n%s", t.Name, t.Driver, indent(t.ConfigDiff))
		case t.Changed:
			ew.printf("\nTarget %s (%s): configuration changes\n%s", t.Name, t.Driver, indent(t.ConfigDiff))
		}
		if t.RefreshError != "" {
			ew.printf("\nTarget %s (%s): could not read its running configuration: %s\n", t.Name, t.Driver, t.RefreshError)
		}
	}

	if a := p.Approval; a != nil {
		ew.printf("\nEssential change approved by %s: %s\n", a.Actor, a.Reason)
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

// writeChanges shows the semantic change first, essential flows at the top.
func writeChanges(ew *errWriter, p *Plan) {
	c := p.Changes
	for _, e := range c.Essential {
		ew.printf("!! ESSENTIAL flow %s on %s is %s: %s\n", e.Flow, e.Target, e.Kind, e.Message)
	}
	if len(c.Essential) > 0 {
		ew.printf("!! ward apply refuses this plan unless given -allow-essential-change -reason TEXT (recorded in the audit log).\n\n")
	}
	n := c.Counts
	if c.Empty() {
		ew.printf("Changes: none; the targets already run this policy.\n\n")
		return
	}
	ew.printf("Changes: %d target(s) added, %d changed, %d removed; flows +%d -%d ~%d; rules +%d -%d; set addresses +%d -%d; switch ports +%d -%d ~%d\n",
		n.TargetsAdded, n.TargetsChanged, n.TargetsRemoved, n.FlowsAdded, n.FlowsRemoved, n.FlowsChanged,
		n.RulesAdded, n.RulesRemoved, n.PrefixesAdded, n.PrefixesRemoved, n.PortsAdded, n.PortsRemoved, n.PortsChanged)
	for _, t := range c.Targets {
		ew.printf("  %s %s (%s)\n", t.Action, t.Name, t.Driver)
		if fw := t.Firewall; fw != nil {
			for _, f := range fw.Flows {
				ess := ""
				if f.Essential {
					ess = " [essential]"
				}
				ew.printf("    flow %s %s%s: +%d -%d rules\n", f.Action, f.Flow, ess, len(f.RulesAdded), len(f.RulesRemoved))
			}
		}
		if sw := t.Switch; sw != nil {
			for _, pc := range sw.Ports {
				ew.printf("    port %s %s: %s vlan %d -> %d (%s -> %s)\n", pc.Action, pc.Port, pc.Device, pc.FromVLAN, pc.ToVLAN, pc.FromZone, pc.ToZone)
			}
		}
	}
	ew.printf("\n")
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

// maxLossShown bounds the lost pairs the text lists; the JSON form lists
// up to maxLossListed.
const maxLossShown = 100

// writeEssentialLoss lists, first of all, every device that would lose a
// peer of an essential flow, with the peer, the service and why.
func writeEssentialLoss(ew *errWriter, p *Plan) {
	total := max(p.EssentialLossTotal, len(p.EssentialLoss))
	if total == 0 {
		return
	}
	ew.printf("!! ESSENTIAL: %d device/peer/service pair(s) of essential flows reachable now would be lost:\n", total)
	for i, l := range p.EssentialLoss {
		if i == maxLossShown {
			break
		}
		arrow := "->"
		if l.Direction == DirectionFrom {
			arrow = "<-"
		}
		ew.printf("!!   %s (%s) %s %s: %s (flow %s): %s\n", l.Device, l.Zone, arrow, l.Peer, l.Service, l.Flow, l.Cause)
	}
	if more := total - min(len(p.EssentialLoss), maxLossShown); more > 0 {
		ew.printf("!!   and %d more (ward plan -json lists up to %d in essential_loss)\n", more, maxLossListed)
	}
	if p.Changes == nil || len(p.Changes.Essential) == 0 {
		ew.printf("!! ward apply refuses this plan unless given -allow-essential-change -reason TEXT (recorded in the audit log).\n")
	}
	ew.printf("\n")
}
