package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/report"
	"github.com/wardnet/ward/internal/store"
)

// devicesData is the device list's view-model: the report's devices by
// zone, for one zone (?zone=) or all.
type devicesData struct {
	Banner  banner
	Zone    string
	Zones   []string
	Groups  []report.ZoneDevices
	Shown   int
	Limited bool
}

// maxListed bounds the devices one list page shows: past it, pick a zone.
const maxListed = 5000

func (h *Handler) devices(w http.ResponseWriter, r *http.Request, s *session) {
	h.withEvidence(w, r, s, func(ev *evidence) {
		zone := r.URL.Query().Get("zone")
		d := devicesData{Banner: ev.banner(), Zone: zone}
		for _, g := range ev.rep.DevicesByZone {
			if g.Zone != "" {
				d.Zones = append(d.Zones, g.Zone)
			}
			if zone != "" && g.Zone != zone {
				continue
			}
			if d.Shown+len(g.Devices) > maxListed {
				g.Devices = g.Devices[:max(0, maxListed-d.Shown)]
				d.Limited = true
			}
			d.Shown += len(g.Devices)
			d.Groups = append(d.Groups, g)
		}
		h.render(w, r, http.StatusOK, "devices", page{Title: "Devices", Nav: "devices", Session: s.viewer(), CSRF: s.csrf, AsOf: ev.asOf, Data: d})
	})
}

// deviceData is a device page's view-model: the device as the inventory
// has it, its zone as the report places it, what its zone may open and be
// opened by (the report's matrix cells from and to the zone, as the API's
// device effective endpoint lists them) and its quarantines in the report's
// period.
type deviceData struct {
	Banner              banner
	Device              report.Device
	Zone                string
	Criticality         string
	Switch, Port        string
	Removed             bool
	Outbound, Inbound   []report.Cell
	Quarantines         []report.Quarantine
	DefaultAction, Note string
	// Preview is what the quarantine manager says a quarantine of the
	// device would do now (quarantine.Manager.Preview): nil when viewing a
	// past time, or when this Ward's manager cannot preview.
	Preview *quarantinePreview
	// Kept, only when there is no Preview, are the
	// essential flows in force with the device's zone at either end, from
	// the report's flow register: a lower bound of what a restrict keeps
	// (essential flows naming a network that holds the device's address
	// are kept too).
	Kept []flowRow
}

// quarantinePreview is the device page's "what a quarantine would keep
// open".
type quarantinePreview struct {
	quarantine.Preview
	// Error says why there is no preview (the device is removed from the
	// inventory, or the decision failed).
	Error string
}

// previewer is the quarantine manager's preview, which the UI's
// Quarantines need not offer (a Ward without a manager, a test's fake).
type previewer interface {
	Preview(ctx context.Context, device string) (quarantine.Preview, error)
}

// previewOf asks the quarantine manager what a quarantine of device name
// would do; nil when it cannot say.
func (h *Handler) previewOf(ctx context.Context, name string) *quarantinePreview {
	p, ok := h.cfg.Quarantines.(previewer)
	if !ok {
		return nil
	}
	pv, err := p.Preview(ctx, name)
	switch {
	case errors.Is(err, quarantine.ErrNotFound):
		return &quarantinePreview{Error: "the device is not in the inventory in force: nothing would be quarantined"}
	case err != nil:
		h.cfg.Logger.Error("previewing a quarantine for the UI", "error", err, "device", name)
		return &quarantinePreview{Error: "Ward could not work out the quarantine decision: " + err.Error()}
	}
	return &quarantinePreview{Preview: pv}
}

func (h *Handler) device(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	row, err := inventory.Get(r.Context(), h.cfg.Store, name)
	if errors.Is(err, store.ErrNotFound) {
		h.problem(w, r, s, http.StatusNotFound, "No such device", fmt.Sprintf("The inventory has no device %q.", name))
		return
	}
	if err != nil {
		h.problem(w, r, s, http.StatusInternalServerError, "Device", "Ward could not read the device: "+err.Error())
		return
	}
	h.withEvidence(w, r, s, func(ev *evidence) {
		d := deviceData{Banner: ev.banner(), Device: report.Device{Name: row.Name, IP: row.IP}, Switch: row.Switch, Port: row.Port,
			Removed: row.RemovedAt != nil, DefaultAction: ev.rep.DefaultAction}
		for _, g := range ev.rep.DevicesByZone {
			for _, dv := range g.Devices {
				if strings.EqualFold(dv.Name, row.Name) {
					d.Device, d.Zone = dv, g.Zone
				}
			}
		}
		for _, z := range ev.rep.Zones {
			if z.Name == d.Zone {
				d.Criticality = z.Criticality
			}
		}
		if d.Zone != "" {
			for _, c := range ev.rep.Matrix {
				if c.From == d.Zone {
					d.Outbound = append(d.Outbound, c)
				}
				if c.To == d.Zone {
					d.Inbound = append(d.Inbound, c)
				}
			}
		}
		if ev.asOf == "" {
			d.Preview = h.previewOf(r.Context(), row.Name)
		}
		for _, f := range ev.rep.Flows {
			if d.Preview == nil && d.Zone != "" && f.Essential && f.InForce && (slices.Contains(f.From, d.Zone) || slices.Contains(f.To, d.Zone)) {
				d.Kept = append(d.Kept, flowRowOfReport(f, ev.asOf))
			}
		}
		for _, q := range ev.rep.Quarantines {
			if strings.EqualFold(q.Device, row.Name) {
				d.Quarantines = append(d.Quarantines, q)
			}
		}
		switch {
		case d.Removed:
			d.Note = "The device is removed from the inventory; no rule covers it."
		case d.Zone == "":
			d.Note = "The device has no zone; only the default action (" + d.DefaultAction + ") applies to it."
		default:
			d.Note = fmt.Sprintf("Traffic within zone %s is allowed; to and from other zones only what is listed (default action: %s).", d.Zone, d.DefaultAction)
		}
		h.render(w, r, http.StatusOK, "device", page{Title: "Device " + row.Name, Nav: "devices", Session: s.viewer(), CSRF: s.csrf, AsOf: ev.asOf, Data: d})
	})
}
