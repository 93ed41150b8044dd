package ciscoiosxe

// The side-by-side with capirca (scripts/capirca-compare.sh): Ward's
// IOS-XE rendering of the benchscale scenario of 60 zones × 200 devices ×
// 400 flows, the very scenario benchscale writes as capirca input. The
// tests here check that Ward's output permits exactly the scenario's
// flows and, when the script has run aclgen, that capirca's output permits
// the same, so the two tools are compared on one policy.

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wardnet/ward/internal/benchscale"
	"github.com/wardnet/ward/internal/intent"
)

// benchDirEnv names the directory scripts/capirca-compare.sh passes to
// TestCapircaCompare: the capirca input and Ward's rendering are written
// there, and capirca's output read from there.
const benchDirEnv = "WARD_CAPIRCA_DIR"

// benchRender is the renderer the benchmarks time: the package's Render.
func benchRender(t *intent.Target) (string, error) { return Render(t) }

// benchIntent generates a benchscale scenario and compiles its intent as
// ward plan does.
func benchIntent(tb testing.TB, s benchscale.Scale) (*benchscale.Scenario, *intent.Intent) {
	tb.Helper()
	sc, err := benchscale.Generate(s)
	if err != nil {
		tb.Fatal(err)
	}
	in, err := sc.Compile(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return sc, in
}

// core is the scenario's firewall target.
func benchCore(tb testing.TB, in *intent.Intent) *intent.Target {
	tb.Helper()
	t := in.Targets["core"]
	if t == nil || t.Firewall == nil {
		tb.Fatal("the scenario has no firewall target core")
	}
	return t
}

// benchPermit is one port of one protocol permitted from one prefix to
// another.
type benchPermit struct {
	src, dst netip.Prefix
	proto    string
	port     int
}

func (p benchPermit) String() string {
	return fmt.Sprintf("%s %s -> %s port %d", p.proto, p.src, p.dst, p.port)
}

// addBenchPermits adds a permit per port of [from, to] for every pair of
// prefixes.
func addBenchPermits(out map[benchPermit]bool, src, dst []netip.Prefix, proto string, from, to int) {
	for _, s := range src {
		for _, d := range dst {
			for p := from; p <= to; p++ {
				out[benchPermit{s, d, proto, p}] = true
			}
		}
	}
}

// benchScenarioPermits is what the scenario's flows allow, from the
// generator's own description of them (not from either renderer).
func benchScenarioPermits(sc *benchscale.Scenario) map[benchPermit]bool {
	out := map[benchPermit]bool{}
	for _, f := range sc.Flows {
		for _, i := range f.Services {
			s := sc.Services[i]
			addBenchPermits(out, []netip.Prefix{sc.Zones[f.From].Subnet}, []netip.Prefix{sc.Zones[f.To].Subnet}, s.Proto, s.From, s.To)
		}
	}
	return out
}

// benchPortOp reads an IOS port operator at ws[0] (eq P, range A B), as the
// IOS-XE extended ACE writes it; n is the words it took (0: none).
func benchPortOp(ws []string) (from, to, n int, err error) {
	if len(ws) == 0 {
		return 0, 0, 0, nil
	}
	switch ws[0] {
	case "eq":
		if len(ws) < 2 {
			return 0, 0, 0, fmt.Errorf("eq without a port")
		}
		p, err := strconv.Atoi(ws[1])
		return p, p, 2, err
	case "range":
		if len(ws) < 3 {
			return 0, 0, 0, fmt.Errorf("range without two ports")
		}
		a, err1 := strconv.Atoi(ws[1])
		b, err2 := strconv.Atoi(ws[2])
		if err1 != nil || err2 != nil {
			return 0, 0, 0, fmt.Errorf("range %s %s: not numbers", ws[1], ws[2])
		}
		return a, b, 3, nil
	}
	return 0, 0, 0, nil
}

// benchWardPermits reads Ward's IOS-XE output back into the permits its
// ACEs grant in the forward direction (a port operator after the
// destination, no "established"): object-group network members as "host
// A" or "A MASK" (a description skipped), ACEs as "[SEQ] permit PROTO
// object-group SRC [op] object-group DST [op] [established] [log]".
// Entries with the port on the source side are the replies Ward adds for
// a stateless ACL, deny entries are Ward's default and quarantine
// entries, and remarks are labels: all are left out. Any other permit is
// an error, so a new kind of entry cannot go unnoticed.
func benchWardPermits(text string) (map[benchPermit]bool, error) {
	groups := map[string][]netip.Prefix{}
	var group string
	var aces []string
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "object-group network "):
			group = strings.TrimPrefix(l, "object-group network ")
			groups[group] = groups[group][:0:0]
		case strings.HasPrefix(l, " ") && group != "":
			ws := strings.Fields(l)
			var p netip.Prefix
			var err error
			switch {
			case ws[0] == "description":
				continue
			case len(ws) == 2 && ws[0] == "host":
				var a netip.Addr
				a, err = netip.ParseAddr(ws[1])
				p = netip.PrefixFrom(a, 32)
			case len(ws) == 2:
				p, err = benchMaskPrefix(ws[0], ws[1])
			default:
				err = fmt.Errorf("unknown member form")
			}
			if err != nil {
				return nil, fmt.Errorf("object-group %s member %q: %v", group, l, err)
			}
			groups[group] = append(groups[group], p)
		case strings.HasPrefix(l, " "):
			aces = append(aces, l)
		default:
			group = ""
		}
	}
	out := map[benchPermit]bool{}
	for _, l := range aces {
		ws := strings.Fields(l)
		if len(ws) == 0 {
			continue
		}
		if _, err := strconv.Atoi(ws[0]); err == nil {
			ws = ws[1:] // a sequence number
		}
		if len(ws) == 0 || ws[0] != "permit" {
			continue
		}
		bad := fmt.Errorf("ACE %q: not a permit between two object-groups with one port operator", l)
		ws = ws[1:]
		if len(ws) < 5 || (ws[0] != "tcp" && ws[0] != "udp") || ws[1] != "object-group" {
			return nil, bad
		}
		proto, src := ws[0], ws[2]
		_, _, sn, err := benchPortOp(ws[3:])
		if err != nil {
			return nil, fmt.Errorf("ACE %q: %v", l, err)
		}
		rest := ws[3+sn:]
		if len(rest) < 2 || rest[0] != "object-group" {
			return nil, bad
		}
		dst := rest[1]
		dFrom, dTo, dn, err := benchPortOp(rest[2:])
		if err != nil {
			return nil, fmt.Errorf("ACE %q: %v", l, err)
		}
		tail := rest[2+dn:]
		switch {
		case sn > 0 && dn == 0: // a reply: the service's port is the source
			continue
		case sn == 0 && dn > 0 && len(tail) == 0:
		default:
			return nil, bad
		}
		if groups[src] == nil || groups[dst] == nil {
			return nil, fmt.Errorf("ACE %q names an object-group the output does not define", l)
		}
		addBenchPermits(out, groups[src], groups[dst], proto, dFrom, dTo)
	}
	return out, nil
}

