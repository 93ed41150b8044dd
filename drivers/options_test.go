package drivers

import (
	"errors"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func TestDecodeOptions(t *testing.T) {
	specs := []Option{
		{Name: "bridge", Type: OptionString, Check: func(v any) error {
			if v.(string) == "" {
				return errors.New("bridge is empty")
			}
			return nil
		}},
		{Name: "minutes", Type: OptionNumber},
		{Name: "sudo", Type: OptionBool},
	}
	decode := func(src string) (string, []string) {
		f, diags := hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		attrs, _ := f.Body.JustAttributes()
		raw, diags := DecodeOptions("testdrv", specs, attrs)
		var got []string
		for _, d := range diags {
			got = append(got, d.Summary+"@"+d.Subject.String())
		}
		slices.Sort(got)
		return string(raw), got
	}
	for _, c := range []struct {
		src, json string
		diags     []string
	}{
		{"bridge = \"br0\"\nminutes = 5\nsudo = false\n", `{"bridge":"br0","minutes":5,"sudo":false}`, nil},
		{"", "", nil},
		{"minutes = 2.5\n", "", []string{"Invalid value for minutes@t.hcl:1,11-14"}},
		{"sudo = \"yes\"\n", "", []string{"Invalid value for sudo@t.hcl:1,8-13"}},
		{"bridge = \"\"\n", "", []string{"Invalid value for bridge@t.hcl:1,10-12"}},
		{"brige = \"br0\"\n", "", []string{"Unsupported argument@t.hcl:1,1-6"}},
	} {
		raw, diags := decode(c.src)
		if raw != c.json || !slices.Equal(diags, c.diags) {
			t.Errorf("%q: got %s %v; want %s %v", c.src, raw, diags, c.json, c.diags)
		}
	}
}
