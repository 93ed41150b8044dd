package policy

import (
	"fmt"

	"github.com/gobwas/glob"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var zoneSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "criticality", Required: true},
		{Name: "vlan"},
		{Name: "subnets"},
		{Name: "enforcement"},
		{Name: "priority"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "match"}},
}

// checkName reports a block label that could not be referenced as KIND.NAME.
func checkName(block *hcl.Block) hcl.Diagnostics {
	name := block.Labels[0]
	if hclsyntax.ValidIdentifier(name) {
		return nil
	}
	detail := fmt.Sprintf("%q is not a valid name.", name)
	if name == "" {
		detail = "The name is empty."
	}
	return hcl.Diagnostics{errDiag(block.LabelRanges[0], fmt.Sprintf("Invalid %s name", block.Type),
		detail+" A name starts with a letter or underscore and holds only letters, digits, underscores and dashes, so it can be written in references such as zone.infusion_pumps.")}
}

func decodeZoneBlock(block *hcl.Block) (*Zone, hcl.Diagnostics) {
	z := &Zone{Name: block.Labels[0], Enforcement: "enforce", DeclRange: block.DefRange}
	diags := checkName(block)
	content, d := block.Body.Content(zoneSchema)
	diags = append(diags, d...)

	if attr, ok := content.Attributes["description"]; ok {
		z.Description, d = attrString(attr)
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["criticality"]; ok {
		z.Criticality, d = attrString(attr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if ok, detail := oneOf(z.Criticality, criticalities); !ok {
				diags = append(diags, errDiag(attr.Expr.Range(), "Invalid criticality", detail))
			}
		}
	}
	if attr, ok := content.Attributes["vlan"]; ok {
		z.VLANRange = attr.Expr.Range()
		z.VLAN, d = attrVLAN(attr)
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["subnets"]; ok {
		z.Subnets, z.SubnetRanges, _, d = attrPrefixes(attr, false, "subnets")
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["enforcement"]; ok {
		z.Enforcement, d = attrString(attr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if ok, detail := oneOf(z.Enforcement, []string{"enforce", "monitor"}); !ok {
				diags = append(diags, errDiag(attr.Expr.Range(), "Invalid enforcement",
					detail+" A zone in monitor mode logs what would be dropped and drops nothing."))
			}
		}
	}
	if attr, ok := content.Attributes["priority"]; ok {
		z.Priority, d = attrInt(attr)
		diags = append(diags, d...)
	}
	for _, b := range content.Blocks {
		if z.Match != nil {
			diags = append(diags, duplicateSingleton("zone", b, z.Match.DeclRange))
			continue
		}
		m, d := decodeMatchBlock(b)
		diags = append(diags, d...)
		z.Match = m
	}
	return z, diags
}

// attrVLAN decodes a VLAN ID, which must be usable on an access port.
func attrVLAN(attr *hcl.Attribute) (int, hcl.Diagnostics) {
	v, diags := attrInt(attr)
	if diags.HasErrors() {
		return 0, diags
	}
	if v < 1 || v > 4094 {
		return 0, hcl.Diagnostics{errDiag(attr.Expr.Range(), "Invalid VLAN",
			fmt.Sprintf("VLAN %d is outside 1-4094 (0 and 4095 are reserved by 802.1Q). Pick a VLAN ID from your switching plan.", v))}
	}
	return v, nil
}

func decodeMatchBlock(block *hcl.Block) (*Match, hcl.Diagnostics) {
	m := &Match{Fields: map[string][]string{}, Labels: map[string][]string{}, DeclRange: block.DefRange}
	schema := &hcl.BodySchema{}
	for _, f := range matchFields {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: f})
	}
	schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: "ip"}, hcl.AttributeSchema{Name: "labels"})

	content, diags := block.Body.Content(schema)
	for _, name := range sortedKeys(content.Attributes) {
		attr := content.Attributes[name]
		switch name {
		case "ip":
			ips, _, empty, d := attrPrefixes(attr, true, "match.ip")
			diags = append(diags, d...)
			if empty {
				diags = append(diags, emptyMatchList(attr))
			}
			m.IP = ips
		case "labels":
			d := decodeMatchLabels(attr, m)
			diags = append(diags, d...)
		default:
			pats, d := attrGlobs(attr)
			diags = append(diags, d...)
			m.Fields[name] = pats
		}
	}
	if len(content.Attributes) == 0 {
		diags = append(diags, errDiag(block.DefRange, "Empty match block",
			"A match block with no keys would match every device. Add keys such as class = [\"infusion_pump\"], or remove the block."))
	}
	return m, diags
}

// attrGlobs decodes a string or list of glob patterns.
func attrGlobs(attr *hcl.Attribute) ([]string, hcl.Diagnostics) {
	elems, diags := attrStrings(attr, true)
	var pats []string
	for _, e := range elems {
		if _, err := glob.Compile(e.S); err != nil {
			diags = append(diags, errDiag(e.Range, "Invalid pattern",
				fmt.Sprintf("%q is not a valid glob: %s. Use * for any text (slashes included), ? for one character, [abc] or [!abc] for a set, {a,b} for either; escape a literal one with \\.", e.S, err)))
			continue
		}
		pats = append(pats, e.S)
	}
	if len(elems) == 0 && !diags.HasErrors() {
		diags = append(diags, emptyMatchList(attr))
	}
	return pats, diags
}

func emptyMatchList(attr *hcl.Attribute) *hcl.Diagnostic {
	return errDiag(attr.Expr.Range(), "Empty match list",
		fmt.Sprintf("An empty match.%s matches no device. List at least one pattern, or remove the key.", attr.Name))
}

// decodeMatchLabels decodes labels = { key = "glob" | ["glob", ...] }.
func decodeMatchLabels(attr *hcl.Attribute, m *Match) hcl.Diagnostics {
	pairs, diags := mapPairs(attr, "labels must be a map from label name to patterns, such as { ward = \"3 West\" }.")
	for _, kv := range pairs {
		pats, d := attrGlobs(&hcl.Attribute{Name: "labels." + kv.Key, Expr: kv.Value, Range: kv.Value.Range()})
		diags = append(diags, d...)
		m.Labels[kv.Key] = pats
	}
	if len(pairs) == 0 && !diags.HasErrors() {
		diags = append(diags, emptyMatchList(attr))
	}
	return diags
}
