package drivertest_test

import (
	"fmt"
	"testing"

	"github.com/wardnet/ward/drivers/drivertest"
)

func ExampleDiff() {
	fmt.Print(drivertest.Diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n"))
	// Output:
	//   … 1 unchanged lines
	//   b
	//   c
	// - d
	// + D
	//   e
	//   f
	//   … 1 unchanged lines
}

func TestDiff(t *testing.T) {
	for _, c := range []struct{ want, got, diff string }{
		{"x\n", "x\n", ""},
		{"", "a\n", "+ a\n"},
		{"a\nb\n", "b\nc\n", "- a\n  b\n+ c\n"},
	} {
		if d := drivertest.Diff(c.want, c.got); d != c.diff {
			t.Errorf("Diff(%q, %q) = %q, want %q", c.want, c.got, d, c.diff)
		}
	}
}
