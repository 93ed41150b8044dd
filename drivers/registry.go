package drivers

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/hashicorp/hcl/v2"
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
	// Options are the attributes of a target block this driver takes,
	// beyond the policy language's own (decoded by DecodeOptions).
	Options []Option
	// Platform is the scrapligo platform definition (YAML) of the
	// network-OS session the driver speaks over: prompts, privilege
	// levels, failure patterns. Nil means a Linux shell session.
	Platform []byte
	// New returns the driver built with a target's options (the JSON
	// object DecodeOptions made; nil or empty: none given). Nil while only
	// the name is registered: the policy validates, but plans for such
	// targets cannot be applied.
	New func(options json.RawMessage) (Driver, error)
}

// Open returns the driver for a target of this driver, built with the
// target's options.
func (i Info) Open(options json.RawMessage) (Driver, error) {
	if i.New == nil {
		return nil, fmt.Errorf("driver %q is not available in this build of Ward", i.Name)
	}
	d, err := i.New(options)
	if err != nil {
		return nil, fmt.Errorf("driver %q: %w", i.Name, err)
	}
	return d, nil
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

// OptionDecoders maps each driver that takes options to the decoder of its
// attributes in a target block, the form the policy parser takes.
func (r *Registry) OptionDecoders() map[string]func(hcl.Attributes) (json.RawMessage, hcl.Diagnostics) {
	out := map[string]func(hcl.Attributes) (json.RawMessage, hcl.Diagnostics){}
	for n, info := range r.drivers {
		if len(info.Options) > 0 {
			out[n] = func(attrs hcl.Attributes) (json.RawMessage, hcl.Diagnostics) {
				return DecodeOptions(n, info.Options, attrs)
			}
		}
	}
	return out
}
