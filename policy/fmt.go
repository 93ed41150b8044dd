package policy

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in canonical HCL layout (hclwrite's: two-space indents,
// aligned equals signs), keeping comments. A file with syntax errors is not
// formatted; its diagnostics are returned instead.
func Format(filename string, src []byte) ([]byte, hcl.Diagnostics) {
	if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	out := hclwrite.Format(src)
	// hclwrite keeps trailing blank lines; a file ends in exactly one newline.
	out = append(bytes.TrimRight(out, "\n"), '\n')
	if len(bytes.TrimSpace(out)) == 0 {
		return []byte{}, nil
	}
	return out, nil
}
