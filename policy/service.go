package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// ICMP type names, as nftables spells them.
var icmpTypes = []string{
	"echo-reply", "destination-unreachable", "source-quench", "redirect", "echo-request",
	"router-advertisement", "router-solicitation", "time-exceeded", "parameter-problem",
	"timestamp-request", "timestamp-reply", "info-request", "info-reply",
	"address-mask-request", "address-mask-reply",
}

var icmpv6Types = []string{
	"destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem",
	"echo-request", "echo-reply", "mld-listener-query", "mld-listener-report",
	"mld-listener-done", "mld-listener-reduction", "nd-router-solicit", "nd-router-advert",
	"nd-neighbor-solicit", "nd-neighbor-advert", "nd-redirect", "router-renumbering",
	"ind-neighbor-solicit", "ind-neighbor-advert", "mld2-listener-report",
}

// serviceProtocols are the attributes a service block may carry besides its
// description.
var serviceProtocols = []string{"tcp", "udp", "icmp", "icmpv6"}

func decodeServiceBlock(block *hcl.Block) (*Service, hcl.Diagnostics) {
	s := &Service{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := checkName(block)

	// JustAttributes rather than a schema, so that an unknown protocol gets
	// a message about protocols rather than about arguments.
	attrs, d := block.Body.JustAttributes()
	diags = append(diags, d...)
	for _, name := range sortedKeys(attrs) {
		attr := attrs[name]
		switch name {
		case "description":
			s.Description, d = attrString(attr)
			diags = append(diags, d...)
		case "tcp", "udp":
			elems, d := listElements(attr, true)
			diags = append(diags, d...)
			var ports []PortRange
			for _, e := range elems {
				pr, pd := parsePort(e, name)
				if pd != nil {
					diags = append(diags, pd)
					continue
				}
				ports = append(ports, pr)
			}
			if name == "tcp" {
				s.TCP = ports
			} else {
				s.UDP = ports
			}
		case "icmp", "icmpv6":
			allowed := icmpTypes
			if name == "icmpv6" {
				allowed = icmpv6Types
			}
			elems, d := attrStrings(attr, true)
			diags = append(diags, d...)
			var types []string
			for _, e := range elems {
				if ok, _ := oneOf(e.S, allowed); !ok {
					diags = append(diags, errDiag(e.Range, "Unknown ICMP type",
						fmt.Sprintf("%q is not an %s type. Use one of: %s.", e.S, name, strings.Join(allowed, ", "))))
					continue
				}
				types = append(types, e.S)
			}
			if name == "icmp" {
				s.ICMP = types
			} else {
				s.ICMPv6 = types
			}
		default:
			diags = append(diags, errDiag(attr.NameRange, "Unknown protocol",
				fmt.Sprintf("A service lists ports or types per protocol: %s (and a description). %q is not one of them.",
					strings.Join(serviceProtocols, ", "), name)))
		}
	}
	if len(s.TCP)+len(s.UDP)+len(s.ICMP)+len(s.ICMPv6) == 0 && !diags.HasErrors() {
		diags = append(diags, errDiag(block.DefRange, "Service has no ports",
			fmt.Sprintf("Service %q lists no ports or ICMP types, so it would allow nothing. Add, for example, tcp = [443].", s.Name)))
	}
	return s, diags
}

// ICMPTypes returns the ICMP type names a service may list, as nftables
// spells them; ICMPv6Types the ICMPv6 ones.
func ICMPTypes() []string   { return slices.Clone(icmpTypes) }
func ICMPv6Types() []string { return slices.Clone(icmpv6Types) }
