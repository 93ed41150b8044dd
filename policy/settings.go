package policy

import (
	"github.com/hashicorp/hcl/v2"
)

var settingsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "default_zone"},
		{Name: "default_action"},
	},
}

func decodeSettingsBlock(block *hcl.Block) (*Settings, hcl.Diagnostics) {
	s := &Settings{DefaultAction: "deny", DeclRange: block.DefRange}
	content, diags := block.Body.Content(settingsSchema)
	if attr, ok := content.Attributes["default_zone"]; ok {
		var d hcl.Diagnostics
		s.DefaultZone, d = attrString(attr)
		s.DefaultZoneRange = attr.Expr.Range()
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["default_action"]; ok {
		a, d := attrString(attr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if ok, detail := oneOf(a, []string{"deny", "allow"}); !ok {
				diags = append(diags, errDiag(attr.Expr.Range(), "Invalid default_action", detail))
			} else {
				s.DefaultAction = a
				if a == "allow" {
					diags = append(diags, warnDiag(attr.Expr.Range(), "Default action allows all traffic",
						"With default_action = \"allow\" every pair of zones without a flow may talk freely, so nothing is segmented. Use \"deny\" once your flows are complete; use enforcement = \"monitor\" on zones still being rolled out."))
				}
			}
		}
	}
	return s, diags
}
