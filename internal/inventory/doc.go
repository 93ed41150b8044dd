// Package inventory is Ward's device model and its importers: the Device
// type, the CSV format of the inventory contract in DESIGN.md, the same
// fields as JSON, and NetBox device exports (docs/netbox-import.md), with the
// validation every device passes before Ward stores it.
//
// Imports are all-or-nothing: Parse returns every device of a file or a
// *ParseError that lists every bad row (its line or record, field, value and
// what to do), so a file is fixed in one pass and never half-imported.
// Parsing streams, so a large file is read once and not held as text.
//
// Import and ImportFile (import.go) then write a parsed file to the store
// in one transaction with its audit event, merging or replacing.
//
// Start reading at Parse in format.go, then ParseCSV in csv.go; Validate in
// device.go holds the rules for one device, shared by every format and by
// single-device edits. ExportCSV writes the import format back out, escaped
// against spreadsheet formula injection.
package inventory
