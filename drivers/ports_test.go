package drivers

import (
	"slices"
	"testing"

	"github.com/wardnet/ward/drivers/intent"
)

func TestMergePorts(t *testing.T) {
	in := []intent.Ports{{From: 443, To: 443}, {From: 20, To: 22}, {From: 23, To: 23}, {From: 8000, To: 8080}, {From: 8080, To: 8090}, {From: 21, To: 21}}
	orig := slices.Clone(in)
	got, err := MergePorts(in)
	if err != nil {
		t.Fatal(err)
	}
	// 20-22 and 23 are adjacent, 21 lies inside, 8000-8080 and 8080-8090 overlap.
	want := []intent.Ports{{From: 20, To: 23}, {From: 443, To: 443}, {From: 8000, To: 8090}}
	if !slices.Equal(got, want) {
		t.Errorf("MergePorts = %v, want %v", got, want)
	}
	if !slices.Equal(in, orig) {
		t.Errorf("MergePorts changed its argument to %v", in)
	}
	for _, bad := range []intent.Ports{{From: -1, To: 5}, {From: 10, To: 65536}, {From: 9, To: 8}} {
		if _, err := MergePorts([]intent.Ports{{From: 1, To: 1}, bad}); err == nil {
			t.Errorf("MergePorts accepted %v", bad)
		}
	}
}
