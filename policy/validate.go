package policy

import (
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// validate runs the checks that need more than one block: references,
// uniqueness of VLANs, overlapping subnets, expiry.
func (p *Parser) validate(cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if s := cfg.Settings; s != nil && s.DefaultZone != "" {
		if _, ok := cfg.Zones[s.DefaultZone]; !ok {
			detail := fmt.Sprintf("default_zone names %q, but no zone of that name is declared; devices no zone matches would have nowhere to go.", s.DefaultZone)
			if sg := suggest(s.DefaultZone, sortedKeys(cfg.Zones)); sg != "" {
				detail += fmt.Sprintf(" Did you mean %q?", sg)
			} else {
				detail += fmt.Sprintf(" Declare zone %q, or name an existing zone.", s.DefaultZone)
			}
			diags = append(diags, errDiag(s.DefaultZoneRange, "Unknown default zone", detail))
		}
	}

	now := p.now()
	for _, f := range inDeclOrder(cfg.Flows, func(f *Flow) hcl.Range { return f.DeclRange }) {
		diags = append(diags, cfg.resolveRefs(f.From)...)
		diags = append(diags, cfg.resolveRefs(f.To)...)
		diags = append(diags, cfg.resolveRefs(f.Services)...)
		if f.ExpiredAt(now) {
			diags = append(diags, warnDiag(f.ExpiresRange, "Flow has expired",
				fmt.Sprintf("Flow %q expired on %s and will be dropped from the plan. Remove the flow, or extend expires if it is still needed (with a new ticket).",
					f.Name, f.Expires.Format(time.DateOnly))))
		}
	}
	if q := cfg.Quarantine; q != nil {
		diags = append(diags, cfg.resolveRefs(q.Remediation)...)
	}

	zones := inDeclOrder(cfg.Zones, func(z *Zone) hcl.Range { return z.DeclRange })
	vlanOwner := map[int]*Zone{}
	for _, z := range zones {
		if z.VLAN == 0 {
			continue
		}
		if other, ok := vlanOwner[z.VLAN]; ok {
			diags = append(diags, errDiag(z.VLANRange, "VLAN used by two zones",
				fmt.Sprintf("VLAN %d is already the VLAN of zone %q (%s). Every zone needs a VLAN of its own, or devices of both would share a broadcast domain.",
					z.VLAN, other.Name, where(other.VLANRange))))
			continue
		}
		vlanOwner[z.VLAN] = z
	}
	if q := cfg.Quarantine; q != nil && q.VLAN != 0 {
		if z, ok := vlanOwner[q.VLAN]; ok {
			diags = append(diags, errDiag(q.VLANRange, "Quarantine VLAN used by a zone",
				fmt.Sprintf("VLAN %d is the VLAN of zone %q (%s); a quarantined device would land among that zone's devices. Pick a VLAN no zone uses.",
					q.VLAN, z.Name, where(z.VLANRange))))
		}
	}

	// Overlapping subnets make a device's zone depend on which one wins, so
	// they are worth a look, but nesting can be deliberate.
	for i, z := range zones {
		for si, sn := range z.Subnets {
			for _, other := range zones[:i] {
				for oi, on := range other.Subnets {
					if sn.Overlaps(on) {
						diags = append(diags, warnDiag(z.SubnetRanges[si], "Overlapping zone subnets",
							fmt.Sprintf("%s in zone %q overlaps %s in zone %q (%s). An address in both would be in two zones' address sets; make the subnets disjoint unless the nesting is deliberate.",
								sn, z.Name, on, other.Name, where(other.SubnetRanges[oi]))))
					}
				}
			}
		}
	}
	return diags
}

// inDeclOrder returns a map's values in the order they were declared (file
// name, then position), so diagnostics blame the later of two declarations.
func inDeclOrder[T any](m map[string]*T, declRange func(*T) hcl.Range) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := declRange(out[i]), declRange(out[j])
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}
