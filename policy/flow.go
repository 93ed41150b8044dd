package policy

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
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
		{Name: "expires"},
	},
}

func decodeFlowBlock(block *hcl.Block) (*Flow, hcl.Diagnostics) {
	f := &Flow{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := checkName(block)
	content, d := block.Body.Content(flowSchema)
	diags = append(diags, d...)

	for _, name := range []string{"description", "reason", "ticket"} {
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
