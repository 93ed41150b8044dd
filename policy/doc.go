// Package policy is Ward's policy language: it parses a directory of HCL files
// (zones, services, networks, flows, quarantine, targets) into a typed Config
// that keeps the source range of every block and value, resolves references
// such as zone.infusion_pumps statically, and validates the whole policy.
//
// Everything that handles user input returns hcl.Diagnostics rather than an
// error, so problems are reported like Terraform's: file, line, a source
// snippet, a summary and what to do. Start reading at Parser.LoadDir in
// parser.go; each block type has its own decodeXBlock function in the file
// named after it, and cross-block checks live in validate.go.
package policy
