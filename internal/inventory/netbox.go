package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// ParseNetBox reads a NetBox device export: the body of
// GET /api/dcim/devices/ (the paginated envelope {"count": N, "results":
// [...]}, which must hold every page) or a bare array of device objects.
// docs/netbox-import.md describes how NetBox fields map to Device. Problems name the
// record's index and the NetBox field to fix, e.g. custom_fields.criticality.
// Like ParseCSV it is all-or-nothing.
func ParseNetBox(r io.Reader) ([]Device, error) {
	s, err := newJSONStream(r)
	if err != nil {
		return nil, err
	}
	tok, ok := s.first()
	if !ok {
		return nil, s.p.err()
	}
	var devices deviceList
	dups := newDuplicates("record")
	each := func(i int, raw json.RawMessage) {
		d, errs := fromNetBox(raw, i, dups)
		if len(errs) == 0 {
			devices.add(d)
		}
		s.p.addAll(errs)
	}
	var n int
	switch tok {
	case json.Delim('['):
		n = s.array(each)
	case json.Delim('{'):
		var ok bool
		if n, ok = s.envelope(each); !ok {
			return nil, s.p.err()
		}
	default:
		s.p.add(RowError{Reason: `want the JSON of GET /api/dcim/devices/: {"count": N, "results": [...]} or an array of devices`})
		return nil, s.p.err()
	}
	s.end()
	if err := s.p.err(); err != nil {
		return nil, err
	}
	if n == 0 {
		s.p.add(RowError{Reason: "no devices in file: the export has no results"})
		return nil, s.p.err()
	}
	return devices.devices(), nil
}

// envelope reads the rest of a NetBox list response whose '{' was just read,
// streaming "results" through fn. It checks that count matches the results,
// so one page of a paginated export is not mistaken for the whole inventory.
func (s *jsonStream) envelope(fn func(int, json.RawMessage)) (int, bool) {
	count, n := -1, 0
	sawResults := false
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			s.syntax(err, 0)
			return n, false
		}
		switch tok {
		case "results":
			tok, err := s.dec.Token()
			if err != nil {
				s.syntax(err, 0)
				return n, false
			}
			if tok != json.Delim('[') {
				s.p.add(RowError{Reason: `"results" is not an array; want the JSON of GET /api/dcim/devices/`})
				return n, false
			}
			sawResults = true
			n = s.array(fn)
			if s.p.full() {
				return n, false
			}
		case "count":
			if err := s.dec.Decode(&count); err != nil {
				s.p.add(RowError{Field: "count", Reason: "not a number; want the JSON of GET /api/dcim/devices/"})
				return n, false
			}
		default: // next, previous and anything else
			var skip json.RawMessage
			if err := s.dec.Decode(&skip); err != nil {
				s.syntax(err, 0)
				return n, false
			}
		}
	}
	if _, err := s.dec.Token(); err != nil { // the closing '}'
		s.syntax(err, 0)
		return n, false
	}
	switch {
	case !sawResults:
		s.p.add(RowError{Reason: `no "results" array; want the JSON of GET /api/dcim/devices/ ({"count": N, "results": [...]}) or an array of devices`})
		return n, false
	case count >= 0 && count != n && len(s.p.list) == 0:
		s.p.add(RowError{Field: "count", Value: strconv.Itoa(count),
			Reason: fmt.Sprintf("NetBox reports %d devices but the file holds %d: it is one page of a paginated export; fetch every page (follow \"next\") and put all results in one file", count, n)})
		return n, false
	}
	return n, true
}

// netboxDevice is the part of a NetBox 3.x/4.x device object that Ward uses.
type netboxDevice struct {
	ID         int           `json:"id"`
	Name       *string       `json:"name"`
	DeviceType *netboxType   `json:"device_type"`
	Role       *netboxRef    `json:"role"`        // NetBox 3.6+
	DeviceRole *netboxRef    `json:"device_role"` // before 3.6
	Site       *netboxRef    `json:"site"`
	Location   *netboxRef    `json:"location"`
	Rack       *netboxRef    `json:"rack"`
	PrimaryIP  *netboxIP     `json:"primary_ip"`
	PrimaryIP4 *netboxIP     `json:"primary_ip4"`
	PrimaryIP6 *netboxIP     `json:"primary_ip6"`
	PrimaryMAC *netboxMAC    `json:"primary_mac_address"` // NetBox 4.2+
	Status     *netboxChoice `json:"status"`
	Tags       []netboxRef   `json:"tags"`
	// Custom field values may be strings, numbers, objects or null,
	// depending on the field's type.
	CustomFields map[string]json.RawMessage `json:"custom_fields"`
}

type netboxRef struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

type netboxType struct {
	Manufacturer *netboxRef `json:"manufacturer"`
	Model        string     `json:"model"`
}

type netboxIP struct {
	Address string `json:"address"`
}

type netboxMAC struct {
	MACAddress string `json:"mac_address"`
}

