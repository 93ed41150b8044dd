package ciscoiosxe

import (
	"fmt"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// Capacity limits by model, each with the document it comes from.
// A switch programs an object-group ACE as one hardware entry per pair of
// group members ("An ACE that is defined using a group name is equivalent
// to multiple ACEs (one applied to each entry in the object group)...
// the object group ACL feature reduces the number of entries you need to
// configure but does not reduce TCAM usage", docCat4500), so Ward counts
// both: the entries of each ACL as configured, and the entries they expand
// to in hardware. Quarantine groups count with their placeholder only:
// each quarantined device adds entries at quarantine time.
type limits struct {
	model string // the model prefix these limits are for ("" the default)
	// aceLimit: object-group ACEs in one ACL.
	aceLimit  int
	aceSource string
	// tcamLimit: IPv4 security ACL entries in hardware, all ACLs (0: not
	// documented here, not checked).
	tcamLimit  int
	tcamSource string
}

const (
	docCat4500 = "Catalyst 4500 Series Switch Cisco IOS Software Configuration Guide, IOS XE 3.9.xE, ch. 62 Configuring Network Security with ACLs, Guidelines and Restrictions for Configuring IPv4 OG ACLs (\"The maximum number of object group-based ACEs supported in an ACL is 2048\"), https://www.easymanua.ls/cisco/catalyst-4500-series/manual/47209?p=1664"
	docC9300   = "third-party summary, not a Cisco document: \"Architectural Considerations for Cisco Catalyst 9300 Deployments\" (UADP 2.0 TCAM: 8,000 ACL entries), https://www.telecomate.com/architectural-considerations-for-cisco-catalyst-9300-deployments-balancing-capabilities-and-constraints; check show platform hardware fed switch active fwd-asic resource tcam utilization on the switch"
)

func modelLimits(model string) limits {
	table := []limits{
		{model: "WS-C45", aceLimit: 2048, aceSource: docCat4500},
		{model: "C9300", aceLimit: 2048, aceSource: docCat4500 + " (the only per-ACL object-group limit Ward found documented for IOS-XE)", tcamLimit: 8000, tcamSource: docC9300},
	}
	for _, l := range table {
		if strings.HasPrefix(strings.ToUpper(model), l.model) {
			return l
		}
	}
	return limits{aceLimit: 2048, aceSource: docCat4500 + " (the default for a model Ward has no limits for)"}
}

// CheckCapacity returns the limits cfg exceeds on t's model.
func (d *driver) CheckCapacity(t *intent.Target, cfg drivers.Config) []drivers.Overflow {
	dev, err := readDevice(cfg.Text, true)
	if err != nil {
		return nil // Apply refuses it anyway, with the parse error
	}
	l := modelLimits(t.Model)
	model := t.Model
	if model == "" {
		model = "a model not given"
	}
	members := map[string]int{}
	for _, g := range dev.groups {
		members[g.name] = len(g.members)
	}
	bound := map[string]bool{}
	for _, b := range dev.binds {
		bound[b.acl] = true
	}
	var out []drivers.Overflow
	tcam := 0
	for _, a := range dev.acls {
		if !bound[a.name] {
			continue
		}
		aces := 0
		for _, e := range a.entries {
			aces++
			x, err := parseACE(e)
			if err != nil {
				continue
			}
			n := 1
			for _, g := range []string{x.src, x.dst} {
				if g != "any" {
					n *= max(members[g], 1)
				}
			}
			tcam += n
		}
		if aces > l.aceLimit {
			out = append(out, drivers.Overflow{Resource: fmt.Sprintf("object-group ACEs in ACL %s", a.name), Need: aces, Limit: l.aceLimit, Model: model, Source: l.aceSource})
		}
	}
	if l.tcamLimit > 0 && tcam > l.tcamLimit {
		out = append(out, drivers.Overflow{Resource: "IPv4 security ACL entries in hardware (object-group ACEs expanded to member pairs)", Need: tcam, Limit: l.tcamLimit, Model: model, Source: l.tcamSource})
	}
	return out
}
