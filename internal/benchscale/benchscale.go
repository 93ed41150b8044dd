// Package benchscale generates the large scenarios Ward's render
// benchmarks and its side-by-side comparison with capirca run on: a
// policy written as HCL text (parsed by the real parser), the inventory's
// devices, and the intents compiled from both the way ward plan compiles
// them (engine evaluation, then internal/intent.Compile). The same Scale
// always gives the same bytes.
//
// Start reading at Generate. Two scales are named: Capirca60x200x400 (the
// scenario given to both Ward and capirca, written for capirca by
// WriteCapirca in capirca.go) and Core100kAnd50Access (one IOS-XE core
// firewall and 50 IOS-XE access switches over 100,000 devices).
package benchscale

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/intent"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/policy"
)

// Driver is the driver every generated target names.
const Driver = "cisco_iosxe"

// Scale says how big a scenario is.
type Scale struct {
	Zones          int // each with its own subnet and VLAN
	DevicesPerZone int // devices placed in each zone, all inside its subnet
	ZoneBits       int // prefix length of each zone's subnet (24: a /24)
	Flows          int // each from one zone to another, with 1-3 services of one protocol
	// Switches is the number of access switches (cisco_iosxe,
	// access_switch); 0 gives none and puts no device on a port.
	Switches int
	// Quarantine adds a quarantine block (VLAN 999).
	Quarantine bool
	Seed       uint64
}

// Capirca60x200x400 is the scenario Ward and capirca are compared on: 60
// zones of 200 devices, each zone a /24, 400 flows, one IOS-XE firewall
// and no quarantine block (capirca has nothing to express it with).
func Capirca60x200x400() Scale {
	return Scale{Zones: 60, DevicesPerZone: 200, ZoneBits: 24, Flows: 400, Seed: 1}
}

// Core100kAnd50Access is 100,000 devices in 100 zones (a /22 each), 1,000
// flows, a quarantine block, one IOS-XE core firewall and 50 IOS-XE access
// switches that every device sits on (2,000 ports a switch: an upper
// bound, more than any one switch has).
func Core100kAnd50Access() Scale {
	return Scale{Zones: 100, DevicesPerZone: 1000, ZoneBits: 22, Flows: 1000, Switches: 50, Quarantine: true, Seed: 1}
}

// Zone is a generated zone.
type Zone struct {
	Name   string
	Subnet netip.Prefix
	VLAN   int
}

// Service is a generated service: one protocol, one port or range.
type Service struct {
	Name     string
	Proto    string // "tcp" or "udp"
	From, To int
}

// Flow is a generated flow: from one zone to another, with services that
// all have the same protocol (so capirca can say it in one term).
type Flow struct {
	Name     string
	From, To int   // indexes into Scenario.Zones
	Services []int // indexes into Scenario.Services, sorted
}

// Scenario is a generated policy and inventory.
type Scenario struct {
	Scale    Scale
	Zones    []Zone
	Services []Service
	Flows    []Flow
	HCL      []byte // the policy, one file
	Devices  []inventory.Device
}

// servicePool is the pool flows draw from: common clinical and IT ports
// (DICOM, HL7 MLLP, HTTPS, ...), one protocol each.
func servicePool() []Service {
	return []Service{
		{"https", "tcp", 443, 443}, {"http", "tcp", 80, 80}, {"ssh", "tcp", 22, 22},
		{"dicom", "tcp", 104, 104}, {"dicom_tls", "tcp", 2762, 2762}, {"dicom_alt", "tcp", 11112, 11112},
		{"hl7_mllp", "tcp", 2575, 2575}, {"fhir", "tcp", 8443, 8443}, {"rdp", "tcp", 3389, 3389},
		{"postgres", "tcp", 5432, 5432}, {"mssql", "tcp", 1433, 1433}, {"ldaps", "tcp", 636, 636},
		{"ldap", "tcp", 389, 389}, {"smb", "tcp", 445, 445}, {"printer", "tcp", 9100, 9100},
		{"app_range", "tcp", 6000, 6010}, {"telemetry", "tcp", 8080, 8080}, {"mqtt_tls", "tcp", 8883, 8883},
		{"nurse_call", "tcp", 5000, 5004}, {"pacs_web", "tcp", 8042, 8042},
		{"dns", "udp", 53, 53}, {"ntp", "udp", 123, 123}, {"snmp", "udp", 161, 161},
		{"snmp_trap", "udp", 162, 162}, {"syslog", "udp", 514, 514}, {"tftp", "udp", 69, 69},
		{"sip", "udp", 5060, 5060}, {"radius", "udp", 1812, 1813}, {"rtp", "udp", 16384, 16483},
	}
}

