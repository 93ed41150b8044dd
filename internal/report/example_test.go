package report_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/wardnet/ward/internal/report"
)

// A manifest vouches for a rendered report's bytes under the audit key; a
// reviewer holding the key checks a copy offline.
func ExampleVerifyManifest() {
	key := []byte("an audit key of at least 32 bytes, kept off the database")
	r := &report.Report{GeneratedAt: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	data := []byte(`{"format_version":"1"}` + "\n")

	m, err := report.Sign(key, "report.json", report.FormatJSON, data, r)
	if err != nil {
		panic(err)
	}
	fmt.Println("as signed:", report.VerifyManifest(key, m, data))

	changed := []byte(`{"format_version":"2"}` + "\n")
	fmt.Println("one byte changed:", errors.Is(report.VerifyManifest(key, m, changed), report.ErrReportChanged))
	// Output:
	// as signed: <nil>
	// one byte changed: true
}
