package policy

import (
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Values in Ward's policy are literals: no variables, no functions. These
// helpers evaluate an attribute with a nil EvalContext and convert it,
// reporting problems at the attribute's (or the list element's) range.

func errDiag(subject hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject.Ptr()}
}

func warnDiag(subject hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: subject.Ptr()}
}

// literal evaluates expr, which must not refer to anything.
func literal(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	if vars := expr.Variables(); len(vars) > 0 {
		r := vars[0].SourceRange()
		return cty.DynamicVal, hcl.Diagnostics{errDiag(r, "References not allowed here",
			"This value must be written literally, such as \"text\", 42 or [\"a\", \"b\"]; references like zone.NAME are only allowed in from, to, services and remediation.")}
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	if v.IsNull() {
		return cty.DynamicVal, hcl.Diagnostics{errDiag(expr.Range(), "Missing value", "This value must not be null.")}
	}
	return v, nil
}

func attrString(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	v, diags := literal(attr.Expr)
	if diags.HasErrors() {
		return "", diags
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || !v.Type().IsPrimitiveType() {
		return "", hcl.Diagnostics{errDiag(attr.Expr.Range(), "Invalid value for "+attr.Name,
			fmt.Sprintf("%s must be a string, such as \"text\".", attr.Name))}
	}
	return s.AsString(), nil
}

func attrBool(attr *hcl.Attribute) (bool, hcl.Diagnostics) {
	v, diags := literal(attr.Expr)
	if diags.HasErrors() {
		return false, diags
	}
	if v.Type() != cty.Bool {
		return false, hcl.Diagnostics{errDiag(attr.Expr.Range(), "Invalid value for "+attr.Name,
			fmt.Sprintf("%s must be true or false (without quotes).", attr.Name))}
	}
	return v.True(), nil
}

func attrInt(attr *hcl.Attribute) (int, hcl.Diagnostics) {
	v, diags := literal(attr.Expr)
	if diags.HasErrors() {
		return 0, diags
	}
	n, ok := wholeNumber(v)
	if !ok {
		return 0, hcl.Diagnostics{errDiag(attr.Expr.Range(), "Invalid value for "+attr.Name,
			fmt.Sprintf("%s must be a whole number, such as 210.", attr.Name))}
	}
	return n, nil
}

// wholeNumber returns v as an int when it is a whole number that fits in 32
// bits; larger values are never meaningful in a policy.
func wholeNumber(v cty.Value) (int, bool) {
	if v.Type() != cty.Number {
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, false
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i > 1<<31-1 || i < -(1<<31) {
		return 0, false
	}
	return int(i), true
}

// element is one value of a list attribute with the range it was written at.
type element struct {
	Value cty.Value
	Range hcl.Range
}

// listElements returns the elements of a list or tuple expression, or the
// expression itself as one element when single is true and it is not a list.
func listElements(attr *hcl.Attribute, single bool) ([]element, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		if !single {
			return nil, hcl.Diagnostics{errDiag(attr.Expr.Range(), "Invalid value for "+attr.Name,
				fmt.Sprintf("%s must be a list, such as [\"a\", \"b\"].", attr.Name))}
		}
		exprs = []hcl.Expression{attr.Expr}
	}
	var out []element
	diags = nil
	for _, e := range exprs {
		v, d := literal(e)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		out = append(out, element{Value: v, Range: e.Range()})
	}
	return out, diags
}

// stringElement is a string list element and where it was written.
type stringElement struct {
	S     string
	Range hcl.Range
}

// attrStrings decodes a list of strings; with single, a lone string is
// accepted as a list of one.
func attrStrings(attr *hcl.Attribute, single bool) ([]stringElement, hcl.Diagnostics) {
	elems, diags := listElements(attr, single)
	var out []stringElement
	for _, e := range elems {
		if e.Value.Type() != cty.String {
			diags = append(diags, errDiag(e.Range, "Invalid value for "+attr.Name,
				fmt.Sprintf("Each element of %s must be a string in quotes.", attr.Name)))
			continue
		}
		out = append(out, stringElement{S: e.Value.AsString(), Range: e.Range})
	}
	return out, diags
}

// parsePrefix parses a CIDR written in the policy; a lone address is not a
// CIDR here, so that a forgotten /24 is not silently a /32.
func parsePrefix(s string, subject hcl.Range, what string) (netip.Prefix, *hcl.Diagnostic) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		detail := fmt.Sprintf("%q is not a CIDR block. Write an IPv4 or IPv6 network with its prefix length, such as \"10.61.210.0/24\" or \"2001:db8:61::/64\".", s)
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			detail = fmt.Sprintf("%q is an address without a prefix length. For this one host write \"%s/%d\".", s, a, a.BitLen())
		}
		return netip.Prefix{}, errDiag(subject, "Invalid CIDR in "+what, detail)
	}
	if p.Masked() != p {
		return netip.Prefix{}, errDiag(subject, "Invalid CIDR in "+what,
			fmt.Sprintf("%q has host bits set. Did you mean %q?", s, p.Masked().String()))
	}
	return p, nil
}

