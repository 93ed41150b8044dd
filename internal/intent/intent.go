// Package intent compiles what the network must enforce, independent of
// any vendor, into the public model drivers consume
// (github.com/wardnet/ward/drivers/intent): for each firewall target, named
// address sets and ordered rules; for each access switch, the VLAN of every
// port a device is attached to. Compile builds it from an engine
// evaluation; drivers render it into their own configuration. An Intent is
// a plain value: comparable, serialisable, and stored as the last-applied
// state of each target.
//
// The types are the public model's, aliased here so Ward's own code reads
// intent.Target whichever side it is on; the model has one definition.
//
// Start reading at Compile (compile.go). Diff (diff.go) is the semantic
// change a plan shows first, including the essential flows a change
// removes or narrows. Aggregate (aggregate.go) and SetNames (names.go) are
// the address and naming arithmetic both rely on.
package intent

import model "github.com/wardnet/ward/drivers/intent"

// The model's types, defined in drivers/intent.
type (
	Intent     = model.Intent
	Target     = model.Target
	Firewall   = model.Firewall
	Zone       = model.Zone
	AddressSet = model.AddressSet
	Rule       = model.Rule
	Ports      = model.Ports
	Quarantine = model.Quarantine
	Switch     = model.Switch
	PortVLAN   = model.PortVLAN
)

// Target roles.
const (
	RoleFirewall     = model.RoleFirewall
	RoleAccessSwitch = model.RoleAccessSwitch
)
