// Package intent is what the network must enforce, independent of any
// vendor: for each firewall target, named address sets and ordered rules;
// for each access switch, the VLAN of every port a device is attached to.
// Compile builds it from an engine evaluation; drivers render it into their
// own configuration. An Intent is a plain value: comparable, serialisable,
// and stored as the last-applied state of each target.
//
// Start reading at Compile (compile.go). Diff (diff.go) is the semantic
// change a plan shows first, including the essential flows a change
// removes or narrows. Aggregate (aggregate.go) and SetNames (names.go) are
// the address and naming arithmetic both rely on.
package intent

import "net/netip"

// Intent is the enforcement intent for every target of a policy.
type Intent struct {
	Targets map[string]*Target `json:"targets"`
}

// Target is the intent for one target; exactly one of Firewall and Switch
// is set, by its role.
type Target struct {
	Name     string    `json:"name"`
	Driver   string    `json:"driver"`
	Role     string    `json:"role"` // "firewall" or "access_switch"
	Firewall *Firewall `json:"firewall,omitempty"`
	Switch   *Switch   `json:"switch,omitempty"`
}

// Firewall is a stateful filter between zones: established and related
// traffic is accepted, then Rules in order, then monitor zones are logged
// and accepted, then DefaultAction.
type Firewall struct {
	Sets  []AddressSet `json:"sets"`  // sorted by name
	Rules []Rule       `json:"rules"` // in order: one per flow, service protocol and destination/source set pair
	// Monitor lists the sets of zones in enforcement = "monitor": traffic
	// from or to them that no rule accepts is logged and accepted.
	Monitor []string `json:"monitor"`
	// DefaultAction is "drop" (settings.default_action = "deny") or "accept".
	DefaultAction string `json:"default_action"`
	// Quarantine holds the names of the quarantine sets, which start empty:
	// addresses in Isolate reach only Remediation; addresses in Restrict
	// keep only the rules marked Essential.
	Quarantine Quarantine `json:"quarantine"`
}

// AddressSet is a named set of addresses: a zone's devices and subnets, or
// a network's CIDRs, aggregated into the fewest prefixes. Members follow
// what ward query reach says an address stands for: a device's address is
// in its zone's set only, an address in zone subnets in the most specific
// subnet's zone's set only, and network sets hold neither (see Compile).
type AddressSet struct {
	Name string         `json:"name"` // "zone_<zone>" or "net_<network>"
	Kind string         `json:"kind"` // "zone" or "network"
	Of   string         `json:"of"`   // the zone or network name
	V4   []netip.Prefix `json:"v4"`   // sorted, disjoint, maximally merged
	V6   []netip.Prefix `json:"v6"`
}

// Rule accepts one protocol's traffic from one set to another.
type Rule struct {
	Flow      string   `json:"flow"`    // the flow it comes from
	Service   string   `json:"service"` // the service it comes from
	From      string   `json:"from"`    // address set name
	To        string   `json:"to"`      // address set name
	Proto     string   `json:"proto"`   // "tcp", "udp", "icmp" or "icmpv6"
	Ports     []Ports  `json:"ports,omitempty"`
	ICMPTypes []string `json:"icmp_types,omitempty"` // empty with proto icmp/icmpv6: any type
	Essential bool     `json:"essential"`
}

// Ports is an inclusive port range.
type Ports struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Quarantine names the quarantine sets and what isolated devices may reach.
type Quarantine struct {
	IsolateSet  string   `json:"isolate_set"`  // e.g. "quarantine_isolate"
	RestrictSet string   `json:"restrict_set"` // e.g. "quarantine_restrict"
	Remediation []string `json:"remediation"`  // address sets an isolated device may still reach
}

// Switch is the access-port VLAN of every device attached to a switch.
type Switch struct {
	Ports []PortVLAN `json:"ports"` // sorted by port
	// QuarantineVLAN is where an isolated device's port is moved (0: none).
	QuarantineVLAN int `json:"quarantine_vlan"`
}

// PortVLAN is one access port and the VLAN it must carry.
type PortVLAN struct {
	Port   string `json:"port"`
	VLAN   int    `json:"vlan"`
	Device string `json:"device"`
	Zone   string `json:"zone"`
}