// attrPrefixes decodes a list of CIDRs (with single, a lone string too),
// with the range each was written at. empty reports a list that was written
// correctly but holds nothing, which callers judge differently.
func attrPrefixes(attr *hcl.Attribute, single bool, what string) (prefixes []netip.Prefix, ranges []hcl.Range, empty bool, diags hcl.Diagnostics) {
	elems, diags := attrStrings(attr, single)
	for _, e := range elems {
		p, pd := parsePrefix(e.S, e.Range, what)
		if pd != nil {
			diags = append(diags, pd)
			continue
		}
		prefixes = append(prefixes, p)
		ranges = append(ranges, e.Range)
	}
	return prefixes, ranges, len(elems) == 0 && !diags.HasErrors(), diags
}

// parsePort parses one port element: a number, or a string holding a number
// or an inclusive range "LOW-HIGH".
func parsePort(e element, attrName string) (PortRange, *hcl.Diagnostic) {
	bad := func(detail string) *hcl.Diagnostic {
		return errDiag(e.Range, "Invalid port", detail)
	}
	check := func(n int, written string) *hcl.Diagnostic {
		if n < 1 || n > 65535 {
			return bad(fmt.Sprintf("%s port %s is outside 1-65535.", attrName, written))
		}
		return nil
	}
	switch e.Value.Type() {
	case cty.Number:
		n, ok := wholeNumber(e.Value)
		if !ok {
			return PortRange{}, bad(fmt.Sprintf("%s ports must be whole numbers from 1 to 65535.", attrName))
		}
		if d := check(n, strconv.Itoa(n)); d != nil {
			return PortRange{}, d
		}
		return PortRange{From: n, To: n}, nil
	case cty.String:
		s := e.Value.AsString()
		lo, hi, isRange := strings.Cut(s, "-")
		from, err1 := atoiDigits(lo)
		to := from
		var err2 error
		if isRange {
			to, err2 = atoiDigits(hi)
		}
		if err1 != nil || err2 != nil {
			return PortRange{}, bad(fmt.Sprintf("%q is not a port or a port range. Write a number such as 443, or a range such as \"8000-8100\".", s))
		}
		if d := check(from, strconv.Itoa(from)); d != nil {
			return PortRange{}, d
		}
		if d := check(to, strconv.Itoa(to)); d != nil {
			return PortRange{}, d
		}
		if from > to {
			return PortRange{}, bad(fmt.Sprintf("Port range %q runs backwards; write \"%d-%d\".", s, to, from))
		}
		return PortRange{From: from, To: to}, nil
	}
	return PortRange{}, bad(fmt.Sprintf("%s ports must be numbers such as 443, or range strings such as \"8000-8100\".", attrName))
}

// oneOf reports whether s is in allowed, and a detail listing them when not.
func oneOf(s string, allowed []string) (bool, string) {
	for _, a := range allowed {
		if s == a {
			return true, ""
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(a)
	}
	detail := fmt.Sprintf("%q is not allowed here. Use one of %s.", s, strings.Join(quoted, ", "))
	if sg := suggest(s, allowed); sg != "" {
		detail += fmt.Sprintf(" Did you mean %q?", sg)
	}
	return false, detail
}

// mapPair is one key = value of a map attribute, with the key's range.
type mapPair struct {
	Key      string
	KeyRange hcl.Range
	Value    hcl.Expression
}

// mapPairs decodes a map attribute's keys, written as words or quoted
// strings, and reports keys given twice. usage explains the expected form.
func mapPairs(attr *hcl.Attribute, usage string) ([]mapPair, hcl.Diagnostics) {
	items, d := hcl.ExprMap(attr.Expr)
	if d.HasErrors() {
		return nil, hcl.Diagnostics{errDiag(attr.Expr.Range(), "Invalid value for "+attr.Name, usage)}
	}
	var diags hcl.Diagnostics
	var out []mapPair
	seen := map[string]hcl.Range{}
	for _, kv := range items {
		key := hcl.ExprAsKeyword(kv.Key)
		if key == "" {
			k, d := literal(kv.Key)
			if d.HasErrors() || k.Type() != cty.String {
				diags = append(diags, errDiag(kv.Key.Range(), "Invalid key in "+attr.Name, "A key must be a word or a quoted string. "+usage))
				continue
			}
			key = k.AsString()
		}
		if prev, dup := seen[key]; dup {
			diags = append(diags, errDiag(kv.Key.Range(), "Duplicate key in "+attr.Name,
				fmt.Sprintf("%q is already set at %s; give each key once.", key, where(prev))))
			continue
		}
		seen[key] = kv.Key.Range()
		out = append(out, mapPair{Key: key, KeyRange: kv.Key.Range(), Value: kv.Value})
	}
	return out, diags
}

// atoiDigits parses a port number written as plain digits (no sign, no
// spaces), so that "+80" or " 80" are not silently taken as 80.
func atoiDigits(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a port number: %q", s)
	}
	return strconv.Atoi(s)
}
