package drivers

import (
	"fmt"
	"slices"
	"sort"
)

// Role is the job a target does in the network.
type Role string

const (
	RoleFirewall     Role = "firewall"      // enforces flows between zones
	RoleAccessSwitch Role = "access_switch" // puts device ports in their zone's VLAN
)

// Info describes a registered driver.
type Info struct {
	Name        string // as written in a target's driver attribute
	Description string
	Roles       []Role // the roles a target using this driver may have
	// New returns the driver; nil while only the name is registered (the
	// policy validates, but plans for such targets cannot be applied).
	New func() Driver
}

// Registry holds the drivers one Ward binary knows. The zero value is empty
// and ready to use.
type Registry struct {
	drivers map[string]Info
}

// Register adds a driver; registering a name twice is a programming error.
func (r *Registry) Register(info Info) {
	if r.drivers == nil {
		r.drivers = map[string]Info{}
	}
	if _, dup := r.drivers[info.Name]; dup {
		panic(fmt.Sprintf("drivers: %q registered twice", info.Name))
	}
	r.drivers[info.Name] = info
}

// Lookup returns the driver registered under name.
func (r *Registry) Lookup(name string) (Info, bool) {
	info, ok := r.drivers[name]
	return info, ok
}

// Names returns the registered driver names in order.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.drivers))
	for n := range r.drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RolesByName maps each driver name to the roles it can fill, the form the
// policy parser checks targets against.
func (r *Registry) RolesByName() map[string][]string {
	out := make(map[string][]string, len(r.drivers))
	for n, info := range r.drivers {
		roles := make([]string, len(info.Roles))
		for i, role := range info.Roles {
			roles[i] = string(role)
		}
		slices.Sort(roles)
		out[n] = roles
	}
	return out
}
