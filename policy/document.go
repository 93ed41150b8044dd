package policy

import (
	"fmt"
	"net/netip"
	"time"
)

// Document is the policy as Rego sees it: the input of guardrails
// (package ward.guardrails) and, later, of placement and quarantine rules.
// Its shape is a contract documented in docs/rego-input.md; change it only by
// adding fields.
type Document struct {
	Settings   DocSettings           `json:"settings"`
	Zones      map[string]DocZone    `json:"zones"`
	Services   map[string]DocService `json:"services"`
	Networks   map[string]DocNetwork `json:"networks"`
	Flows      map[string]DocFlow    `json:"flows"`
	Quarantine *DocQuarantine        `json:"quarantine"`
	Targets    map[string]DocTarget  `json:"targets"`
}

type DocSettings struct {
	DefaultZone   string `json:"default_zone"`
	DefaultAction string `json:"default_action"`
}

type DocZone struct {
	Description string   `json:"description"`
	Criticality string   `json:"criticality"`
	VLAN        *int     `json:"vlan"` // null when the zone has no VLAN
	Subnets     []string `json:"subnets"`
	Enforcement string   `json:"enforcement"`
	Priority    int      `json:"priority"`
	// Match maps each match key (class, vendor, ..., ip) to its patterns,
	// and "labels" to a map of label patterns; null without a match block.
	Match map[string]any `json:"match"`
}

type DocService struct {
	Description string      `json:"description"`
	TCP         []PortRange `json:"tcp"`
	UDP         []PortRange `json:"udp"`
	ICMP        []string    `json:"icmp"`
	ICMPv6      []string    `json:"icmpv6"`
}

type DocNetwork struct {
	Description string   `json:"description"`
	CIDRs       []string `json:"cidrs"`
}

type DocRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

type DocFlow struct {
	Description string   `json:"description"`
	From        []DocRef `json:"from"`
	To          []DocRef `json:"to"`
	Services    []string `json:"services"`
	Essential   bool     `json:"essential"`
	Reason      string   `json:"reason"`
	Ticket      string   `json:"ticket"`
	Owner       string   `json:"owner"`
	Expires     string   `json:"expires"` // "YYYY-MM-DD", or "" when the flow does not expire
	Waive       []string `json:"waive"`
	WaiveReason string   `json:"waive_reason"`
	// Where the flow is declared, for messages: "flows.hcl:12".
	DeclaredAt string `json:"declared_at"`
}

type DocQuarantine struct {
	VLAN              *int              `json:"vlan"`
	Remediation       []DocRef          `json:"remediation"`
	DefaultTTLSeconds int64             `json:"default_ttl_seconds"`
	MaxAutoPerHour    int               `json:"max_auto_per_hour"`
	Action            map[string]string `json:"action"`
	ApprovalRequired  []string          `json:"approval_required"`
	MinSeverity       string            `json:"min_severity"`
	TTLSeconds        map[string]int64  `json:"ttl_seconds"`
}

type DocTarget struct {
	Description string   `json:"description"`
	Driver      string   `json:"driver"`
	Address     string   `json:"address"`
	Port        int      `json:"port"`
	Username    string   `json:"username"`
	Credential  string   `json:"credential"`
	KnownHosts  string   `json:"known_hosts"`
	Roles       []string `json:"roles"`
	Model       string   `json:"model"`
	Push        bool     `json:"push"`
}

// Document returns the policy in the form Rego sees. Lists are never null,
// so rules can iterate without guarding.
func (c *Config) Document() *Document {
	d := &Document{
		Settings: DocSettings{DefaultAction: "deny"},
		Zones:    map[string]DocZone{}, Services: map[string]DocService{}, Networks: map[string]DocNetwork{},
		Flows: map[string]DocFlow{}, Targets: map[string]DocTarget{},
	}
	if s := c.Settings; s != nil {
		d.Settings = DocSettings{DefaultZone: s.DefaultZone, DefaultAction: s.DefaultAction}
	}
	for name, z := range c.Zones {
		dz := DocZone{Description: z.Description, Criticality: z.Criticality, VLAN: optInt(z.VLAN),
			Subnets: prefixStrings(z.Subnets), Enforcement: z.Enforcement, Priority: z.Priority}
		if m := z.Match; m != nil {
			dz.Match = map[string]any{}
			for k, pats := range m.Fields {
				dz.Match[k] = nonNil(pats)
			}
			if len(m.IP) > 0 {
				dz.Match["ip"] = prefixStrings(m.IP)
			}
			if len(m.Labels) > 0 {
				labels := map[string][]string{}
				for k, pats := range m.Labels {
					labels[k] = nonNil(pats)
				}
				dz.Match["labels"] = labels
			}
		}
		d.Zones[name] = dz
	}
	for name, s := range c.Services {
		d.Services[name] = DocService{Description: s.Description, TCP: nonNil(s.TCP), UDP: nonNil(s.UDP),
			ICMP: nonNil(s.ICMP), ICMPv6: nonNil(s.ICMPv6)}
	}
	for name, n := range c.Networks {
		d.Networks[name] = DocNetwork{Description: n.Description, CIDRs: prefixStrings(n.CIDRs)}
	}
	for name, f := range c.Flows {
		df := DocFlow{Description: f.Description, From: docRefs(f.From), To: docRefs(f.To), Services: []string{},
			Essential: f.Essential, Reason: f.Reason, Ticket: f.Ticket, Owner: f.Owner, Waive: nonNil(f.Waive), WaiveReason: f.WaiveReason,
			DeclaredAt: fmt.Sprintf("%s:%d", f.DeclRange.Filename, f.DeclRange.Start.Line)}
		for _, s := range f.Services {
			df.Services = append(df.Services, s.Name)
		}
		if !f.Expires.IsZero() {
			df.Expires = f.Expires.Format(time.DateOnly)
		}
		d.Flows[name] = df
	}
	if q := c.Quarantine; q != nil {
		d.Quarantine = &DocQuarantine{VLAN: optInt(q.VLAN), Remediation: docRefs(q.Remediation),
			DefaultTTLSeconds: int64(q.DefaultTTL / time.Second), MaxAutoPerHour: q.MaxAutoPerHour,
			Action: q.Action, ApprovalRequired: nonNil(q.ApprovalRequired), MinSeverity: q.MinSeverity, TTLSeconds: map[string]int64{}}
		for level, ttl := range q.TTL {
			d.Quarantine.TTLSeconds[level] = int64(ttl / time.Second)
		}
	}
	for name, t := range c.Targets {
		d.Targets[name] = DocTarget{Description: t.Description, Driver: t.Driver, Address: t.Address, Port: t.Port,
			Username: t.Username, Credential: t.Credential, KnownHosts: t.KnownHosts, Roles: nonNil(t.Roles), Model: t.Model, Push: !t.RenderOnly}
	}
	return d
}

func optInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func docRefs(refs []Ref) []DocRef {
	out := make([]DocRef, len(refs))
	for i, r := range refs {
		out[i] = DocRef{Kind: string(r.Kind), Name: r.Name}
	}
	return out
}