// benchMaskPrefix is "A.B.C.D M.M.M.M" as a prefix.
func benchMaskPrefix(addr, mask string) (netip.Prefix, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, err
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() {
		return netip.Prefix{}, fmt.Errorf("mask %q", mask)
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&(1<<31) != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return netip.Prefix{}, fmt.Errorf("mask %q is not contiguous", mask)
	}
	return netip.PrefixFrom(a, bits), nil
}

// benchCapircaPermits reads capirca's cisco object-group output (capirca's
// lib/cisco.py ObjectGroup and ObjectGroupTerm: "object-group network
// ipv4 NAME" with " A.B.C.D/N" members, "object-group port NAME" with "
// eq P" or " range A B", each ended by "exit"; ACEs " permit PROTO
// net-group SRC net-group DST port-group NAME") into its permits.
func benchCapircaPermits(text string) (map[benchPermit]bool, error) {
	nets := map[string][]netip.Prefix{}
	ports := map[string][2]int{}
	var kind, name string
	out := map[benchPermit]bool{}
	for _, l := range strings.Split(text, "\n") {
		ws := strings.Fields(l)
		switch {
		case len(ws) == 0:
		case strings.HasPrefix(l, "object-group network ipv4 "):
			kind, name = "net", ws[3]
		case strings.HasPrefix(l, "object-group port "):
			kind, name = "port", ws[2]
		case l == "exit":
			kind = ""
		case kind == "net":
			p, err := netip.ParsePrefix(ws[0])
			if err != nil {
				return nil, fmt.Errorf("net-group %s: %v", name, err)
			}
			nets[name] = append(nets[name], p)
		case kind == "port":
			from, to, n, err := benchPortOp(ws)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("port-group %s: %q", name, l)
			}
			ports[name] = [2]int{from, to}
		case ws[0] == "permit":
			if len(ws) != 8 || ws[2] != "net-group" || ws[4] != "net-group" || ws[6] != "port-group" {
				return nil, fmt.Errorf("capirca ACE %q: not a permit between two net-groups on a port-group", l)
			}
			pr, ok := ports[ws[7]]
			if nets[ws[3]] == nil || nets[ws[5]] == nil || !ok {
				return nil, fmt.Errorf("capirca ACE %q names a group its output does not define before it", l)
			}
			addBenchPermits(out, nets[ws[3]], nets[ws[5]], ws[1], pr[0], pr[1])
		}
	}
	return out, nil
}

