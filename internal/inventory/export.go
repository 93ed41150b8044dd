package inventory

import (
	"encoding/csv"
	"io"
	"slices"
	"strings"
)

// ExportCSV writes devices in the CSV import format: the contract header,
// then one column per label key (sorted), then a row per device.
//
// A cell that starts with =, +, -, @, a tab or a carriage return is written
// with a leading ' (OWASP's guidance on CSV injection), so a spreadsheet
// shows it as text instead of running it as a formula. Ward itself treats
// every cell as text, so importing an exported file keeps the quote: a name
// =cmd exports as '=cmd and imports back as '=cmd. Export for people, import
// from the source of truth.
func ExportCSV(w io.Writer, devices []Device) error {
	var keys []string
	for _, d := range devices {
		for k := range d.Labels {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)

	cw := csv.NewWriter(w)
	header := append(columns[:len(columns):len(columns)], keys...)
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for _, d := range devices {
		row = append(row[:0], d.Name, d.MAC, addrText(d.IP), d.Class, d.Vendor, d.Model, d.Firmware,
			d.Criticality, d.Site, d.Location, d.Switch, d.Port)
		for _, k := range keys {
			row = append(row, d.Labels[k])
		}
		for i, v := range row {
			row[i] = EscapeCell(v)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// EscapeCell returns v as ExportCSV writes it: with a leading ' when a
// spreadsheet would otherwise read it as a formula.
func EscapeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