// Generate builds the scenario of s.
func Generate(s Scale) (*Scenario, error) {
	hosts := 1<<(32-s.ZoneBits) - 2
	switch {
	case s.Zones < 2 || s.Zones > 3000:
		return nil, fmt.Errorf("benchscale: %d zones: want 2-3000 (each gets a VLAN from 100)", s.Zones)
	case s.ZoneBits < 8 || s.ZoneBits > 30:
		return nil, fmt.Errorf("benchscale: zone prefix length %d: want 8-30", s.ZoneBits)
	case s.Zones<<(32-s.ZoneBits) > 1<<24:
		return nil, fmt.Errorf("benchscale: %d zones of /%d do not fit in 10.0.0.0/8", s.Zones, s.ZoneBits)
	case s.DevicesPerZone < 0 || s.DevicesPerZone > hosts:
		return nil, fmt.Errorf("benchscale: %d devices per zone do not fit in a /%d (%d hosts)", s.DevicesPerZone, s.ZoneBits, hosts)
	case s.Flows < 0 || s.Switches < 0:
		return nil, fmt.Errorf("benchscale: negative flows or switches")
	}
	r := rand.New(rand.NewPCG(s.Seed, 0x77617264)) // "ward"
	sc := &Scenario{Scale: s, Services: servicePool()}
	width := len(fmt.Sprint(s.Zones))
	for i := range s.Zones {
		base := uint32(10)<<24 | uint32(i)<<(32-s.ZoneBits)
		sc.Zones = append(sc.Zones, Zone{
			Name:   fmt.Sprintf("z%0*d", width, i+1),
			Subnet: netip.PrefixFrom(addr4(base), s.ZoneBits),
			VLAN:   100 + i,
		})
	}
	var tcp, udp []int
	for i, svc := range sc.Services {
		if svc.Proto == "tcp" {
			tcp = append(tcp, i)
		} else {
			udp = append(udp, i)
		}
	}
	for i := range s.Flows {
		from := r.IntN(s.Zones)
		to := (from + 1 + r.IntN(s.Zones-1)) % s.Zones
		pool := tcp
		if r.IntN(5) == 0 {
			pool = udp
		}
		picked := r.Perm(len(pool))[:1+r.IntN(3)]
		f := Flow{Name: fmt.Sprintf("f%04d", i+1), From: from, To: to}
		for _, p := range picked {
			f.Services = append(f.Services, pool[p])
		}
		slices.Sort(f.Services)
		sc.Flows = append(sc.Flows, f)
	}
	sc.HCL = sc.writeHCL()
	sc.Devices = sc.devices()
	return sc, nil
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// class is the device class zone i places by.
func (sc *Scenario) class(i int) string { return "class_" + sc.Zones[i].Name }

func (sc *Scenario) writeHCL() []byte {
	var b strings.Builder
	b.WriteString("settings {\n  default_action = \"deny\"\n}\n\n")
	crit := []string{"life_critical", "high", "medium", "low"}
	for i, z := range sc.Zones {
		fmt.Fprintf(&b, "zone %q {\n  criticality = %q\n  vlan        = %d\n  subnets     = [%q]\n  match {\n    class = [%q]\n  }\n}\n\n",
			z.Name, crit[i%len(crit)], z.VLAN, z.Subnet.String(), sc.class(i))
	}
	for _, svc := range sc.Services {
		port := fmt.Sprint(svc.From)
		if svc.To != svc.From {
			port = fmt.Sprintf("\"%d-%d\"", svc.From, svc.To)
		}
		fmt.Fprintf(&b, "service %q {\n  %s = [%s]\n}\n\n", svc.Name, svc.Proto, port)
	}
	for _, f := range sc.Flows {
		names := make([]string, len(f.Services))
		for i, s := range f.Services {
			names[i] = "service." + sc.Services[s].Name
		}
		fmt.Fprintf(&b, "flow %q {\n  from     = zone.%s\n  to       = zone.%s\n  services = [%s]\n  reason   = \"generated\"\n}\n\n",
			f.Name, sc.Zones[f.From].Name, sc.Zones[f.To].Name, strings.Join(names, ", "))
	}
	if sc.Scale.Quarantine {
		b.WriteString("quarantine {\n  vlan = 999\n}\n\n")
	}
	fmt.Fprintf(&b, "target \"core\" {\n  driver  = %q\n  address = \"10.250.0.1\"\n  role    = \"firewall\"\n}\n", Driver)
	for i := range sc.Scale.Switches {
		fmt.Fprintf(&b, "\ntarget %q {\n  driver  = %q\n  address = \"10.250.1.%d\"\n  role    = \"access_switch\"\n}\n", sc.switchName(i), Driver, i+1)
	}
	return []byte(b.String())
}

func (sc *Scenario) switchName(i int) string { return fmt.Sprintf("access%02d", i+1) }

// devices are DevicesPerZone devices in each zone's subnet (.1 up), spread
// round-robin over the switches, each on the next free port of its switch
// (GigabitEthernetM/0/P, 48 ports a member).
func (sc *Scenario) devices() []inventory.Device {
	s := sc.Scale
	out := make([]inventory.Device, 0, s.Zones*s.DevicesPerZone)
	used := make([]int, s.Switches)
	n := 0
	for i, z := range sc.Zones {
		base := z.Subnet.Addr().As4()
		b := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
		for j := range s.DevicesPerZone {
			d := inventory.Device{
				Name: fmt.Sprintf("dev-%06d", n+1), IP: addr4(b + uint32(j) + 1),
				MAC:   fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(n>>16), byte(n>>8), byte(n)),
				Class: sc.class(i), Vendor: "Vendor", Criticality: inventory.CriticalityMedium, Site: "main",
			}
			if s.Switches > 0 {
				sw := n % s.Switches
				k := used[sw]
				used[sw]++
				d.Switch, d.Port = sc.switchName(sw), fmt.Sprintf("Gi%d/0/%d", k/48+1, k%48+1)
			}
			out = append(out, d)
			n++
		}
	}
	return out
}

