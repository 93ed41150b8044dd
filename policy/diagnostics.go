package policy

import (
	"bytes"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// SortDiagnostics orders diagnostics by file and position, those without a
// source location first, so output is stable from run to run.
func SortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		default:
			return a.Start.Column < b.Start.Column
		}
	})
}

// WriteDiagnostics writes diagnostics as text the way Terraform does: the
// severity and summary, the file and line with a source snippet, and the
// detail. files supplies the snippets (Config.Files); width 0 disables
// wrapping.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) error {
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}

// JSONDiagnostic is the machine-readable form of a diagnostic
// (ward validate -json). Line and column are 1-based; zero when the
// diagnostic has no source location.
type JSONDiagnostic struct {
	Severity string `json:"severity"` // "error" or "warning"
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	EndLine  int    `json:"end_line,omitempty"`
	Snippet  string `json:"snippet,omitempty"`
}

// JSONDiagnostics converts diagnostics for JSON output, with the source
// lines of each subject as its snippet.
func JSONDiagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) []JSONDiagnostic {
	out := make([]JSONDiagnostic, 0, len(diags))
	for _, d := range diags {
		j := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			j.Severity = "warning"
		}
		if s := d.Subject; s != nil {
			j.File, j.Line, j.Column, j.EndLine = s.Filename, s.Start.Line, s.Start.Column, s.End.Line
			if f := files[s.Filename]; f != nil {
				j.Snippet = sourceLines(f.Bytes, s.Start.Line, s.End.Line)
			}
		}
		out = append(out, j)
	}
	return out
}

// sourceLines returns lines first..last (1-based, inclusive) of src.
func sourceLines(src []byte, first, last int) string {
	lines := bytes.Split(src, []byte("\n"))
	if first < 1 || first > len(lines) {
		return ""
	}
	if last < first {
		last = first
	}
	if last > len(lines) {
		last = len(lines)
	}
	return string(bytes.TrimRight(bytes.Join(lines[first-1:last], []byte("\n")), "\r"))
}

// where formats a range for a diagnostic's detail: "zones.hcl line 12".
func where(r hcl.Range) string {
	return fmt.Sprintf("%s line %d", r.Filename, r.Start.Line)
}
