package policy

import (
	"encoding/json"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is a whole policy: every block from every file of one directory.
type Config struct {
	Settings   *Settings
	Zones      map[string]*Zone
	Services   map[string]*Service
	Networks   map[string]*Network
	Flows      map[string]*Flow
	Quarantine *Quarantine
	Targets    map[string]*Target

	// Modules are the Rego files found beside the HCL (guardrails, custom
	// placement); TestModules are the *_test.rego files among them.
	Modules     []*RegoModule
	TestModules []*RegoModule

	// Files holds every parsed HCL file by name, for diagnostic snippets.
	Files map[string]*hcl.File
}

func newConfig() *Config {
	return &Config{
		Zones:    map[string]*Zone{},
		Services: map[string]*Service{},
		Networks: map[string]*Network{},
		Flows:    map[string]*Flow{},
		Targets:  map[string]*Target{},
		Files:    map[string]*hcl.File{},
	}
}

// Settings is the optional settings block.
type Settings struct {
	DefaultZone      string
	DefaultZoneRange hcl.Range
	DefaultAction    string // "deny" (the default) or "allow"
	DeclRange        hcl.Range
}

// Criticalities lists how critical a device or zone is to patient care, most
// critical first.
var criticalities = []string{"life_critical", "high", "medium", "low"}

// Criticalities returns the valid criticality values, most critical first.
func Criticalities() []string { return slices.Clone(criticalities) }

// Zone is a device class whose members share a VLAN and the same flows.
type Zone struct {
	Name        string
	Description string
	Criticality string
	VLAN        int // 0 when the zone has no VLAN of its own
	VLANRange   hcl.Range
	// Subnets are also used as the zone's address set; SubnetRanges[i] is
	// where Subnets[i] was written.
	Subnets      []netip.Prefix
	SubnetRanges []hcl.Range
	Enforcement  string // "enforce" or "monitor"
	Priority     int
	Match        *Match // nil when devices reach the zone only by default or Rego placement
	DeclRange    hcl.Range
}

// Match selects inventory devices: every key must match (AND), and a key
// matches when any of its patterns does (OR). Patterns are globs with the
// semantics of Rego's glob.match without delimiters: * matches any text,
// slashes included, so port = ["Gi1/0/*"] matches Gi1/0/5.
type Match struct {
	// Fields maps an inventory field (class, vendor, model, ...) to patterns.
	Fields map[string][]string
	// IP holds prefixes a device address must fall in.
	IP []netip.Prefix
	// Labels maps a label key (an extra inventory column) to patterns.
	Labels    map[string][]string
	DeclRange hcl.Range
}

// MatchFields are the inventory fields a match block may test with globs.
var matchFields = []string{"name", "class", "vendor", "model", "firmware", "criticality", "site", "location", "switch", "port", "mac"}

// Service is a set of ports and ICMP types.
type Service struct {
	Name        string
	Description string
	TCP         []PortRange
	UDP         []PortRange
	ICMP        []string
	ICMPv6      []string
	DeclRange   hcl.Range
}

// PortRange is an inclusive range of ports; a single port has From == To.
type PortRange struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Network is a named set of addresses outside the inventory.
type Network struct {
	Name        string
	Description string
	CIDRs       []netip.Prefix
	CIDRRanges  []hcl.Range
	DeclRange   hcl.Range
}

// RefKind is the kind of block a reference points at.
type RefKind string

const (
	RefZone    RefKind = "zone"
	RefNetwork RefKind = "network"
	RefService RefKind = "service"
)

// Ref is a static reference such as zone.infusion_pumps.
type Ref struct {
	Kind  RefKind
	Name  string
	Range hcl.Range
}

func (r Ref) String() string { return string(r.Kind) + "." + r.Name }

// Flow allows traffic from one set of zones or networks to another.
type Flow struct {
	Name        string
	Description string
	From        []Ref
	To          []Ref
	Services    []Ref
	Essential   bool
	Reason      string
	Ticket      string
	// Owner is the team or person who answers for the flow: recertification
	// campaigns ask them to re-approve it.
	Owner string
	// Waive names guardrail rules this flow is allowed to break, for the
	// reason in WaiveReason; plans report every waiver.
	Waive       []string
	WaiveReason string
	// Expires is the last day the flow is in force (UTC); zero when it does
	// not expire.
	Expires      time.Time
	ExpiresRange hcl.Range
	DeclRange    hcl.Range
}

// ExpiredAt reports whether the flow is no longer in force at t: a flow is in
// force through the whole of its expiry day.
func (f *Flow) ExpiredAt(t time.Time) bool {
	return !f.Expires.IsZero() && !t.Before(f.Expires.AddDate(0, 0, 1))
}

// Quarantine is how Ward contains a device an alert is about.
type Quarantine struct {
	VLAN           int
	VLANRange      hcl.Range
	Remediation    []Ref
	DefaultTTL     time.Duration
	MaxAutoPerHour int
	// Action maps a criticality to isolate, restrict or notify. Criticalities
	// not listed get notify: a person decides.
	Action           map[string]string
	ApprovalRequired []string
	// MinSeverity is the lowest alert severity that acts; alerts below it
	// only notify.
	MinSeverity string
	// TTL overrides DefaultTTL per level (isolate, restrict).
	TTL map[string]time.Duration
	// PendingTTL is how long an alert held for a person (by the storm
	// guard) waits for approval before it expires unapproved.
	PendingTTL time.Duration
	DeclRange  hcl.Range
}

// Quarantine actions.
const (
	ActionIsolate  = "isolate"
	ActionRestrict = "restrict"
	ActionNotify   = "notify"
)

// Target is a switch or firewall that Ward configures.
type Target struct {
	Name        string
	Description string
	Driver      string
	Address     string
	Port        int
	Username    string
	Credential  string
	KnownHosts  string
	// Roles are the jobs the target does, sorted: "firewall",
	// "access_switch", or both (role = ["firewall", "access_switch"]).
	Roles []string
	// Model picks the driver's capacity limits ("" when not given).
	Model string
	// RenderOnly is push = false: Ward plans and renders the target but
	// never connects to it. (The zero value pushes.)
	RenderOnly bool
	// Options are the driver's own attributes, decoded by the driver.
	Options   json.RawMessage
	DeclRange hcl.Range
}

// RegoModule is a Rego file from the policy directory.
type RegoModule struct {
	Filename string
	Source   []byte
}

// sortedKeys returns a map's keys in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ZoneNames returns the zone names in order.
func (c *Config) ZoneNames() []string { return sortedKeys(c.Zones) }

// FlowNames returns the flow names in order.
func (c *Config) FlowNames() []string { return sortedKeys(c.Flows) }
