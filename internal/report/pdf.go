package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// FormatPDF is the HTML report printed to PDF by headless Chromium
// (PrintPDF); Write does not render it, since it needs a browser.
const FormatPDF = "pdf"

// ErrNoChromium is PrintPDF's error when no Chromium is installed.
var ErrNoChromium = errors.New("a PDF report is the HTML report printed by headless Chromium, and none of chromium, chromium-browser or google-chrome is on PATH; " +
	"install Chromium (apt-get install chromium; make deps does), or take the HTML report and print it from a browser")

// chromiumNames are the commands Chromium is installed as.
var chromiumNames = [...]string{"chromium", "chromium-browser", "google-chrome"}

// Chromium is the path of the Chromium PrintPDF runs, or ErrNoChromium.
func Chromium() (string, error) {
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// PrintPDF prints an HTML page (WriteHTML's) to PDF with headless
// Chromium, within two minutes or ctx, whichever ends first.
func PrintPDF(ctx context.Context, html []byte) ([]byte, error) {
	bin, err := Chromium()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ward-report-")
	if err != nil {
		return nil, fmt.Errorf("printing the report to PDF: %w", err)
	}
	defer os.RemoveAll(dir)
	page, pdf := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(page, html, 0o600); err != nil {
		return nil, fmt.Errorf("printing the report to PDF: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	args := []string{"--headless", "--disable-gpu", "--no-pdf-header-footer", "--user-data-dir=" + filepath.Join(dir, "profile"),
		"--print-to-pdf=" + pdf, "file://" + page}
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox; the page is
		// Ward's own, without script, read from a private temporary file.
		args = append([]string{"--no-sandbox"}, args...)
	}
	if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("printing the report with %s: %v\n%s", bin, err, out)
	}
	b, err := os.ReadFile(pdf)
	if err != nil {
		return nil, fmt.Errorf("printing the report with %s: no PDF was written: %w", bin, err)
	}
	return b, nil
}
