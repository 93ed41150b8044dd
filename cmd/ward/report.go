package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inforce"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
	"github.com/wardnet/ward/policy"
)

// runReport is ward report: the compliance report of the policy in force
// (or as of a past time), in HTML, PDF, JSON or CSV, with a manifest of its
// bytes signed with the audit key; and ward report verify.
func runReport(c *cli, args []string) int {
	if len(args) > 0 && args[0] == "verify" {
		return runReportVerify(c, args[1:])
	}
	cl := c.command("report", "[-format html|pdf|json|csv] [-as-of TIME] [-since TIME] [-o FILE] [-manifest FILE] [-policy DIR] [-db URL]   |   ward report verify FILE [-manifest FILE]")
	format := cl.String("format", "html", "html (one printable page), pdf (the page printed by headless Chromium), json (docs/report-json.md) or csv (the flow register)")
	asOf := cl.String("as-of", "", "describe the policy as Ward enforced it at TIME (RFC 3339 or YYYY-MM-DD, UTC), from the plans it applied")
	since := cl.String("since", "", "start the period of changes and quarantines at TIME (default: the first record)")
	out := cl.String("o", "", "write the report to FILE, and its signed manifest to FILE.manifest.json (default: standard output, no manifest)")
	manifest := cl.String("manifest", "", "write the signed manifest to FILE (default with -o: FILE.manifest.json)")
	dir := cl.String("policy", "./policy", "directory holding the policy in force")
	cl.dbFlag()
	if _, code, ok := cl.parse(args); !ok {
		return code
	}
	defer cl.close()
	var in report.Inputs
	for flag, s := range map[string]string{"as-of": *asOf, "since": *since} {
		if s == "" {
			continue
		}
		t, err := report.ParseTime(s)
		if err != nil {
			fmt.Fprintf(c.stderr, "ward report: -%s: %v\n", flag, err)
			return 2
		}
		if flag == "as-of" {
			in.AsOf = t
		} else {
			in.Since = t
		}
	}
	switch *format {
	case report.FormatHTML, report.FormatJSON, report.FormatCSV:
	case "pdf":
		if *out == "" {
			fmt.Fprintln(c.stderr, "ward report: -format pdf needs -o FILE")
			return 2
		}
	default:
		fmt.Fprintf(c.stderr, "ward report: -format %q: want html, pdf, json or csv\n", *format)
		return 2
	}
	ctx, st, ok := cl.open()
	if !ok {
		return 1
	}
	if !c.reportInputs(ctx, st, *dir, &in) {
		return 1
	}
	r, err := report.Build(ctx, in)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward report: %v\n", err)
		return 1
	}
	data, err := c.renderReport(ctx, r, *format)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward report: %v\n", err)
		return 1
	}
	if *out == "" {
		_, err := c.stdout.Write(data)
		if err == nil && *manifest != "" {
			err = c.writeManifest(*manifest, "", *format, data, r)
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "ward report: %v\n", err)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(*out, data, 0o640); err != nil {
		fmt.Fprintf(c.stderr, "ward report: %v\n", err)
		return 1
	}
	mpath := *manifest
	if mpath == "" {
		mpath = *out + ".manifest.json"
	}
	if err := c.writeManifest(mpath, filepath.Base(*out), *format, data, r); err != nil {
		fmt.Fprintf(c.stderr, "ward report: the report is in %s, but %v\n", *out, err)
		return 1
	}
	fmt.Fprintf(c.stderr, "Wrote %s (%d bytes) and its manifest %s, signed with the audit key; check it with: ward report verify %s\n", *out, len(data), mpath, *out)
	return 0
}

// reportInputs fills in the policy in force, evaluated against the
// inventory. A report as of a past time needs no policy: one that does not
// load is reported and left out.
func (c *cli) reportInputs(ctx context.Context, st *store.Store, dir string, in *report.Inputs) bool {
	in.Store, in.WardVersion = st, version
	cfg, diags := c.loadPolicy(dir)
	if diags.HasErrors() {
		if !in.AsOf.IsZero() {
			fmt.Fprintf(c.stderr, "Note: the policy in %s does not load (%s), so flow details of the applied plan are not shown.\n", dir, countSeverities(diags))
			return true
		}
		c.printDiags(cfg, diags)
		fmt.Fprintf(c.stderr, "%s found in %s; no report was made.\n", countSeverities(diags), dir)
		return false
	}
	devices, err := inventory.Active(ctx, st)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward report: %v\n", err)
		return false
	}
	eng, diags := engine.New(ctx, cfg, devices)
	if diags.HasErrors() {
		c.printDiags(cfg, diags)
		return false
	}
	res, err := eng.Evaluate(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward report: evaluating the policy: %v\n", err)
		return false
	}
	in.Policy = inforce.New(cfg, nil, nil).Load()
	in.Devices, in.Result, in.GitCommit, in.Drivers = devices, res, policy.GitCommit(dir), newRegistry()
	return true
}

// renderReport renders r; PDF is the HTML page printed by headless
// Chromium.
func (c *cli) renderReport(ctx context.Context, r *report.Report, format string) ([]byte, error) {
	var buf bytes.Buffer
	if format != "pdf" {
		err := report.Write(&buf, r, format)
		return buf.Bytes(), err
	}
	if err := report.WriteHTML(&buf, r); err != nil {
		return nil, err
	}
	return report.PrintPDF(ctx, buf.Bytes())
}

// writeManifest signs data's manifest with the audit key and writes it.
func (c *cli) writeManifest(path, file, format string, data []byte, r *report.Report) error {
	key, keyPath, ok := c.loadAuditKey(false)
	if !ok {
		return errors.New("the audit key could not be read")
	}
	if key == nil {
		return fmt.Errorf("no audit key at %s to sign the manifest with", keyPath)
	}
	m, err := report.Sign(key, file, format, data, r)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o640)
}

// runReportVerify checks a report file against its manifest, offline:
// with the audit key only, no database.
func runReportVerify(c *cli, args []string) int {
	cl := c.command("report verify", "FILE [-manifest FILE]")
	manifest := cl.String("manifest", "", "the manifest (default: FILE.manifest.json)")
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	defer cl.close()
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "usage: ward report verify FILE [-manifest FILE]")
		return 2
	}
	mpath := *manifest
	if mpath == "" {
		mpath = pos[0] + ".manifest.json"
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "ward report verify: %v\n", err)
		return 1
	}
	mb, err := os.ReadFile(mpath)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward report verify: %v\n", err)
		return 1
	}
	m, err := report.ParseManifest(mb)
	if err != nil {
		fmt.Fprintf(c.stderr, "ward report verify: %s: %v\n", mpath, err)
		return 1
	}
	key, keyPath, ok := c.loadAuditKey(false)
	if !ok {
		return 1
	}
	if key == nil {
		fmt.Fprintf(c.stderr, "ward report verify: no audit key at %s; set WARD_AUDIT_KEY to the audit.key of the Ward that made the report\n", keyPath)
		return 1
	}
	if err := report.VerifyManifest(key, m, data); err != nil {
		fmt.Fprintf(c.stderr, "ward report verify: %s: NOT VERIFIED: %v\n", pos[0], err)
		return 1
	}
	fmt.Fprintf(c.stdout, "%s: verified: %d bytes, SHA-256 %s, %s report of policy %s generated %s, signed with audit key %s\n",
		pos[0], m.Size, m.SHA256, m.ReportFormat, shortHash(m.PolicyHash), m.GeneratedAt.Format(time.RFC3339), m.KeyID)
	return 0
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
