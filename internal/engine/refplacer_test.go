package engine

// The Go reference placement for tests.

import (
	"net/netip"
	"sort"

	"github.com/gobwas/glob"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// refPlacement says which zone each device is in.
type refPlacement struct {
	// Zone maps a device name to its zone.
	Zone map[string]string
	// Unplaced lists devices no zone matched, when there is no default zone.
	Unplaced []string
	// Conflicts lists devices that match several zones of equal priority;
	// such a device has no zone until the policy is fixed.
	Conflicts []refConflict
}

// refConflict is a device that two or more zones claim with the same priority.
type refConflict struct {
	Device string
	Zones  []string // sorted
}

// refPlacer places devices by the zones' match blocks: every key must
// match (AND), any pattern of a key may (OR); the highest priority wins; a
// device no zone matches goes to settings.default_zone.
//
// It is the straightforward Go reading of the built-in placement, kept
// only as the independent reference the tests check the Rego placement
// against: Ward itself places devices with the engine alone, so an
// operator's ward.placement module counts everywhere.
type refPlacer struct {
	zones       []compiledZone
	defaultZone string
}

type compiledZone struct {
	name     string
	priority int
	fields   map[string][]*glob.Pattern
	ip       []netip.Prefix
	labels   map[string][]*glob.Pattern
}

// newRefPlacer compiles the zones' patterns once. The policy has been
// validated, so every pattern compiles.
func newRefPlacer(cfg *policy.Config) *refPlacer {
	p := &refPlacer{}
	if cfg.Settings != nil {
		p.defaultZone = cfg.Settings.DefaultZone
	}
	for _, name := range cfg.ZoneNames() {
		z := cfg.Zones[name]
		if z.Match == nil {
			continue
		}
		cz := compiledZone{name: name, priority: z.Priority, fields: map[string][]*glob.Pattern{}, ip: z.Match.IP, labels: map[string][]*glob.Pattern{}}
		for k, pats := range z.Match.Fields {
			cz.fields[k] = compileAll(pats)
		}
		for k, pats := range z.Match.Labels {
			cz.labels[k] = compileAll(pats)
		}
		p.zones = append(p.zones, cz)
	}
	return p
}

func compileAll(pats []string) []*glob.Pattern {
	out := make([]*glob.Pattern, 0, len(pats))
	for _, pat := range pats {
		if g, err := glob.Compile(pat); err == nil {
			out = append(out, g)
		}
	}
	return out
}

// Place returns the zone of one device, the zones in conflict (when two or
// more of equal priority match), and whether it was placed at all.
func (p *refPlacer) Place(d *inventory.Device) (zone string, conflict []string, ok bool) {
	best := -1 << 62
	var winners []string
	for i := range p.zones {
		z := &p.zones[i]
		if !z.matches(d) {
			continue
		}
		switch {
		case z.priority > best:
			best, winners = z.priority, []string{z.name}
		case z.priority == best:
			winners = append(winners, z.name)
		}
	}
	switch {
	case len(winners) == 1:
		return winners[0], nil, true
	case len(winners) > 1:
		sort.Strings(winners)
		return "", winners, false
	case p.defaultZone != "":
		return p.defaultZone, nil, true
	}
	return "", nil, false
}

// PlaceAll places every device.
func (p *refPlacer) PlaceAll(devices []inventory.Device) refPlacement {
	out := refPlacement{Zone: make(map[string]string, len(devices))}
	for i := range devices {
		d := &devices[i]
		zone, conflict, ok := p.Place(d)
		switch {
		case ok:
			out.Zone[d.Name] = zone
		case conflict != nil:
			out.Conflicts = append(out.Conflicts, refConflict{Device: d.Name, Zones: conflict})
		default:
			out.Unplaced = append(out.Unplaced, d.Name)
		}
	}
	return out
}

func (z *compiledZone) matches(d *inventory.Device) bool {
	for key, pats := range z.fields {
		if !anyMatch(pats, deviceField(d, key)) {
			return false
		}
	}
	if len(z.ip) > 0 {
		in := false
		for _, pfx := range z.ip {
			in = in || pfx.Contains(d.IP)
		}
		if !in {
			return false
		}
	}
	for key, pats := range z.labels {
		v, ok := d.Labels[key]
		if !ok || !anyMatch(pats, v) {
			return false
		}
	}
	return true
}

func anyMatch(pats []*glob.Pattern, s string) bool {
	for _, g := range pats {
		if g.Match(s) {
			return true
		}
	}
	return false
}
