package policy

import "testing"

// BenchmarkLoadExample parses and validates the example hospital policy, Rego
// included, from disk: what ward validate does.
func BenchmarkLoadExample(b *testing.B) {
	p := NewParser(WithDrivers(testDrivers))
	for b.Loop() {
		if _, diags := p.LoadDir("../examples/hospital/policy"); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
