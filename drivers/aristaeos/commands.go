package aristaeos

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wardnet/ward/drivers"
	"github.com/wardnet/ward/drivers/intent"
)

// commands are the configuration lines that turn cur into want, written
// from the two states (names and entries checked when they were read), so
// no text of a configuration reaches the switch as it was handed in. They
// run in one configure session, so their order matters only to the
// session: lists are changed entry by entry (no SEQ, then SEQ ENTRY), new
// bindings replace old ones, and lists no longer wanted go last.
func commands(cur, want *state) ([]string, error) {
	var out []string
	names := func(m map[string][]entry) []string {
		var ns []string
		for n := range m {
			ns = append(ns, n)
		}
		slices.Sort(ns)
		return ns
	}
	for _, name := range names(want.acls) {
		have, exists := cur.acls[name]
		var lines []string
		wantBySeq := map[int]string{}
		for _, e := range want.acls[name] {
			wantBySeq[e.seq] = e.text
		}
		haveBySeq := map[int]string{}
		for _, e := range have {
			haveBySeq[e.seq] = e.text
			if t, ok := wantBySeq[e.seq]; !ok || t != e.text {
				lines = append(lines, "no "+strconv.Itoa(e.seq))
			}
		}
		for _, e := range want.acls[name] {
			if t, ok := haveBySeq[e.seq]; !ok || t != e.text {
				lines = append(lines, strconv.Itoa(e.seq)+" "+e.text)
			}
		}
		if len(lines) > 0 || !exists {
			out = append(out, "ip access-list "+name)
			out = append(out, lines...)
			out = append(out, "exit")
		}
	}
	vlans := map[int]bool{}
	for v := range cur.bindings {
		vlans[v] = true
	}
	for v := range want.bindings {
		vlans[v] = true
	}
	for _, v := range sortedInts(vlans) {
		have, want := cur.bindings[v], want.bindings[v]
		switch {
		case have == want:
		case want != "":
			out = append(out, "interface Vlan"+strconv.Itoa(v), "ip access-group "+want+" in", "exit")
		default:
			out = append(out, "interface Vlan"+strconv.Itoa(v), "no ip access-group "+have+" in", "exit")
		}
	}
	for _, name := range names(cur.acls) {
		if _, keep := want.acls[name]; keep {
			continue
		}
		if (strings.HasPrefix(name, prefixIsolate) || strings.HasPrefix(name, prefixRestrict)) && len(cur.acls[name]) > 0 {
			return nil, fmt.Errorf("the configuration drops quarantine set list %s, which holds %d quarantined addresses: that would release them; release them first (ward release), then apply", name, len(cur.acls[name]))
		}
		out = append(out, "no ip access-list "+name)
	}
	if cur.qvlan != want.qvlan {
		if cur.qvlan != 0 {
			for name, p := range cur.ports {
				if p.home != 0 && want.ports[name].vlan == cur.qvlan {
					return nil, fmt.Errorf("port %s is in quarantine VLAN %d, which the configuration changes; release it first (ward release), then apply", name, cur.qvlan)
				}
			}
			out = append(out, "vlan "+strconv.Itoa(cur.qvlan), "no name", "exit")
		}
		if want.qvlan != 0 {
			out = append(out, "vlan "+strconv.Itoa(want.qvlan), "name "+quarantineVLANName, "exit")
		}
	}
	if !want.hasAccess() {
		// The access role is gone (or never was): the ports are left as
		// they are, released, never moved.
		return out, nil
	}
	ports := map[string]bool{}
	for p := range cur.ports {
		ports[p] = true
	}
	for p := range want.ports {
		ports[p] = true
	}
	var order []string
	for p := range ports {
		order = append(order, p)
	}
	slices.SortFunc(order, comparePorts)
	for _, name := range order {
		have, want := cur.ports[name], want.ports[name]
		if have == want {
			continue
		}
		lines := []string{"interface " + name}
		switch {
		case want.home != 0 && want.home != have.home:
			lines = append(lines, fmt.Sprintf("description %s home-vlan-%d", quarantineMark, want.home))
		case want.home == 0 && have.home != 0:
			lines = append(lines, "no description")
		}
		switch {
		case want.vlan != 0 && want.vlan != have.vlan:
			lines = append(lines, "switchport mode access", "switchport access vlan "+strconv.Itoa(want.vlan))
		case want.vlan == 0 && have.vlan != 0:
			lines = append(lines, "no switchport access vlan")
		}
		out = append(out, append(lines, "exit")...)
	}
	return out, nil
}

func sortedInts(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// limits are a model's ACL capacity.
type limits struct {
	model string
	// entries is how many ACL entries (TCAM rules) the bound ACLs may
	// hold in all; perACL, how many one ACL may.
	entries, perACL int
	source          string
}

// capacity holds the limits per model; the first is the default, for a
// model not listed. EOS itself bounds a sequence number at 4294967295 and
// an eq list at 10 ports (ACLs and Route Maps, IPv4 ACL Rule Parameters,
// https://www.arista.com/en/um-eos/eos-acls-and-route-maps); Ward's
// sections bound a zone ACL's parts (render.go).
var capacity = []limits{
	{model: "default", entries: 1024, perACL: 1024,
		source: "provisional, conservative: no Arista document giving ACL TCAM sizes was found; check show hardware capacity on the switch"},
	{model: "720XP", entries: 1024, perACL: 1024,
		source: "provisional for the CCS-720XP: no Arista document giving its ACL TCAM size was found; check show hardware capacity"},
	{model: "7050X3", entries: 4096, perACL: 4096,
		source: "provisional for the DCS-7050X3: no Arista document giving its ACL TCAM size was found; check show hardware capacity"},
}

func limitsFor(model string) limits {
	for _, l := range capacity[1:] {
		if model != "" && strings.Contains(strings.ToUpper(model), strings.ToUpper(l.model)) {
			return l
		}
	}
	l := capacity[0]
	if model != "" {
		l.model = model + " (default limits)"
	}
	return l
}

// CheckCapacity: see drivers.CapacityChecker. It counts the entries of the
// ACLs bound on VLAN interfaces (record lists bound nowhere take no
// hardware).
func (d *driver) CheckCapacity(t *intent.Target, cfg drivers.Config) []drivers.Overflow {
	st, err := parseState(cfg.Text, true)
	if err != nil {
		return nil // Apply refuses it; capacity is not the problem
	}
	l := limitsFor(t.Model)
	var out []drivers.Overflow
	total := 0
	for _, v := range sortedBindings(st) {
		name := st.bindings[v]
		n := len(st.acls[name])
		total += n
		if n > l.perACL {
			out = append(out, drivers.Overflow{Resource: "ACL entries in " + name, Need: n, Limit: l.perACL, Model: l.model, Source: l.source})
		}
	}
	if total > l.entries {
		out = append(out, drivers.Overflow{Resource: "ACL entries bound on VLAN interfaces", Need: total, Limit: l.entries, Model: l.model, Source: l.source})
	}
	return out
}

func sortedBindings(st *state) []int {
	m := map[int]bool{}
	for v := range st.bindings {
		m[v] = true
	}
	return sortedInts(m)
}
