package nftables

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/wardnet/ward/drivers/drivertest"
	"github.com/wardnet/ward/drivers/intent"
	"github.com/wardnet/ward/drivers/localsession"
)

// large is a synthetic firewall the size of a big hospital: 100 zones of
// 1,000 devices (100,000 addresses) and 1,000 flows of three services each
// (3,000 rules). scattered puts each device in a /32 of its own that cannot
// be merged (every other address), the worst case for the script's size;
// otherwise each zone's 1,000 addresses are consecutive and aggregated, as
// the intent compiler does.
func large(scattered bool) *intent.Target {
	fw := &intent.Firewall{DefaultAction: "drop", Monitor: []string{"zone_099"},
		Quarantine: intent.Quarantine{IsolateSet: "quarantine_isolate", RestrictSet: "quarantine_restrict", Remediation: []string{"zone_000"}}}
	for z := range 100 {
		s := intent.AddressSet{Name: fmt.Sprintf("zone_%03d", z), Kind: "zone", Of: fmt.Sprintf("z%03d", z)}
		base := netip.AddrFrom4([4]byte{10, byte(z), 0, 0})
		if scattered {
			a := base
			for range 1000 {
				s.V4 = append(s.V4, netip.PrefixFrom(a, 32))
				a = a.Next().Next()
			}
		} else {
			// 1,000 consecutive addresses from .0.0: /23, /24, /25, /26, /27, /29.
			start := 0
			for _, bits := range []int{23, 24, 25, 26, 27, 29} {
				a := netip.AddrFrom4([4]byte{10, byte(z), byte(start >> 8), byte(start)})
				s.V4 = append(s.V4, netip.PrefixFrom(a, bits))
				start += 1 << (32 - bits)
			}
		}
		fw.Sets = append(fw.Sets, s)
	}
	for f := range 1000 {
		from, to := fmt.Sprintf("zone_%03d", f%100), fmt.Sprintf("zone_%03d", (f*7+13)%100)
		flow := fmt.Sprintf("flow_%04d", f)
		fw.Rules = append(fw.Rules,
			intent.Rule{Flow: flow, Service: "https", From: from, To: to, Proto: "tcp", Ports: []intent.Ports{{From: 443, To: 443}}, Essential: f%10 == 0},
			intent.Rule{Flow: flow, Service: "dicom", From: from, To: to, Proto: "tcp", Ports: []intent.Ports{{From: 104, To: 104}, {From: 11112, To: 11112}, {From: 8000, To: 8100}}},
			intent.Rule{Flow: flow, Service: "dns", From: from, To: to, Proto: "udp", Ports: []intent.Ports{{From: 53, To: 53}}},
		)
	}
	return &intent.Target{Name: "big-fw", Driver: Name, Roles: []string{"firewall"}, Firewall: fw}
}

// maxScript is the budget for the largest script: it is copied to the
// device over the session.
const maxScript = 2 << 20

func TestLargeScriptSize(t *testing.T) {
	for _, scattered := range []bool{true, false} {
		cfg, err := New(Options{}).Render(large(scattered))
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Text) > maxScript {
			t.Errorf("100,000 devices and 3,000 rules (scattered %v) render %d bytes, over the %d budget", scattered, len(cfg.Text), maxScript)
		}
		// Apply's check before sending accepts everything Render writes.
		if _, err := checkConfig(cfg.Text); err != nil {
			t.Errorf("the rendered configuration (scattered %v) fails Apply's check: %v", scattered, err)
		}
		t.Logf("scattered %v: %d bytes", scattered, len(cfg.Text))
	}
}

func BenchmarkRender(b *testing.B) {
	for _, c := range []struct {
		name      string
		scattered bool
	}{{"scattered", true}, {"aggregated", false}} {
		b.Run(c.name, func(b *testing.B) {
			target := large(c.scattered)
			d := New(Options{})
			var size int
			for b.Loop() {
				cfg, err := d.Render(target)
				if err != nil {
					b.Fatal(err)
				}
				size = len(cfg.Text)
			}
			b.ReportMetric(float64(size), "script-bytes")
		})
	}
}

// BenchmarkApplyLarge applies the scattered 100,000-address table with real
// nft in a network namespace: copy, nft -c, nft -f and the read-back.
func BenchmarkApplyLarge(b *testing.B) {
	s := realNftB(b)
	d := New(Options{})
	cfg, err := d.Render(large(true))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := d.Apply(b.Context(), s, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func realNftB(b *testing.B) *localsession.Session {
	b.Helper()
	drivertest.NeedRoot(b, "nft in a network namespace")
	drivertest.NeedCommand(b, "nft", "nftables")
	s := localsession.New(localsession.Options{Netns: drivertest.Netns(b)})
	b.Cleanup(func() { s.Close() })
	return s
}