// Drivers is the driver the generated targets name, with its roles, as
// the policy parser wants them (policy.WithDrivers).
func Drivers() map[string][]string {
	return map[string][]string{Driver: {intent.RoleAccessSwitch, intent.RoleFirewall}}
}

// Now is the fixed clock the scenario is parsed and evaluated with.
func Now() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

// Policy parses and validates the scenario's HCL with the real parser.
func (sc *Scenario) Policy() (*policy.Config, error) {
	cfg, diags := policy.NewParser(policy.WithDrivers(Drivers()), policy.WithClock(Now)).
		Load(policy.Source{Filename: "benchscale.hcl", Bytes: sc.HCL})
	if diags.HasErrors() {
		return nil, fmt.Errorf("benchscale: the generated policy does not load: %w", diags)
	}
	return cfg, nil
}

// Compile parses the policy, evaluates it with the devices and compiles
// the intent of every target, as ward plan does (internal/plan.Build).
func (sc *Scenario) Compile(ctx context.Context) (*intent.Intent, error) {
	cfg, err := sc.Policy()
	if err != nil {
		return nil, err
	}
	e, diags := engine.New(ctx, cfg, sc.Devices, engine.WithClock(Now))
	if diags.HasErrors() {
		return nil, fmt.Errorf("benchscale: loading the policy and devices into the engine: %w", diags)
	}
	res, err := e.Evaluate(ctx)
	if err != nil {
		return nil, fmt.Errorf("benchscale: evaluating: %w", err)
	}
	if len(res.Unplaced) > 0 || len(res.Conflicts) > 0 || len(res.Deny) > 0 {
		return nil, fmt.Errorf("benchscale: the evaluation placed the scenario wrongly: %d unplaced, %d conflicts, %d guardrail denials",
			len(res.Unplaced), len(res.Conflicts), len(res.Deny))
	}
	in, warns, err := intent.Compile(cfg, res, e.Devices())
	if err != nil {
		return nil, fmt.Errorf("benchscale: compiling the intent: %w", err)
	}
	if len(warns) > 0 {
		return nil, fmt.Errorf("benchscale: compiling the intent warned %d times, first: %s", len(warns), warns[0])
	}
	return in, nil
}
