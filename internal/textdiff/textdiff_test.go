package textdiff

import "testing"

func TestUnified(t *testing.T) {
	a := []byte("zone \"a\" {\ncriticality = \"low\"\n}\n")
	b := []byte("zone \"a\" {\n  criticality = \"low\"\n}\n")
	got := Unified("z.hcl", "z.hcl (formatted)", a, b)
	want := "--- z.hcl\n+++ z.hcl (formatted)\n@@ -1,3 +1,3 @@\n zone \"a\" {\n-criticality = \"low\"\n+  criticality = \"low\"\n }\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if Unified("z.hcl", "z.hcl (formatted)", a, a) != "" {
		t.Error("equal inputs must give an empty diff")
	}
}
