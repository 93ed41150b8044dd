package drivers

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

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

// PortOperators writes port ranges as the port operators of Cisco-style
// ACL entries (IOS-XE, EOS): one per entry, "eq P" for one port, "range A
// B" for more, after MergePorts; no ranges, or all ports, is one entry with
// no operator ("").
func PortOperators(ports []intent.Ports) ([]string, error) {
	if len(ports) == 0 {
		return []string{""}, nil
	}
	merged, err := MergePorts(ports)
	if err != nil {
		return nil, err
	}
	if len(merged) == 1 && merged[0].From == 0 && merged[0].To == 65535 {
		return []string{""}, nil
	}
	ops := make([]string, len(merged))
	for i, p := range merged {
		if p.From == p.To {
			ops[i] = "eq " + strconv.Itoa(p.From)
		} else {
			ops[i] = "range " + strconv.Itoa(p.From) + " " + strconv.Itoa(p.To)
		}
	}
	return ops, nil
}
