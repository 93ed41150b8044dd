package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// controlsJSON is the control crosswalk: data, so that adding a framework
// or changing what evidences a control is a reviewed data change.
//
//go:embed controls.json
var controlsJSON []byte

// Control statuses.
const (
	StatusMet          = "met"
	StatusPartial      = "partial"
	StatusNotEvidenced = "not_evidenced"
)

// ControlStatuses lists every status.
var ControlStatuses = []string{StatusMet, StatusPartial, StatusNotEvidenced}

// Control is one control of a framework, with the status the report
// evidences and why.
type Control struct {
	ID        string `json:"id"`
	Framework string `json:"framework"`
	Ref       string `json:"ref"`
	Title     string `json:"title"`
	Source    string `json:"source"`
	// Verified says whether Title was checked against Source; Note says
	// how, or why not, so a reviewer knows what to double-check.
	Verified bool     `json:"verified"`
	Note     string   `json:"note,omitempty"`
	Sections []string `json:"sections"`
	Status   string   `json:"status"`
	Reasons  []string `json:"reasons"`
}

// controlDef is one entry of controls.json.
type controlDef struct {
	ID        string `json:"id"`
	Framework string `json:"framework"`
	Ref       string `json:"ref"`
	Title     string `json:"title"`
	Source    string `json:"source"`
	// Verified is a pointer so that an entry must say it either way.
	Verified *bool    `json:"verified"`
	Note     string   `json:"note"`
	Sections []string `json:"sections"`
	Rule     struct {
		Evidence   []string `json:"evidence"`
		NoFindings []string `json:"no_findings"`
		Checks     []string `json:"checks"`
	} `json:"rule"`
}

// Sections a control may name, and the checks a rule may use.
var (
	knownSections = []string{"zones", "flows", "matrix", "exceptions", "targets", "quarantines", "changes", "devices_by_zone", "findings", "audit", "recertification"}
	knownChecks   = []string{"targets_applied", "default_deny", "audit_intact", "audit_keyed", "quarantines_enforced", "recertification_complete"}
)

// loadControls decodes controls.json, see parseControls.
func loadControls() ([]controlDef, error) { return parseControls(controlsJSON) }