// benchDiffPermits says how two permit sets differ, with an example of
// each side's extra.
func benchDiffPermits(what string, got, want map[benchPermit]bool) error {
	var extra, missing []benchPermit
	for p := range got {
		if !want[p] {
			extra = append(extra, p)
		}
	}
	for p := range want {
		if !got[p] {
			missing = append(missing, p)
		}
	}
	if len(extra)+len(missing) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s: %d permits the scenario does not have, %d of its permits missing", what, len(extra), len(missing))
	if len(extra) > 0 {
		msg += fmt.Sprintf("; extra e.g. %v", extra[0])
	}
	if len(missing) > 0 {
		msg += fmt.Sprintf("; missing e.g. %v", missing[0])
	}
	return fmt.Errorf("%s", msg)
}

// benchLineCounts is the number of lines of a configuration text and of
// those that are not blank.
func benchLineCounts(text string) (lines, nonBlank int) {
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		lines++
		if strings.TrimSpace(l) != "" {
			nonBlank++
		}
	}
	return lines, nonBlank
}

// TestRenderCisco60x200x400Flows: Ward's IOS-XE rendering of the
// comparison scenario permits, in the forward direction, exactly the
// scenario's flows.
func TestRenderCisco60x200x400Flows(t *testing.T) {
	sc, in := benchIntent(t, benchscale.Capirca60x200x400())
	text, err := benchRender(benchCore(t, in))
	if err != nil {
		t.Fatal(err)
	}
	got, err := benchWardPermits(text)
	if err != nil {
		t.Fatal(err)
	}
	want := benchScenarioPermits(sc)
	if len(want) == 0 {
		t.Fatal("the scenario permits nothing")
	}
	if err := benchDiffPermits("Ward's IOS-XE output", got, want); err != nil {
		t.Error(err)
	}
}

// TestCapircaCompare is scripts/capirca-compare.sh's hook, skipped unless
// the script sets WARD_CAPIRCA_DIR. It writes there the scenario as capirca
// input and Ward's rendering (ward.cfg), and prints Ward's line counts; if
// capirca's output (out/ward_bench.acl) is already there, it checks that
// it permits exactly the scenario's flows, as Ward's does.
func TestCapircaCompare(t *testing.T) {
	dir := os.Getenv(benchDirEnv)
	if dir == "" {
		t.Skipf("a hook of scripts/capirca-compare.sh: set %s to a directory to run it", benchDirEnv)
	}
	sc, in := benchIntent(t, benchscale.Capirca60x200x400())
	if err := sc.WriteCapirca(dir); err != nil {
		t.Fatal(err)
	}
	text, err := benchRender(benchCore(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ward.cfg"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, nonBlank := benchLineCounts(text)
	fmt.Printf("ward-lines %d %d\n", lines, nonBlank)
	acl, err := os.ReadFile(filepath.Join(dir, "out", benchscale.CapircaFilter+".acl"))
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := benchCapircaPermits(string(acl))
	if err != nil {
		t.Fatal(err)
	}
	if err := benchDiffPermits("capirca's output", got, benchScenarioPermits(sc)); err != nil {
		t.Error(err)
	}
	fmt.Println("capirca-same-policy ok")
}

// BenchmarkRenderCisco60x200x400 renders the comparison scenario's
// firewall (intents built beforehand): the figure set beside capirca's.
func BenchmarkRenderCisco60x200x400(b *testing.B) {
	_, in := benchIntent(b, benchscale.Capirca60x200x400())
	t := benchCore(b, in)
	var lines int
	for b.Loop() {
		text, err := benchRender(t)
		if err != nil {
			b.Fatal(err)
		}
		lines = strings.Count(text, "\n")
	}
	b.ReportMetric(float64(lines), "lines")
}

// BenchmarkPipelineCisco60x200x400 is the whole way from policy text to
// IOS-XE text for the comparison scenario, as capirca's run is from its
// files: parse and validate the HCL, load the devices and evaluate with
// OPA, compile the intent, render the firewall.
func BenchmarkPipelineCisco60x200x400(b *testing.B) {
	sc, err := benchscale.Generate(benchscale.Capirca60x200x400())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		in, err := sc.Compile(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := benchRender(benchCore(b, in)); err != nil {
			b.Fatal(err)
		}
	}
}
