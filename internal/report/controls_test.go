package report

import (
	"strings"
	"testing"
)

// TestControlsCrosswalk: every control of the shipped crosswalk names its
// document, its title and the sections evidencing it, and says whether its
// title was checked against that document (with a note when not).
func TestControlsCrosswalk(t *testing.T) {
	defs, err := loadControls()
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) == 0 {
		t.Fatal("the crosswalk has no control")
	}
	for _, d := range defs {
		if strings.TrimSpace(d.Title) == "" || strings.TrimSpace(d.Source) == "" || len(d.Sections) == 0 {
			t.Errorf("control %s: title %q, source %q, sections %v: all three are required", d.ID, d.Title, d.Source, d.Sections)
		}
		if d.Verified == nil {
			t.Errorf("control %s does not say whether its title was verified", d.ID)
		} else if !*d.Verified && strings.TrimSpace(d.Note) == "" {
			t.Errorf("control %s is not verified and has no note saying why", d.ID)
		}
	}
}

// TestParseControls: an entry missing what a reviewer needs, or naming what
// the code does not know, is refused with the control named.
func TestParseControls(t *testing.T) {
	const rule = `"rule": {"evidence": ["zones"], "no_findings": [], "checks": []}`
	entry := func(fields string) string {
		return `{"about": "test", "controls": [{"id": "x-1", "framework": "F", "ref": "1", ` + fields + `, ` + rule + `}]}`
	}
	cases := []struct {
		name    string
		json    string
		wantErr string // "" when the entry is accepted
	}{
		{"complete and verified", entry(`"title": "T", "source": "S", "verified": true, "sections": ["zones"]`), ""},
		{"not verified, with a note", entry(`"title": "T", "source": "S", "verified": false, "note": "why", "sections": ["zones"]`), ""},
		{"no title", entry(`"title": "", "source": "S", "verified": true, "sections": ["zones"]`), "a title"},
		{"no source", entry(`"title": "T", "verified": true, "sections": ["zones"]`), "a source"},
		{"no sections", entry(`"title": "T", "source": "S", "verified": true, "sections": []`), "sections are required"},
		{"verified not said", entry(`"title": "T", "source": "S", "sections": ["zones"]`), `"verified"`},
		{"not verified, no note", entry(`"title": "T", "source": "S", "verified": false, "sections": ["zones"]`), `"note"`},
		{"unknown section", entry(`"title": "T", "source": "S", "verified": true, "sections": ["zonez"]`), `unknown section "zonez"`},
		{"unknown field", entry(`"title": "T", "source": "S", "verified": true, "sections": ["zones"], "url": "u"`), "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := parseControls([]byte(tc.json))
			if tc.wantErr == "" {
				if err != nil || len(defs) != 1 {
					t.Fatalf("got %d control(s), %v; want the one control", len(defs), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			// The JSON decoder's own errors cannot name the control.
			if tc.name != "unknown field" && !strings.Contains(err.Error(), "x-1") {
				t.Errorf("error %q does not name the control", err)
			}
		})
	}
}
