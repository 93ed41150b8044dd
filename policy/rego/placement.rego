# Placement: which zone each device is in.
#
# A device satisfies a zone's match block when every key matches (AND) and,
# for each key, any pattern does (OR); patterns are globs without delimiters
# (* crosses slashes). Of the zones a device satisfies, the highest priority
# wins; two or more at that priority are a conflict, and the device has no
# zone. A device no zone matches goes to settings.default_zone.
#
# Operators may add zones to zone_match in their own package ward.placement
# module, e.g.:
#
#   zone_match[id] contains "legacy_pumps" if {
#       d := data.ward.devices[id]
#       startswith(d.firmware, "9.")
#   }
package ward.placement

# Zones indexed by a literal class are only tried for devices of that class;
# the rest (globs in class, or no class key) are tried for every device.
zone_match[id] contains z if {
	d := data.ward.devices[id]
	some z in data.ward.index.by_class[d.class]
	matches(input.zones[z].match, d)
}

zone_match[id] contains z if {
	d := data.ward.devices[id]
	some z in data.ward.index.unindexed
	matches(input.zones[z].match, d)
}

matches(m, d) if {
	every key, patterns in m {
		key_matches(key, patterns, d)
	}
}

# A device without an address is in no CIDR (and net.cidr_contains would
# fail on "", which Ward evaluates as an error: StrictBuiltinErrors).
key_matches("ip", cidrs, d) if {
	d.ip != ""
	some cidr in cidrs
	net.cidr_contains(cidr, d.ip)
}

key_matches("labels", labels, d) if {
	every k, patterns in labels {
		v := d.labels[k]
		some p in patterns
		glob.match(p, [], v)
	}
}

key_matches(key, patterns, d) if {
	not key in {"ip", "labels"}
	some p in patterns
	glob.match(p, [], d[key])
}

# The winning priority among a device's matches, and the zones holding it.
top_zones(ms) := {z |
	some z in ms
	input.zones[z].priority == max({input.zones[m].priority | some m in ms})
}

zone[id] := z if {
	ms := zone_match[id]
	winners := top_zones(ms)
	count(winners) == 1
	some z in winners
}

zone[id] := input.settings.default_zone if {
	data.ward.devices[id]
	not zone_match[id]
	input.settings.default_zone != ""
}

conflicts[id] := sort(winners) if {
	ms := zone_match[id]
	winners := top_zones(ms)
	count(winners) > 1
}

unplaced contains id if {
	data.ward.devices[id]
	not zone_match[id]
	input.settings.default_zone == ""
}

# The zone of the device in input.device_id, for incremental re-evaluation.
zone_of_input := zone[input.device_id]
