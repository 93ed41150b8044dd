package foo # ERROR: Unknown Rego package

deny contains msg if {
	some name, zone in input.zones
	zone.enforcement == "monitor"
	msg := sprintf("zone %s is in monitor mode", [name])
}
