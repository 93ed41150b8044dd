package policy

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

var networkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "cidrs", Required: true},
	},
}

func decodeNetworkBlock(block *hcl.Block) (*Network, hcl.Diagnostics) {
	n := &Network{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := checkName(block)
	content, d := block.Body.Content(networkSchema)
	diags = append(diags, d...)
	if attr, ok := content.Attributes["description"]; ok {
		n.Description, d = attrString(attr)
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["cidrs"]; ok {
		elems, d := attrStrings(attr, true)
		diags = append(diags, d...)
		for _, e := range elems {
			p, pd := parsePrefix(e.S, e.Range, "cidrs")
			if pd != nil {
				diags = append(diags, pd)
				continue
			}
			n.CIDRs = append(n.CIDRs, p)
			n.CIDRRanges = append(n.CIDRRanges, e.Range)
		}
		if len(elems) == 0 && !d.HasErrors() {
			diags = append(diags, errDiag(attr.Expr.Range(), "Network has no addresses",
				fmt.Sprintf("Network %q needs at least one CIDR, such as cidrs = [\"10.10.0.0/16\"].", n.Name)))
		}
	}
	return n, diags
}
