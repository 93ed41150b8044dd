package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Parser loads policy directories. Its zero value is not usable; use NewParser.
type Parser struct {
	drivers map[string][]string
	options map[string]OptionDecoder
	now     func() time.Time
}

// Option configures a Parser.
type Option func(*Parser)

// WithDrivers sets the target drivers the policy may name, each with the
// roles it can fill. Names come from the driver registry; a target naming any
// other driver is an error.
func WithDrivers(drivers map[string][]string) Option {
	return func(p *Parser) { p.drivers = drivers }
}

// OptionDecoder decodes and validates the attributes of a target block
// that are its driver's own (the ones the policy language does not
// define), into the JSON object the driver is built with. Diagnostics
// point at the attribute. Drivers provide it (drivers.Info.Options).
type OptionDecoder = func(attrs hcl.Attributes) (json.RawMessage, hcl.Diagnostics)

// WithDriverOptions sets, for the drivers that take options, the decoder
// of their attributes in a target block. A target of a driver without a
// decoder may carry no attribute beyond the language's own.
func WithDriverOptions(decoders map[string]OptionDecoder) Option {
	return func(p *Parser) { p.options = decoders }
}

// WithClock sets the clock used to find expired flows (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(p *Parser) { p.now = now }
}

// NewParser returns a Parser.
func NewParser(opts ...Option) *Parser {
	p := &Parser{now: time.Now}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Source is one policy file's name and contents.
type Source struct {
	Filename string
	Bytes    []byte
}

// LoadDir parses and validates every *.hcl file in dir (not its
// subdirectories) and collects the *.rego files beside them.
func (p *Parser) LoadDir(dir string) (*Config, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read policy directory",
			Detail:   fmt.Sprintf("%s. Point -policy at the directory holding your *.hcl files.", err),
		}}
	}
	var srcs []Source
	var diags hcl.Diagnostics
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, ".rego")) {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read policy file", Detail: err.Error()})
			continue
		}
		srcs = append(srcs, Source{Filename: path, Bytes: b})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	if !hasHCL(srcs) {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No policy files",
			Detail:   fmt.Sprintf("The directory %s holds no *.hcl files. Point -policy at the directory holding your policy.", dir),
		}}
	}
	return p.Load(srcs...)
}

func hasHCL(srcs []Source) bool {
	for _, s := range srcs {
		if strings.HasSuffix(s.Filename, ".hcl") {
			return true
		}
	}
	return false
}

// Load parses and validates the given sources as one policy. Files ending in
// .rego are kept as Rego modules; every other file is parsed as HCL.
func (p *Parser) Load(srcs ...Source) (*Config, hcl.Diagnostics) {
	srcs = append([]Source(nil), srcs...)
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Filename < srcs[j].Filename })

	cfg := newConfig()
	hp := hclparse.NewParser()
	var diags hcl.Diagnostics
	var bodies []*hcl.File
	parseFailed := false
	for _, s := range srcs {
		if strings.HasSuffix(s.Filename, ".rego") {
			m := &RegoModule{Filename: s.Filename, Source: s.Bytes}
			if strings.HasSuffix(s.Filename, "_test.rego") {
				cfg.TestModules = append(cfg.TestModules, m)
			} else {
				cfg.Modules = append(cfg.Modules, m)
			}
			continue
		}
		f, d := hp.ParseHCL(s.Bytes, s.Filename)
		diags = append(diags, d...)
		if f != nil {
			cfg.Files[s.Filename] = f
		}
		if d.HasErrors() || f == nil {
			parseFailed = true
			continue
		}
		bodies = append(bodies, f)
	}
	for _, f := range bodies {
		diags = append(diags, cfg.decodeFile(f, p)...)
	}
	// A file that failed to parse contributed nothing, so cross-file checks
	// would report its blocks as missing: fix the syntax first.
	if !parseFailed {
		diags = append(diags, p.validate(cfg)...)
	}
	diags = append(diags, cfg.checkRego()...)
	SortDiagnostics(diags)
	return cfg, diags
}

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "settings"},
		{Type: "zone", LabelNames: []string{"name"}},
		{Type: "service", LabelNames: []string{"name"}},
		{Type: "network", LabelNames: []string{"name"}},
		{Type: "flow", LabelNames: []string{"name"}},
		{Type: "quarantine"},
		{Type: "target", LabelNames: []string{"name"}},
	},
}

// decodeFile decodes one file's blocks into cfg, reporting duplicates.
func (cfg *Config) decodeFile(f *hcl.File, p *Parser) hcl.Diagnostics {
	content, diags := f.Body.Content(fileSchema)
	for _, block := range content.Blocks {
		switch block.Type {
		case "settings":
			s, d := decodeSettingsBlock(block)
			diags = append(diags, d...)
			if cfg.Settings != nil {
				diags = append(diags, duplicateSingleton("policy", block, cfg.Settings.DeclRange))
			} else if s != nil {
				cfg.Settings = s
			}
		case "quarantine":
			q, d := decodeQuarantineBlock(block)
			diags = append(diags, d...)
			if cfg.Quarantine != nil {
				diags = append(diags, duplicateSingleton("policy", block, cfg.Quarantine.DeclRange))
			} else if q != nil {
				cfg.Quarantine = q
			}
		case "zone":
			z, d := decodeZoneBlock(block)
			diags = append(diags, d...)
			diags = append(diags, addNamed(cfg.Zones, z, block, func(z *Zone) hcl.Range { return z.DeclRange })...)
		case "service":
			s, d := decodeServiceBlock(block)
			diags = append(diags, d...)
			diags = append(diags, addNamed(cfg.Services, s, block, func(s *Service) hcl.Range { return s.DeclRange })...)
		case "network":
			n, d := decodeNetworkBlock(block)
			diags = append(diags, d...)
			diags = append(diags, addNamed(cfg.Networks, n, block, func(n *Network) hcl.Range { return n.DeclRange })...)
		case "flow":
			fl, d := decodeFlowBlock(block)
			diags = append(diags, d...)
			diags = append(diags, addNamed(cfg.Flows, fl, block, func(f *Flow) hcl.Range { return f.DeclRange })...)
		case "target":
			t, d := decodeTargetBlock(block, p.drivers, p.options)
			diags = append(diags, d...)
			diags = append(diags, addNamed(cfg.Targets, t, block, func(t *Target) hcl.Range { return t.DeclRange })...)
		}
	}
	return diags
}

// addNamed records a named block, or reports it as a duplicate of the first
// one declared with that name. v may be nil when decoding failed badly.
func addNamed[T any](m map[string]*T, v *T, block *hcl.Block, declRange func(*T) hcl.Range) hcl.Diagnostics {
	name := block.Labels[0]
	if prev, ok := m[name]; ok {
		r := declRange(prev)
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Duplicate %s %q", block.Type, name),
			Detail: fmt.Sprintf("A %s named %q was already declared at %s. Each %s needs a unique name; rename or remove one of them.",
				block.Type, name, where(r), block.Type),
			Subject: block.LabelRanges[0].Ptr(),
			Context: block.DefRange.Ptr(),
		}}
	}
	if v != nil {
		m[name] = v
	}
	return nil
}

func duplicateSingleton(parent string, block *hcl.Block, prev hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s block", block.Type),
		Detail:   fmt.Sprintf("A %s has at most one %s block, and one was already declared at %s. Merge the two.", parent, block.Type, where(prev)),
		Subject:  block.DefRange.Ptr(),
	}
}
