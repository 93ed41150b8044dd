package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var flowSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "from", Required: true},
		{Name: "to", Required: true},
		{Name: "services"},
		{Name: "essential"},
		{Name: "reason"},
		{Name: "ticket"},
		{Name: "owner"},
		{Name: "expires"},
		{Name: "waive"},
		{Name: "waive_reason"},
	},
}

func decodeFlowBlock(block *hcl.Block) (*Flow, hcl.Diagnostics) {
	f := &Flow{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := checkName(block)
	content, d := block.Body.Content(flowSchema)
	diags = append(diags, d...)

	for _, name := range []string{"description", "reason", "ticket", "owner", "waive_reason"} {
		attr, ok := content.Attributes[name]
		if !ok {
			continue
		}
		s, d := attrString(attr)
		diags = append(diags, d...)
		switch name {
		case "description":
			f.Description = s
		case "reason":
			f.Reason = s
		case "ticket":
			f.Ticket = s
		case "owner":
			f.Owner = s
		case "waive_reason":
			f.WaiveReason = s
		}
	}
	for _, end := range []struct {
		name string
		refs *[]Ref
	}{{"from", &f.From}, {"to", &f.To}} {
		attr, ok := content.Attributes[end.name]
		if !ok {
			continue
		}
		*end.refs, d = decodeRefs(attr, RefZone, RefNetwork)
		diags = append(diags, d...)
		if len(*end.refs) == 0 && !d.HasErrors() {
			diags = append(diags, errDiag(attr.Expr.Range(), "Flow has an empty "+end.name,
				fmt.Sprintf("Flow %q would allow nothing. Name at least one zone.NAME or network.NAME in %s.", f.Name, end.name)))
		}
	}
	attr, ok := content.Attributes["services"]
	var svcDiags hcl.Diagnostics
	if ok {
		f.Services, svcDiags = decodeRefs(attr, RefService)
		diags = append(diags, svcDiags...)
	}
	if len(f.Services) == 0 && !svcDiags.HasErrors() {
		subject := block.DefRange
		if ok {
			subject = attr.Expr.Range()
		}
		diags = append(diags, errDiag(subject, "Flow has no services",
			fmt.Sprintf("Flow %q would allow nothing. List what it allows, such as services = [service.https].", f.Name)))
	}
	if attr, ok := content.Attributes["waive"]; ok {
		elems, d := attrStrings(attr, false)
		diags = append(diags, d...)
		for _, e := range elems {
			if !hclsyntax.ValidIdentifier(e.S) {
				diags = append(diags, errDiag(e.Range, "Invalid guardrail name", fmt.Sprintf("%q is not a guardrail rule name; plan output names the rule a flow breaks.", e.S)))
				continue
			}
			f.Waive = append(f.Waive, e.S)
		}
		if len(f.Waive) > 0 && strings.TrimSpace(f.WaiveReason) == "" {
			diags = append(diags, errDiag(attr.NameRange, "Waiver without a reason",
				fmt.Sprintf("Flow %q waives %s; say why with waive_reason = \"...\" (the risk accepted and who accepted it). Waivers are shown in every plan.", f.Name, strings.Join(f.Waive, ", "))))
		}
	}
	if attr, ok := content.Attributes["essential"]; ok {
		f.Essential, d = attrBool(attr)
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["expires"]; ok {
		s, d := attrString(attr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				diags = append(diags, errDiag(attr.Expr.Range(), "Invalid expiry date",
					fmt.Sprintf("expires = %q is not a date. Write it as \"YYYY-MM-DD\", such as \"2027-06-30\"; the flow stays in force through that day (UTC).", s)))
			} else {
				f.Expires = t
				f.ExpiresRange = attr.Expr.Range()
			}
		}
	}
	return f, diags
}
