package report

import (
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

// Formats a report renders to (PDF is the HTML printed by a browser; see
// cmd/ward/report.go).
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatHTML = "html"
)

// WriteJSON writes the report's JSON form (docs/report-json.md), indented,
// with a final newline.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the flow register's header row.
var CSVHeader = []string{"flow", "from", "to", "services", "essential", "reason", "ticket", "owner", "expires", "in_force", "deployed", "findings", "declared_at"}

// WriteCSV writes the flow register: one row per flow, lists joined with
// ";", the kinds of its findings last but one.
func WriteCSV(w io.Writer, r *Report) error {
	kinds := map[string][]string{}
	for _, g := range r.Findings {
		for _, f := range g.Items {
			if !contains(kinds[f.Flow], f.Kind) {
				kinds[f.Flow] = append(kinds[f.Flow], f.Kind)
			}
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, f := range r.Flows {
		row := []string{f.Name, strings.Join(f.From, ";"), strings.Join(f.To, ";"), strings.Join(f.Services, ";"),
			strconv.FormatBool(f.Essential), csvSafe(f.Reason), csvSafe(f.Ticket), csvSafe(f.Owner), f.Expires, strconv.FormatBool(f.InForce),
			strconv.FormatBool(f.Deployed), strings.Join(kinds[f.Name], ";"), f.DeclaredAt}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a free-text cell as a formula
// (CSV injection): a cell starting with = + - @ gets a leading quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

//go:embed report.html.tmpl
var templates embed.FS

// htmlDevicesPerZone bounds the devices listed per zone in the HTML page;
// the JSON report lists them all.
const htmlDevicesPerZone = 200

// WriteHTML writes the report as one self-contained, printable HTML page:
// no script, no external resource, the style inline.
func WriteHTML(w io.Writer, r *Report) error {
	t, err := template.New("report.html.tmpl").Funcs(template.FuncMap{
		"ts": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
		"tsp": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 MST")
		},
		"join":  strings.Join,
		"short": func(s string) string { return shortHash(s) },
		"head": func(ds []Device) []Device {
			if len(ds) > htmlDevicesPerZone {
				return ds[:htmlDevicesPerZone]
			}
			return ds
		},
		"more": func(z ZoneDevices) int {
			if n := len(z.Devices) - htmlDevicesPerZone; n > 0 {
				return n
			}
			return 0
		},
		"kindTitle": func(k string) string { return kindTitles[k] },
		"uint":      func(p *uint64) string { return uintOr(p) },
	}).ParseFS(templates, "report.html.tmpl")
	if err != nil {
		return fmt.Errorf("report: the HTML template: %w", err)
	}
	return t.Execute(w, htmlView{Report: r, Kinds: FindingKinds})
}

type htmlView struct {
	*Report
	Kinds []string
}

// kindTitles name the finding kinds for people.
var kindTitles = map[string]string{
	KindExpiredDeployed:          "Expired exceptions still deployed",
	KindLifeCriticalNotEssential: "Flows into life-critical zones not marked essential",
	KindUndocumented:             "Flows without a ticket, reason or owner",
	KindBroad:                    "Broad flows (many ports, large networks)",
	KindNeverApplied:             "Flows allowed but never applied",
}

func shortHash(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	if s == "" {
		return "—"
	}
	return s
}

func uintOr(p *uint64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatUint(*p, 10)
}

// Write writes r in format: json, csv or html (PDF is the HTML printed by
// a browser, which the caller runs).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatCSV:
		return WriteCSV(w, r)
	case FormatHTML:
		return WriteHTML(w, r)
	}
	return fmt.Errorf("report format %q: want json, csv or html", format)
}

// ContentType is the media type of a report format.
func ContentType(format string) string {
	switch format {
	case FormatJSON:
		return "application/json"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatHTML:
		return "text/html; charset=utf-8"
	case "pdf":
		return "application/pdf"
	}
	return "application/octet-stream"
}
