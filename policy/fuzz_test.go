package policy

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse: whatever bytes arrive as a policy file, loading and formatting
// them never panics and finishes in bounded time.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/hospital/policy/*.hcl")
	more, _ := filepath.Glob("testdata/*/*.hcl")
	for _, path := range append(seeds, more...) {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`zone "a" { criticality = "low" match { labels = { 1 = "x", "k" = ["*"] } } }`))
	f.Add([]byte(`flow "f" { from = [zone.a.b, "zone.a", zones.x] to = zone.a services = service.s expires = "2020-01-01" }`))
	f.Add([]byte(`quarantine { action = { low = 1, "high" = "isolate" } default_ttl = "9999999d" }`))
	f.Add([]byte(`service "s" { tcp = ["1-65535", 0, -1, 1e99, "65535-1"] icmp = [null] }`))

	p := NewParser(WithDrivers(map[string][]string{"linux_nftables": {"firewall"}}))
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		cfg, _ := p.Load(Source{Filename: "fuzz.hcl", Bytes: src})
		if cfg == nil {
			t.Fatal("Load returned a nil Config")
		}
		_, _ = Format("fuzz.hcl", src)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("loading %d bytes took %s", len(src), d)
		}
	})
}
