package policy

import (
	"strings"
	"testing"
	"time"
)

func TestServicePorts(t *testing.T) {
	tests := []struct {
		src     string
		want    []PortRange
		wantErr string
	}{
		{`tcp = [443]`, []PortRange{{443, 443}}, ""},
		{`tcp = 443`, []PortRange{{443, 443}}, ""},
		{`tcp = ["8000-8100", 1, 65535]`, []PortRange{{8000, 8100}, {1, 1}, {65535, 65535}}, ""},
		{`tcp = [" 20 - 21 "]`, nil, "not a port or a port range"},
		{`tcp = ["+80"]`, nil, "not a port or a port range"},
		{`tcp = [0]`, nil, "outside 1-65535"},
		{`tcp = [65536]`, nil, "outside 1-65535"},
		{`tcp = ["9000-8000"]`, nil, "runs backwards"},
		{`tcp = ["https"]`, nil, "not a port or a port range"},
		{`tcp = [1.5]`, nil, "whole numbers"},
		{`tcp = [true]`, nil, "must be numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			cfg, diags := newTestParser().Load(Source{Filename: "s.hcl", Bytes: []byte(`service "s" { ` + tt.src + " }")})
			if tt.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got := cfg.Services["s"].TCP
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"24h", 24 * time.Hour, true},
		{"30m", 30 * time.Minute, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"d", 0, false},
		{"tomorrow", 0, false},
		{"99999d", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseTTL(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFlowExpiredAt(t *testing.T) {
	f := &Flow{Expires: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2027, 6, 30, 23, 59, 59, 0, time.UTC), false},
		{time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		if got := f.ExpiredAt(tt.at); got != tt.want {
			t.Errorf("ExpiredAt(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
	if (&Flow{}).ExpiredAt(time.Now()) {
		t.Error("a flow without expires must never expire")
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"infusion_pumps", "patient_monitors", "linux_nftables"}
	for given, want := range map[string]string{
		"infusion_pump":  "infusion_pumps",
		"patient_monitr": "patient_monitors",
		"linux_nft":      "linux_nftables",
		"guest":          "",
	} {
		if got := suggest(given, cands); got != want {
			t.Errorf("suggest(%q) = %q, want %q", given, got, want)
		}
	}
}

func TestFormatRefusesSyntaxErrors(t *testing.T) {
	if _, diags := Format("bad.hcl", []byte("zone \"a\" {\n")); !diags.HasErrors() {
		t.Fatal("Format must refuse a file with syntax errors")
	}
}

func TestLoadDirErrors(t *testing.T) {
	if _, diags := newTestParser().LoadDir("testdata/does-not-exist"); !diags.HasErrors() || !strings.Contains(diags.Error(), "Cannot read policy directory") {
		t.Errorf("missing directory: got %v", diags)
	}
	if _, diags := newTestParser().LoadDir(t.TempDir()); !diags.HasErrors() || !strings.Contains(diags.Error(), "No policy files") {
		t.Errorf("empty directory: got %v", diags)
	}
}
