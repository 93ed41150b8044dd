// Package rego holds Ward's built-in Rego modules, embedded in the binary:
// placement (which zone a device is in), effective (which flows are in force,
// and every zone's addresses) and builtin_guardrails (the rules every policy
// must keep, each waivable per flow). internal/engine loads them beside the
// operator's own Rego from the policy directory. quarantine (the decision on
// an alert) is separate: internal/quarantine loads it, and an operator's
// ward.quarantine module replaces it.
//
// Their input is the policy document (policy.Document, docs/rego-input.md)
// plus now_ns; devices are in data.ward.devices, keyed by device id, and the
// zone candidate index in data.ward.index.
package rego

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed *.rego
var files embed.FS

// Modules returns the built-in modules by file name (tests excluded).
func Modules() map[string]string {
	out := map[string]string{}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_test.rego") || e.Name() == quarantineFile {
			continue
		}
		b, _ := fs.ReadFile(files, e.Name())
		out["builtin/"+e.Name()] = string(b)
	}
	return out
}

const quarantineFile = "quarantine.rego"

// Quarantine returns the built-in quarantine decision module (package
// ward.quarantine) by file name. internal/quarantine evaluates it unless the
// policy directory has its own ward.quarantine module, which replaces it.
func Quarantine() (name, src string) {
	b, _ := fs.ReadFile(files, quarantineFile)
	return "builtin/" + quarantineFile, string(b)
}

// Files returns the embedded Rego files, tests included.
func Files() embed.FS { return files }
