package policy

import (
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// refKinds are the roots a reference may start with.
var refKinds = []RefKind{RefZone, RefNetwork, RefService}

// describeKinds renders allowed kinds for messages: "zone.NAME or network.NAME".
func describeKinds(kinds []RefKind) string {
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = string(k) + ".NAME"
	}
	return strings.Join(parts, " or ")
}

// decodeRefs decodes a reference or a list of references. References are
// resolved statically, by their syntax, so an unknown name or a reference of
// the wrong kind is reported at the exact token.
func decodeRefs(attr *hcl.Attribute, allowed ...RefKind) ([]Ref, hcl.Diagnostics) {
	exprs, listDiags := hcl.ExprList(attr.Expr)
	if listDiags.HasErrors() {
		exprs = []hcl.Expression{attr.Expr}
	}
	var refs []Ref
	var diags hcl.Diagnostics
	for _, e := range exprs {
		r, d := decodeRef(e, attr.Name, allowed)
		diags = append(diags, d...)
		if !d.HasErrors() {
			refs = append(refs, r)
		}
	}
	return refs, diags
}

func decodeRef(e hcl.Expression, attrName string, allowed []RefKind) (Ref, hcl.Diagnostics) {
	want := describeKinds(allowed)
	trav, d := hcl.AbsTraversalForExpr(e)
	if d.HasErrors() {
		detail := fmt.Sprintf("%s takes references such as %s, written without quotes.", attrName, want)
		if t, ok := e.(*hclsyntax.TemplateExpr); ok && t.IsStringLiteral() {
			v, _ := t.Value(nil)
			detail = fmt.Sprintf("%s takes references, not strings: write %s without quotes.", attrName, v.AsString())
		}
		return Ref{}, hcl.Diagnostics{errDiag(e.Range(), "Invalid reference", detail)}
	}
	root := trav.RootName()
	kind := RefKind(root)
	known := false
	for _, k := range refKinds {
		known = known || k == kind
	}
	if !known {
		detail := fmt.Sprintf("%q is not a kind of block. %s takes %s.", root, attrName, want)
		if s := suggest(root, kindNames(allowed)); s != "" {
			detail += fmt.Sprintf(" Did you mean %q?", s)
		}
		return Ref{}, hcl.Diagnostics{errDiag(trav[0].SourceRange(), "Invalid reference", detail)}
	}
	if len(trav) == 1 {
		return Ref{}, hcl.Diagnostics{errDiag(trav.SourceRange(), "Invalid reference",
			fmt.Sprintf("%s needs a name: write %s.NAME.", root, root))}
	}
	if len(trav) > 2 {
		return Ref{}, hcl.Diagnostics{errDiag(trav.SourceRange(), "Invalid reference",
			fmt.Sprintf("A reference names one block, such as %s.NAME, with nothing after the name.", root))}
	}
	step, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return Ref{}, hcl.Diagnostics{errDiag(trav.SourceRange(), "Invalid reference",
			fmt.Sprintf("Write the reference as %s.NAME.", root))}
	}
	for _, k := range allowed {
		if k == kind {
			return Ref{Kind: kind, Name: step.Name, Range: trav.SourceRange()}, nil
		}
	}
	return Ref{}, hcl.Diagnostics{errDiag(trav.SourceRange(), "Wrong kind of reference",
		fmt.Sprintf("%s takes %s; %s.%s is a %s.", attrName, want, root, step.Name, root))}
}

func kindNames(kinds []RefKind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

// suggest returns the candidate closest to given, when one is close enough to
// be a likely typo, as Terraform's didyoumean does.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if len(given) >= 4 && strings.HasPrefix(c, given) && best == "" {
			best = c
		}
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// resolveRefs checks that every reference names a declared block.
func (cfg *Config) resolveRefs(refs []Ref) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, r := range refs {
		var names []string
		var found bool
		switch r.Kind {
		case RefZone:
			_, found = cfg.Zones[r.Name]
			names = sortedKeys(cfg.Zones)
		case RefNetwork:
			_, found = cfg.Networks[r.Name]
			names = sortedKeys(cfg.Networks)
		case RefService:
			_, found = cfg.Services[r.Name]
			names = sortedKeys(cfg.Services)
		}
		if found {
			continue
		}
		detail := fmt.Sprintf("No %s named %q is declared.", r.Kind, r.Name)
		if s := suggest(r.Name, names); s != "" {
			detail += fmt.Sprintf(" Did you mean %s.%s?", r.Kind, s)
		} else {
			detail += fmt.Sprintf(" Declare it with a %s %q block, or fix the name.", r.Kind, r.Name)
		}
		diags = append(diags, errDiag(r.Range, fmt.Sprintf("Reference to undeclared %s", r.Kind), detail))
	}
	return diags
}
