package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/policy"
)

// matrixHead is a row or column of the matrix: a zone, or a network
// ("network:NAME").
type matrixHead struct {
	Key, Label, Criticality string
	Network, Monitor        bool
}

// matrixCell is what the row may open to the column: the report's cell.
type matrixCell struct {
	Services, Flows    []string
	Essential, Monitor bool
	Link               string // the cell's flows
}

type matrixRow struct {
	Head  matrixHead
	Cells []matrixCell
}

// matrixData is the matrix page's view-model.
type matrixData struct {
	Banner           banner
	Columns          []matrixHead
	Rows             []matrixRow
	Criticality, Q   string
	Site             string
	Criticalities    []string
	Sites            []string
	Cells, Essential int
}

// matrixData lays the report's matrix out as a table. Nothing about what a
// flow allows is computed here: the cells, their services and flows are the
// report's; a cell is essential when one of its flows is (the report's flow
// register says so), and monitor when a zone of the pair is in monitor mode
// (the engine logs rather than drops traffic of such zones).
//
// site keeps the zones with a device at that site (the inventory's site
// column, today's inventory even as of a past time), and drops networks.
func matrixOf(ev *evidence, crit, site, q string) matrixData {
	rep := ev.rep
	d := matrixData{Banner: ev.banner(), Criticality: crit, Site: site, Q: q, Criticalities: policy.Criticalities()}
	siteOf := map[string]string{}
	sites := map[string]bool{}
	for _, dv := range ev.devices {
		siteOf[dv.Name] = dv.Site
		if dv.Site != "" {
			sites[dv.Site] = true
		}
	}
	d.Sites = slices.Sorted(maps.Keys(sites))
	atSite := map[string]bool{}
	if site != "" {
		for _, g := range rep.DevicesByZone {
			for _, dv := range g.Devices {
				if siteOf[dv.Name] == site {
					atSite[g.Zone] = true
					break
				}
			}
		}
	}
	essential := map[string]bool{}
	for _, f := range rep.Flows {
		essential[f.Name] = f.Essential
	}
	heads := map[string]matrixHead{}
	for _, z := range rep.Zones {
		heads[z.Name] = matrixHead{Key: z.Name, Label: z.Name, Criticality: z.Criticality, Monitor: z.Enforcement == "monitor"}
	}
	for _, c := range rep.Matrix {
		for _, k := range []string{c.From, c.To} {
			if _, ok := heads[k]; !ok {
				heads[k] = matrixHead{Key: k, Label: k, Network: strings.HasPrefix(k, "network:")}
			}
		}
	}
	q = strings.ToLower(strings.TrimSpace(q))
	var keep []matrixHead
	for _, k := range slices.Sorted(maps.Keys(heads)) {
		hd := heads[k]
		if crit != "" && hd.Criticality != crit {
			continue
		}
		if site != "" && !atSite[k] {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(k), q) {
			continue
		}
		keep = append(keep, hd)
	}
	cells := map[[2]string]report.Cell{}
	for _, c := range rep.Matrix {
		cells[[2]string{c.From, c.To}] = c
	}
	d.Columns = keep
	for _, from := range keep {
		row := matrixRow{Head: from}
		for _, to := range keep {
			c, ok := cells[[2]string{from.Key, to.Key}]
			if !ok {
				row.Cells = append(row.Cells, matrixCell{})
				continue
			}
			mc := matrixCell{Services: c.Services, Flows: c.Flows, Monitor: from.Monitor || to.Monitor,
				Link: withAsOf("/ui/flows?"+url.Values{"from": {from.Key}, "to": {to.Key}}.Encode(), ev.asOf)}
			for _, f := range c.Flows {
				mc.Essential = mc.Essential || essential[f]
			}
			d.Cells++
			if mc.Essential {
				d.Essential++
			}
			row.Cells = append(row.Cells, mc)
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

func (h *Handler) matrix(w http.ResponseWriter, r *http.Request, s *session) {
	h.withEvidence(w, r, s, func(ev *evidence) {
		q := r.URL.Query()
		crit := q.Get("criticality")
		if crit != "" && !slices.Contains(policy.Criticalities(), crit) {
			h.problem(w, r, s, http.StatusBadRequest, "Bad criticality", "No criticality "+crit+"; one of "+strings.Join(policy.Criticalities(), ", ")+".")
			return
		}
		d := matrixOf(ev, crit, q.Get("site"), q.Get("q"))
		h.render(w, r, http.StatusOK, "matrix", page{Title: "Zone matrix", Nav: "matrix", Session: s.viewer(), CSRF: s.csrf, AsOf: ev.asOf, Data: d})
	})
}
