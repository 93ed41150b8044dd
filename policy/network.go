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
		var empty bool
		n.CIDRs, n.CIDRRanges, empty, d = attrPrefixes(attr, true, "cidrs")
		diags = append(diags, d...)
		if empty {
			diags = append(diags, errDiag(attr.Expr.Range(), "Network has no addresses",
				fmt.Sprintf("Network %q needs at least one CIDR, such as cidrs = [\"10.10.0.0/16\"].", n.Name)))
		}
	}
	return n, diags
}