type netboxChoice struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// fromNetBox maps one NetBox device to a Device; problems name NetBox's
// own fields so they can be fixed there.
func fromNetBox(raw json.RawMessage, i int, dups *duplicates) (Device, []RowError) {
	d := Device{Line: i}
	var nb netboxDevice
	if err := json.Unmarshal(raw, &nb); err != nil {
		e := RowError{Line: i, Reason: fmt.Sprintf("is %s, not a NetBox device object", jsonKind(raw))}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && jsonKind(raw) == "an object" {
			e.Field, e.Reason = te.Field, fmt.Sprintf("is a JSON %s, which NetBox does not write here; is this a NetBox device export?", te.Value)
		}
		return d, []RowError{e}
	}
	if nb.Name != nil {
		d.Name = strings.TrimSpace(*nb.Name)
	}
	// Messages name the device, or its NetBox id when it has no name.
	who := d.Name
	if who == "" {
		who = fmt.Sprintf("NetBox id %d", nb.ID)
	}
	var shape []RowError
	bad := func(field, value, reason string) {
		shape = append(shape, RowError{Line: i, Device: who, Field: field, Value: shorten(value), Reason: reason})
	}
	if d.Name == "" {
		bad("name", "", "the device has no name in NetBox; name it there, Ward needs a unique name for every device")
	}
	if nb.DeviceType != nil {
		d.Model = nb.DeviceType.Model
		if nb.DeviceType.Manufacturer != nil {
			d.Vendor = nb.DeviceType.Manufacturer.Name
		}
	}
	switch {
	case nb.Role != nil:
		d.Class = nb.Role.Slug
	case nb.DeviceRole != nil:
		d.Class = nb.DeviceRole.Slug
	}
	if nb.Site != nil {
		d.Site = firstOf(nb.Site.Slug, nb.Site.Name)
	}
	switch {
	case nb.Location != nil:
		d.Location = nb.Location.Name
	case nb.Rack != nil:
		d.Location = nb.Rack.Name
	}

	cf := func(name string) string {
		v, ok := nb.CustomFields[name]
		if !ok {
			return ""
		}
		switch jsonKind(v) {
		case "a string":
			var s string
			_ = json.Unmarshal(v, &s)
			return s
		case "a number":
			return string(v)
		case "null":
			return ""
		case "an object": // an object field (a device, an interface) or an old-style selection
			var obj struct{ Name, Value string }
			if json.Unmarshal(v, &obj) == nil && firstOf(obj.Name, obj.Value) != "" {
				return firstOf(obj.Name, obj.Value)
			}
		}
		bad("custom_fields."+name, "", fmt.Sprintf("is %s; want a text or selection custom field, or an object field", jsonKind(v)))
		return ""
	}
	d.Firmware = cf("firmware")
	d.Criticality = cf("criticality")
	d.Switch = cf("switch")
	d.Port = cf("switch_port")
	macField := "custom_fields.mac_address"
	d.MAC = cf("mac_address")
	if d.MAC == "" && nb.PrimaryMAC != nil {
		d.MAC, macField = nb.PrimaryMAC.MACAddress, "primary_mac_address.mac_address"
	}
	if strings.TrimSpace(d.Criticality) == "" {
		bad("custom_fields.criticality", "", "required: set the criticality custom field in NetBox to one of life_critical, high, medium, low")
	}

	ipField, ipText := "primary_ip", ""
	for _, c := range []struct {
		field string
		ip    *netboxIP
	}{{"primary_ip", nb.PrimaryIP}, {"primary_ip4", nb.PrimaryIP4}, {"primary_ip6", nb.PrimaryIP6}} {
		if c.ip != nil && c.ip.Address != "" {
			ipField, ipText = c.field+".address", c.ip.Address
			break
		}
	}
	if ipText == "" {
		bad("primary_ip", "", "the device has no primary IP in NetBox; assign one, or leave the device out of the export")
	} else if p, err := netip.ParsePrefix(ipText); err == nil {
		ipText = p.Addr().String() // NetBox writes addresses with their prefix length
	}

	for _, t := range nb.Tags {
		if t.Slug == "" {
			continue
		}
		if d.Labels == nil {
			d.Labels = map[string]string{}
		}
		d.Labels["tag."+t.Slug] = "true"
	}
	if nb.Status != nil && nb.Status.Value != "" && nb.Status.Value != "active" {
		if d.Labels == nil {
			d.Labels = map[string]string{}
		}
		d.Labels["netbox_status"] = nb.Status.Value
	}
	if nb.ID != 0 {
		if d.Labels == nil {
			d.Labels = map[string]string{}
		}
		d.Labels["netbox_id"] = strconv.Itoa(nb.ID)
	}

	// Validate under Ward's field names, then rename them to NetBox's.
	source := map[string]string{
		"name": "name", "mac": macField, "ip": ipField, "class": "role.slug", "vendor": "device_type.manufacturer.name",
		"model": "device_type.model", "firmware": "custom_fields.firmware", "criticality": "custom_fields.criticality",
		"site": "site.slug", "location": "location.name", "switch": "custom_fields.switch", "port": "custom_fields.switch_port",
	}
	if nb.Role == nil {
		source["class"] = "device_role.slug"
	}
	if nb.Location == nil {
		source["location"] = "rack.name"
	}
	if nb.Site != nil && nb.Site.Slug == "" {
		source["site"] = "site.name"
	}
	errs := checkDevice(&d, ipText, dups)
	for k := range errs {
		errs[k].Device = who
		if f, ok := source[errs[k].Field]; ok {
			errs[k].Field = f
		} else if strings.HasPrefix(errs[k].Field, "label") {
			errs[k].Field = "tags"
		}
	}
	// A missing value reported in NetBox terms above is not reported again.
	for _, e := range shape {
		errs = deleteField(errs, e.Field)
		if e.Field == "primary_ip" {
			errs = deleteField(errs, "primary_ip.address")
		}
	}
	return d, append(shape, errs...)
}

func deleteField(errs []RowError, field string) []RowError {
	out := errs[:0]
	for _, e := range errs {
		if e.Field != field {
			out = append(out, e)
		}
	}
	return out
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
