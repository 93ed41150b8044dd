package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/policy"
)

// getReport answers GET /api/v1/report?format=json|csv|html|pdf&as_of=&since=:
// the compliance report internal/report builds, the same one ward report
// writes. PDF is the HTML printed by headless Chromium on the server, as
// ward report -format pdf does; without Chromium it is a 503 that says so.
func (s *Server) getReport(c *gin.Context) {
	format := c.DefaultQuery("format", report.FormatJSON)
	switch format {
	case report.FormatJSON, report.FormatCSV, report.FormatHTML:
	case report.FormatPDF:
		// Before building anything: without a browser there is no PDF.
		if _, err := report.Chromium(); err != nil {
			fail(c, http.StatusServiceUnavailable, "pdf_unavailable", "this Ward server cannot make PDFs: "+err.Error()+"; or ask for format=html", "format")
			return
		}
		// Each PDF is a Chromium process (seconds, ~100 MB): a few at a
		// time, so that readers cannot exhaust the server.
		select {
		case s.pdfSlots <- struct{}{}:
			defer func() { <-s.pdfSlots }()
		default:
			c.Header("Retry-After", "10")
			fail(c, http.StatusTooManyRequests, "busy", fmt.Sprintf("%d PDF reports are being printed now; retry in a few seconds, or ask for format=html", cap(s.pdfSlots)), "format")
			return
		}
	default:
		fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("format %q: want json, csv, html or pdf", format), "format")
		return
	}
	var in report.Inputs
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"as_of", &in.AsOf}, {"since", &in.Since}} {
		v := c.Query(q.name)
		if v == "" {
			continue
		}
		t, err := report.ParseTime(v)
		if err != nil {
			fail(c, http.StatusBadRequest, "invalid_query", q.name+": "+err.Error(), q.name)
			return
		}
		*q.dst = t
	}
	s.withView(c, func(v *view) {
		devices := make([]inventory.Device, 0, len(v.eng.Devices()))
		for _, d := range v.eng.Devices() {
			devices = append(devices, d)
		}
		in.Policy, in.Devices, in.Result = v.pol, devices, v.res
		in.Store, in.Drivers, in.Now = s.cfg.Store, s.cfg.Drivers, s.cfg.Now
		in.GitCommit, in.WardVersion = policy.GitCommit(s.cfg.PolicyDir), buildVersion()
		r, err := report.Build(c.Request.Context(), in)
		if err != nil {
			fail(c, http.StatusUnprocessableEntity, "report_failed", err.Error(), "")
			return
		}
		body, err := renderReport(c.Request.Context(), r, format)
		if err != nil {
			s.internal(c, "rendering the report as "+format, err)
			return
		}
		// The digest lets a reviewer tie a saved copy to this answer; a
		// signed manifest comes from ward report -o, which holds the key.
		sum := sha256.Sum256(body)
		c.Header("X-Ward-Report-SHA256", hex.EncodeToString(sum[:]))
		c.Header("Cache-Control", "no-store")
		if format == report.FormatPDF {
			c.Header("Content-Disposition", `inline; filename="ward-report.pdf"`)
		}
		c.Data(http.StatusOK, report.ContentType(format), body)
	})
}

// renderReport renders r in format; PDF is the HTML printed by Chromium.
func renderReport(ctx context.Context, r *report.Report, format string) ([]byte, error) {
	var buf bytes.Buffer
	if format != report.FormatPDF {
		err := report.Write(&buf, r, format)
		return buf.Bytes(), err
	}
	if err := report.WriteHTML(&buf, r); err != nil {
		return nil, err
	}
	return report.PrintPDF(ctx, buf.Bytes())
}

// buildVersion is the module version this binary was built as, or "dev".
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
