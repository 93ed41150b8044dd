package drivers

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Option is one attribute a driver takes in a target block (the OVS
// bridge, sudo, the Junos commit-confirm minutes). Options are data: the
// driver lists them, DecodeOptions checks them with diagnostics at the
// attribute, and the driver's New reads the JSON object that results.
type Option struct {
	Name string
	Type OptionType
	Doc  string // one line: what it does and its default
	// Check validates a decoded value (a string, int or bool by Type);
	// its error is the diagnostic's detail. Nil: any value of the type.
	Check func(v any) error
}

// OptionType is the type of an Option's value.
type OptionType int

// The types an option may have.
const (
	OptionString OptionType = iota
	OptionNumber            // a whole number
	OptionBool
)

func (t OptionType) String() string {
	return [...]string{"a string in quotes", "a whole number", "true or false (without quotes)"}[t]
}

// DecodeOptions decodes attrs, the attributes of a target block that are
// driver's own, against specs: every attribute must be one of them, of its
// type, and pass its Check. The result is a JSON object of the given
// options (nil when none is given); diagnostics point at the attribute.
func DecodeOptions(driver string, specs []Option, attrs hcl.Attributes) (json.RawMessage, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	values := map[string]any{}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		attr := attrs[name]
		i := slices.IndexFunc(specs, func(o Option) bool { return o.Name == name })
		if i < 0 {
			known := make([]string, len(specs))
			for j, o := range specs {
				known[j] = o.Name
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported argument", Subject: attr.NameRange.Ptr(),
				Detail: fmt.Sprintf("An argument named %q is not expected in a target block, and driver %q takes no option of that name. Its options are: %s.", name, driver, strings.Join(known, ", "))})
			continue
		}
		v, d := optionValue(specs[i], attr)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if check := specs[i].Check; check != nil {
			if err := check(v); err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for " + name, Subject: attr.Expr.Range().Ptr(),
					Detail: fmt.Sprintf("Driver %q: %s", driver, err)})
				continue
			}
		}
		values[name] = v
	}
	if len(values) == 0 || diags.HasErrors() {
		return nil, diags
	}
	b, err := json.Marshal(values)
	if err != nil {
		panic(err) // strings, ints and bools always marshal
	}
	return b, diags
}

func optionValue(o Option, attr *hcl.Attribute) (any, hcl.Diagnostics) {
	val, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return nil, diags
	}
	bad := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid value for " + o.Name, Subject: attr.Expr.Range().Ptr(),
		Detail: fmt.Sprintf("%s must be %s.", o.Name, o.Type)}}
	if val.IsNull() || !val.IsKnown() {
		return nil, bad
	}
	switch o.Type {
	case OptionString:
		if val.Type() != cty.String {
			return nil, bad
		}
		return val.AsString(), nil
	case OptionNumber:
		var n int
		if val.Type() != cty.Number || gocty.FromCtyValue(val, &n) != nil {
			return nil, bad
		}
		return n, nil
	case OptionBool:
		if val.Type() != cty.Bool {
			return nil, bad
		}
		return val.True(), nil
	}
	return nil, bad
}
