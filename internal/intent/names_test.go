package intent

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var nftIdentifier = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

func TestSetNames(t *testing.T) {
	long := strings.Repeat("x", 70)
	tests := []struct {
		name  string
		names []string
		want  map[string]string
	}{
		{"plain names keep theirs", []string{"infusion_pumps", "pacs"},
			map[string]string{"infusion_pumps": "zone_infusion_pumps", "pacs": "zone_pacs"}},
		{"a dash becomes an underscore when nothing collides", []string{"icu-3"},
			map[string]string{"icu-3": "zone_icu_3"}},
		{"non-ASCII letters too", []string{"pädiatrie"},
			map[string]string{"pädiatrie": "zone_p_diatrie"}},
		{"the plain name wins a collision, the changed one is hashed", []string{"icu-3", "icu_3"},
			map[string]string{"icu_3": "zone_icu_3", "icu-3": "zone_icu_3_" + hashName("icu-3", 8)}},
		{"two changed names that collide are both hashed", []string{"a-b", "a.b"},
			map[string]string{"a-b": "zone_a_b_" + hashName("a-b", 8), "a.b": "zone_a_b_" + hashName("a.b", 8)}},
		{"too long is cut and hashed", []string{long},
			map[string]string{long: "zone_" + strings.Repeat("x", MaxSetName-len("zone_")-9) + "_" + hashName(long, 8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SetNames("zone_", tt.names)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("SetNames(%q) = %v, want %v", tt.names, got, tt.want)
			}
		})
	}
}

// Set names are valid, unique and short whatever the names, and a name's
// set name does not depend on the order of the others.
func TestSetNamesProperties(t *testing.T) {
	names := []string{"a", "a_", "a-", "a.", "a_b", "a-b", "a_b_" + hashName("a-b", 8), strings.Repeat("é", 40),
		strings.Repeat("y", 58), strings.Repeat("y", 59), strings.Repeat("y", 63) + "1", strings.Repeat("y", 63) + "2", "x-" + strings.Repeat("z", 80)}
	for _, prefix := range []string{ZoneSetPrefix, NetworkSetPrefix} {
		got := SetNames(prefix, names)
		seen := map[string]string{}
		for _, n := range names {
			s := got[n]
			if !nftIdentifier.MatchString(s) || len(s) > MaxSetName || !strings.HasPrefix(s, prefix) {
				t.Errorf("%q -> %q: not a valid set name", n, s)
			}
			if other, ok := seen[s]; ok {
				t.Errorf("%q and %q both -> %q", n, other, s)
			}
			seen[s] = n
		}
		reversed := make([]string, len(names))
		for i, n := range names {
			reversed[len(names)-1-i] = n
		}
		if again := SetNames(prefix, reversed); fmt.Sprint(again) != fmt.Sprint(got) {
			t.Errorf("order matters:\n%v\n%v", got, again)
		}
	}
}