// parseControls decodes a crosswalk and refuses a section, finding kind or
// check the code does not know, so a typo cannot make a control "met".
func parseControls(data []byte) ([]controlDef, error) {
	var doc struct {
		About    string       `json:"about"`
		Controls []controlDef `json:"controls"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("report: controls.json: %w", err)
	}
	seen := map[string]bool{}
	for _, c := range doc.Controls {
		if c.ID == "" || c.Title == "" || c.Source == "" || len(c.Sections) == 0 || seen[c.ID] {
			return nil, fmt.Errorf("report: controls.json: control %q: an id (unique), a title, a source and sections are required", c.ID)
		}
		if c.Verified == nil || (!*c.Verified && c.Note == "") {
			return nil, fmt.Errorf("report: controls.json: control %s: say whether its title was checked against its source (\"verified\"), and if not, why (\"note\")", c.ID)
		}
		seen[c.ID] = true
		for _, s := range slices.Concat(c.Sections, c.Rule.Evidence) {
			if !slices.Contains(knownSections, s) {
				return nil, fmt.Errorf("report: controls.json: control %s names unknown section %q (known: %s)", c.ID, s, strings.Join(knownSections, ", "))
			}
		}
		for _, k := range c.Rule.NoFindings {
			if !slices.Contains(FindingKinds, k) {
				return nil, fmt.Errorf("report: controls.json: control %s names unknown finding kind %q", c.ID, k)
			}
		}
		for _, k := range c.Rule.Checks {
			if !slices.Contains(knownChecks, k) {
				return nil, fmt.Errorf("report: controls.json: control %s names unknown check %q", c.ID, k)
			}
		}
	}
	return doc.Controls, nil
}

// evaluateControls sets each control's status from the report.
func evaluateControls(r *Report) ([]Control, error) {
	defs, err := loadControls()
	if err != nil {
		return nil, err
	}
	kinds := map[string]int{} // flows with a finding of each kind
	seen := map[[2]string]bool{}
	for _, g := range r.Findings {
		for _, f := range g.Items {
			if k := [2]string{f.Kind, f.Flow}; !seen[k] {
				seen[k] = true
				kinds[f.Kind]++
			}
		}
	}
	out := make([]Control, 0, len(defs))
	for _, d := range defs {
		c := Control{ID: d.ID, Framework: d.Framework, Ref: d.Ref, Title: d.Title, Source: d.Source, Verified: *d.Verified, Note: d.Note, Sections: d.Sections, Reasons: []string{}}
		for _, s := range d.Rule.Evidence {
			if sectionLen(r, s) == 0 {
				c.Reasons = append(c.Reasons, fmt.Sprintf("the report's %s section is empty", s))
			}
		}
		if len(c.Reasons) > 0 {
			c.Status = StatusNotEvidenced
			out = append(out, c)
			continue
		}
		for _, k := range d.Rule.NoFindings {
			if n := kinds[k]; n > 0 {
				c.Reasons = append(c.Reasons, fmt.Sprintf("%d flow(s) with finding %s", n, k))
			}
		}
		for _, k := range d.Rule.Checks {
			if why := check(r, k); why != "" {
				c.Reasons = append(c.Reasons, why)
			}
		}
		c.Status = StatusMet
		if len(c.Reasons) > 0 {
			c.Status = StatusPartial
		}
		out = append(out, c)
	}
	return out, nil
}

// sectionLen is how many entries a report section holds.
func sectionLen(r *Report, s string) int {
	switch s {
	case "zones":
		return len(r.Zones)
	case "flows":
		return len(r.Flows)
	case "matrix":
		return len(r.Matrix)
	case "exceptions":
		return len(r.Exceptions)
	case "targets":
		return len(r.Targets)
	case "quarantines":
		return len(r.Quarantines)
	case "changes":
		return len(r.Changes)
	case "devices_by_zone":
		n := 0
		for _, z := range r.DevicesByZone {
			n += z.Count
		}
		return n
	case "findings":
		return 1 // an empty findings section is evidence too
	case "audit":
		return r.Audit.Events
	case "recertification":
		return len(r.Recertification)
	}
	return 0
}

// check runs one named check; it returns why it fails, or "".
func check(r *Report, name string) string {
	switch name {
	case "targets_applied":
		var not []string
		for _, t := range r.Targets {
			if t.Status != "applied" && t.Status != "render_only" {
				not = append(not, t.Name+" ("+t.Status+")")
			}
		}
		if len(not) > 0 {
			return "targets not known to enforce the policy: " + strings.Join(not, ", ")
		}
	case "default_deny":
		if r.DefaultAction != "deny" {
			return fmt.Sprintf("the default action is %q, not deny", r.DefaultAction)
		}
	case "audit_intact":
		if !r.Audit.Intact {
			return "the audit log does not verify: " + r.Audit.Problem
		}
	case "audit_keyed":
		if r.Audit.Unkeyed > 0 || r.Audit.Keyed == 0 {
			return fmt.Sprintf("the audit log has %d keyed and %d unkeyed event(s): only keyed events resist rewriting", r.Audit.Keyed, r.Audit.Unkeyed)
		}
	case "recertification_complete":
		return recertCheck(r)
	case "quarantines_enforced":
		var not []string
		for _, q := range r.Quarantines {
			if q.EnforcedAt == nil && q.ReleasedAt == nil && q.Status == "active" {
				not = append(not, fmt.Sprintf("#%d %s", q.ID, q.Device))
			}
		}
		if len(not) > 0 {
			return "active quarantines not yet enforced on any target: " + strings.Join(not, ", ")
		}
	}
	return ""
}
