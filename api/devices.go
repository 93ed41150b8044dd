package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/wardnet/ward/internal/engine"
	"github.com/wardnet/ward/internal/inventory"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

// Device is a device as the API shows it: the inventory fields, the zone
// the policy in force places it in, and its bookkeeping.
type Device struct {
	inventory.Device
	// Zone is the device's zone; "" when no zone matches it or two zones
	// of equal priority do (Conflict names them).
	Zone      string     `json:"zone"`
	Conflict  []string   `json:"conflict,omitempty"`
	Source    string     `json:"source"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	RemovedAt *time.Time `json:"removed_at,omitempty"`
}

// DeviceDetail is one device with its quarantine, if it has one.
type DeviceDetail struct {
	Device
	Quarantine *quarantine.Listed `json:"quarantine"`
}

// placement is the engine's placement of the stored inventory under the
// policy in force: the evaluation whose address sets the firewalls
// enforce (the API's view), so the API never shows a zone the network
// does not. It is nil when Ward has no policy.
type placement struct{ res *engine.Result }

// placement returns the view's evaluation; the result is never changed
// after it is made, so it is read without holding viewMu.
func (s *Server) placement(ctx context.Context) (placement, error) {
	if s.inForce() == nil {
		return placement{}, nil
	}
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	v, err := s.currentView(ctx)
	if err != nil {
		return placement{}, err
	}
	return placement{v.res}, nil
}

// placementOrFail returns the placement, or answers 500.
func (s *Server) placementOrFail(c *gin.Context) (placement, bool) {
	p, err := s.placement(c.Request.Context())
	if err != nil {
		s.internal(c, "evaluating the policy in force to place the devices", err)
		return placement{}, false
	}
	return p, true
}

func (p placement) device(r store.Device) Device {
	d := Device{Device: inventory.FromRow(r), Source: r.Source, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), RemovedAt: r.RemovedAt}
	if p.res != nil && r.RemovedAt == nil {
		d.Zone = p.res.Zone[r.Name]
		d.Conflict = p.res.Conflicts[r.Name]
	}
	return d
}

// listDevices answers GET /api/v1/devices: filters by class, criticality,
// site, vendor, switch, zone and a search term q (name, IP or MAC), and
// pages with limit and offset.
func (s *Server) listDevices(c *gin.Context) {
	limit, offset, ok := page(c)
	if !ok {
		return
	}
	removed, ok := queryBool(c, "removed")
	if !ok {
		return
	}
	if crit := c.Query("criticality"); crit != "" && !slices.Contains(inventory.Criticalities(), crit) {
		fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("criticality=%q: want one of %s", crit, strings.Join(inventory.Criticalities(), ", ")), "criticality")
		return
	}
	zone := c.Query("zone")
	if zone != "" {
		if p := s.inForce(); p == nil || p.Config.Zones[zone] == nil {
			fail(c, http.StatusBadRequest, "invalid_query", fmt.Sprintf("zone=%q: the policy has no such zone (GET /api/v1/zones lists them)", zone), "zone")
			return
		}
	}
	pl, ok := s.placementOrFail(c)
	if !ok {
		return
	}
	f := store.DeviceFilter{IncludeRemoved: removed, Class: c.Query("class"), Criticality: c.Query("criticality"), Site: c.Query("site"),
		Vendor: c.Query("vendor"), Switch: c.Query("switch"), Search: c.Query("q")}
	var out Page[Device]
	if zone == "" {
		f.Limit, f.Offset = limit, offset
		rows, total, err := s.cfg.Store.ListDevices(c.Request.Context(), f)
		if err != nil {
			s.internal(c, "listing devices", err)
			return
		}
		out = Page[Device]{Items: make([]Device, 0, len(rows)), Total: total, Limit: limit, Offset: offset}
		for _, r := range rows {
			out.Items = append(out.Items, pl.device(r))
		}
	} else {
		// The zone comes from the engine, not the database: keep the
		// devices that passed the other filters and are in the zone.
		rows, _, err := s.cfg.Store.ListDevices(c.Request.Context(), f)
		if err != nil {
			s.internal(c, "listing devices", err)
			return
		}
		var in []Device
		for _, r := range rows {
			if d := pl.device(r); d.Zone == zone {
				in = append(in, d)
			}
		}
		out = paginate(in, limit, offset)
	}
	c.JSON(http.StatusOK, out)
}

// device reads a device by the :name path parameter, or answers 404.
func (s *Server) device(c *gin.Context) (*store.Device, bool) {
	name := c.Param("name")
	row, err := inventory.Get(c.Request.Context(), s.cfg.Store, name)
	if errors.Is(err, store.ErrNotFound) {
		notFound(c, "device", name, " in the inventory")
		return nil, false
	}
	if err != nil {
		s.internal(c, "reading the device", err)
		return nil, false
	}
	return row, true
}

func (s *Server) getDevice(c *gin.Context) {
	row, ok := s.device(c)
	if !ok {
		return
	}
	q, err := s.activeQuarantine(c.Request.Context(), row)
	if err != nil {
		s.internal(c, "reading the device's quarantine", err)
		return
	}
	pl, ok := s.placementOrFail(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, DeviceDetail{Device: pl.device(*row), Quarantine: q})
}

// activeQuarantine returns a device's active quarantine, or nil.
func (s *Server) activeQuarantine(ctx context.Context, row *store.Device) (*quarantine.Listed, error) {
	q, err := s.cfg.Store.DeviceActiveQuarantine(ctx, row.ID)
	if q == nil || err != nil {
		return nil, err
	}
	return &quarantine.Listed{Quarantine: *q, Device: row.Name}, nil
}

func (s *Server) deleteDevice(c *gin.Context) {
	row, ok := s.device(c)
	if !ok {
		return
	}
	if row.RemovedAt != nil {
		fail(c, http.StatusConflict, "already_removed", fmt.Sprintf("device %q was removed already, at %s", row.Name, row.RemovedAt.UTC().Format(time.RFC3339)), "")
		return
	}
	if err := inventory.Remove(c.Request.Context(), s.cfg.Store, row.Name, actorOf(c)); err != nil {
		s.internal(c, "removing the device", err)
		return
	}
	s.inventoryChanged(c.Request.Context())
	removed, err := inventory.Get(c.Request.Context(), s.cfg.Store, row.Name)
	if err != nil {
		s.internal(c, "reading the removed device", err)
		return
	}
	// A removed device has no zone: no placement needed.
	c.JSON(http.StatusOK, placement{}.device(*removed))
}

// importDevices answers POST /api/v1/devices/import: the body is an
// inventory file (CSV, JSON or a NetBox export; ?format= or detected), and
// ?replace=true marks stored devices missing from it as removed. It is all
// or nothing: a file with any bad row changes nothing, and every bad row
// is listed.
func (s *Server) importDevices(c *gin.Context) {
	replace, ok := queryBool(c, "replace")
	if !ok {
		return
	}
	var format inventory.Format
	if f := c.Query("format"); f != "" {
		var err error
		if format, err = inventory.ParseFormat(f); err != nil {
			fail(c, http.StatusBadRequest, "invalid_query", err.Error(), "format")
			return
		}
	}
	body, ok := readBody(c, s.cfg.MaxImportBody)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		fail(c, http.StatusBadRequest, "empty_body", "the body is empty; send the inventory file (CSV, JSON or a NetBox export)", "")
		return
	}
	if format == "" {
		format = inventory.DetectFormat(c.Query("filename"), body[:min(len(body), 4096)])
	}
	devices, err := inventory.Parse(bytes.NewReader(body), format)
	if err != nil {
		field, problems := inventoryProblems(err)
		failProblems(c, http.StatusBadRequest, "invalid_inventory", err.Error()+"\nNothing was imported; the inventory is unchanged.", field, problems)
		return
	}
	sum := sha256.Sum256(body)
	source := c.Query("filename")
	if source == "" {
		source = "api"
	}
	res, err := inventory.Import(c.Request.Context(), s.cfg.Store, devices, inventory.ImportOptions{Replace: replace, Actor: actorOf(c), Source: source, SHA256: hex.EncodeToString(sum[:])})
	var pe *inventory.ParseError
	if errors.As(err, &pe) {
		field, problems := inventoryProblems(err)
		failProblems(c, http.StatusConflict, "import_conflict", err.Error()+"\nNothing was imported; the inventory is unchanged.", field, problems)
		return
	}
	if err != nil {
		s.internal(c, "importing the inventory (nothing was imported)", err)
		return
	}
	s.inventoryChanged(c.Request.Context())
	c.JSON(http.StatusOK, res)
}

// inventoryProblems lists an inventory ParseError's problems.
func inventoryProblems(err error) (string, []Problem) {
	var pe *inventory.ParseError
	if !errors.As(err, &pe) {
		return "", nil
	}
	problems := make([]Problem, 0, len(pe.Problems))
	for _, r := range pe.Problems {
		problems = append(problems, Problem{Line: r.Line, Field: r.Field, Message: r.Error()})
	}
	if len(problems) == 0 {
		return "", nil
	}
	return problems[0].Field, problems
}

// inventoryChanged makes the quarantine manager and the cached effective
// policy see the new inventory.
func (s *Server) inventoryChanged(ctx context.Context) {
	s.viewMu.Lock()
	s.view = nil
	if s.cfg.Policy != nil {
		s.cfg.Policy.Forget()
	}
	s.viewMu.Unlock()
	if s.cfg.Quarantines != nil {
		if err := s.cfg.Quarantines.Reload(ctx); err != nil {
			s.cfg.Logger.Error("reloading the inventory for quarantine", "error", err)
		}
	}
}
