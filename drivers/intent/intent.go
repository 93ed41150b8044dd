// Package intent is the public, vendor-neutral model every driver consumes:
// what one target must enforce (address sets and ordered rules for the
// firewall role, the VLAN of each access port for the access-switch role),
// and the form a driver parses a device's running configuration back into,
// so drift and "applied as planned" compare models, not bytes.
//
// It lives under drivers/, not internal/, so a driver can be written
// outside this module, as a database/sql driver can. Ward's compiler
// (internal/intent) builds these values from the policy and the inventory;
// nothing here knows about either.
//
// Start reading at Target. Enforced is the projection two models are
// compared by: what a device enforces, without the labels (flow, service
// and device names) that only some syntaxes can carry.
package intent

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
)

// Roles a target may hold; a target may hold both (an L3 switch routes
// between zone VLANs and assigns access ports).
const (
	RoleFirewall     = "firewall"
	RoleAccessSwitch = "access_switch"
)

// Intent is the enforcement intent for every target of a policy.
type Intent struct {
	Targets map[string]*Target `json:"targets"`
}

// Target is the intent for one target. Firewall is set when Roles holds
// RoleFirewall, Switch when it holds RoleAccessSwitch.
type Target struct {
	Name     string    `json:"name"`
	Driver   string    `json:"driver"`
	Roles    []string  `json:"roles"` // sorted
	Firewall *Firewall `json:"firewall,omitempty"`
	Switch   *Switch   `json:"switch,omitempty"`
	// Model is the target's hardware or platform model (the target
	// block's model attribute); drivers pick their capacity limits by it.
	Model string `json:"model,omitempty"`
	// Options are the driver-specific attributes of the target block, as
	// the driver decoded and validated them (a JSON object).
	Options json.RawMessage `json:"options,omitempty"`
	// RenderOnly is push = false: the target is planned and rendered, but
	// Ward never connects to it (the site pushes with its own tooling).
	RenderOnly bool `json:"render_only,omitempty"`
}

// HasRole reports whether t holds role.
func (t *Target) HasRole(role string) bool { return slices.Contains(t.Roles, role) }

// UnmarshalJSON reads a target, including one stored before a target could
// hold two roles (a single "role" string).
func (t *Target) UnmarshalJSON(b []byte) error {
	type plain Target
	var v struct {
		plain
		Role string `json:"role"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Target(v.plain)
	if len(t.Roles) == 0 && v.Role != "" {
		t.Roles = []string{v.Role}
	}
	return nil
}

// Firewall is a filter between zones: established and related traffic (or,
// on a stateless ACL, the replies the driver documents) is accepted, then
// Rules in order, then monitor zones are logged and accepted, then
// DefaultAction.
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
	// Zones are the zones that have a VLAN, sorted by VLAN: where a routing
	// firewall (an L3 switch) binds its filter, on each VLAN's routed
	// interface. A host firewall (nftables) has no use for them.
	Zones []Zone `json:"zones,omitempty"`
}

// Zone is a zone's VLAN and the address set of its members.
type Zone struct {
	Name    string `json:"name"`
	VLAN    int    `json:"vlan"`
	Set     string `json:"set"` // its address set's name ("" if it has none: no flow names it)
	Monitor bool   `json:"monitor,omitempty"`
}

// AddressSet is a named set of addresses: a zone's devices and subnets, or
// a network's CIDRs, aggregated into the fewest prefixes. Members follow
// what ward query reach says an address stands for: a device's address is
// in its zone's set only, an address in zone subnets in the most specific
// subnet's zone's set only, and network sets hold neither.
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

// RoleText is the target's roles as one string, as people read them:
// "firewall", "access_switch", or "access_switch+firewall".
func (t *Target) RoleText() string { return strings.Join(t.Roles, "+") }
