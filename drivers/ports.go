package drivers

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/wardnet/ward/drivers/intent"
)

// MergePorts returns port ranges the way renderers write them: checked
// (0 <= from <= to <= 65535), sorted, overlapping and adjacent ranges
// merged. ports is not changed; no ranges gives none.
func MergePorts(ports []intent.Ports) ([]intent.Ports, error) {
	if len(ports) == 0 {
		return nil, nil
	}
	ps := slices.Clone(ports)
	for _, p := range ps {
		if p.From < 0 || p.To > 65535 || p.From > p.To {
			return nil, fmt.Errorf("port range %d-%d: want 0 <= from <= to <= 65535", p.From, p.To)
		}
	}
	slices.SortFunc(ps, func(a, b intent.Ports) int { return cmp.Or(a.From-b.From, a.To-b.To) })
	merged := []intent.Ports{ps[0]}
	for _, p := range ps[1:] {
		last := &merged[len(merged)-1]
		if p.From <= last.To+1 {
			last.To = max(last.To, p.To)
			continue
		}
		merged = append(merged, p)
	}
	return merged, nil
}
