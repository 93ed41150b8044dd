package engine

import "github.com/wardnet/ward/internal/inventory"

// deviceField returns the inventory field a match key names.
func deviceField(d *inventory.Device, key string) string {
	switch key {
	case "name":
		return d.Name
	case "class":
		return d.Class
	case "vendor":
		return d.Vendor
	case "model":
		return d.Model
	case "firmware":
		return d.Firmware
	case "criticality":
		return d.Criticality
	case "site":
		return d.Site
	case "location":
		return d.Location
	case "switch":
		return d.Switch
	case "port":
		return d.Port
	case "mac":
		return d.MAC
	}
	return ""
}
