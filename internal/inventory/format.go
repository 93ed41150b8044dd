package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Format is an inventory file format.
type Format string

// The formats Parse reads.
const (
	FormatCSV    Format = "csv"    // the contract header of DESIGN.md; see ParseCSV
	FormatJSON   Format = "json"   // an array of devices with the CSV's fields; see ParseJSON
	FormatNetBox Format = "netbox" // a NetBox /api/dcim/devices/ export; see ParseNetBox
)

// ParseFormat parses a format name as given on the command line or in an
// API request (case-insensitive).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatCSV, FormatJSON, FormatNetBox:
		return f, nil
	}
	return "", fmt.Errorf("unknown inventory format %q; want csv, json or netbox", s)
}

// DetectFormat guesses a file's format from its name and the first bytes of
// its content (head; a few KiB is plenty, it may be cut anywhere). A .json
// file, or one whose content starts with [ or {, is a NetBox export when its
// device objects carry NetBox's own fields (device_type, role, device_role,
// primary_ip) or it is a {"results": [...]} envelope, and Ward JSON
// otherwise. Anything else is CSV, whose parser explains a wrong header.
func DetectFormat(name string, head []byte) Format {
	ext := strings.ToLower(filepath.Ext(name))
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	looksJSON := len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{')
	switch {
	case ext == ".csv" || ext == ".txt":
		return FormatCSV
	case ext == ".json" || looksJSON:
		if netboxKeys(head) {
			return FormatNetBox
		}
		return FormatJSON
	}
	return FormatCSV
}

// netboxKeys walks the JSON tokens of head, which may be cut short, and
// reports whether a device object (an object in an array) has a key only a
// NetBox export has, or the document is a {"results": ...} envelope.
func netboxKeys(head []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(head))
	// For each open container: is it an object, and is its next token a key?
	type frame struct{ object, key bool }
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // the end of head, or not JSON
		}
		if tok == json.Delim('}') || tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			top := stack[n-1]
			if top.key {
				top.key = false
				inArray := n >= 2 && !stack[n-2].object // a device object, not e.g. labels
				switch tok {
				case "device_type", "device_role", "role", "primary_ip", "primary_ip4", "primary_ip6", "custom_fields":
					if inArray {
						return true
					}
				case "results":
					if n == 1 {
						return true
					}
				}
				continue
			}
			top.key = true // tok is this key's value
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		}
	}
}

// Parse reads a whole inventory file in the given format. It is
// all-or-nothing: it returns every device, or a *ParseError listing every
// problem (up to MaxProblems), each with its line or record and field.
// ParseError.File is left empty for the caller to fill in.
func Parse(r io.Reader, format Format) ([]Device, error) {
	switch format {
	case FormatCSV:
		return ParseCSV(r)
	case FormatJSON:
		return ParseJSON(r)
	case FormatNetBox:
		return ParseNetBox(r)
	}
	return nil, fmt.Errorf("unknown inventory format %q; want csv, json or netbox", format)
}
