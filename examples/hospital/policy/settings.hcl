# St. Example General Hospital — global settings.
#
# Default-deny is the only sane posture for a clinical network: a flow that is
# not written down in flows.hcl, with a reason and a change ticket, does not
# exist. Devices the inventory cannot place in a zone land in "unclassified",
# which has no flows into any clinical zone (see zones.hcl).

settings {
  default_zone   = "unclassified"
  default_action = "deny"
}
