# Automated quarantine: what an IDS/SIEM alert about a device does.
#
#   isolate  = move the device to the quarantine VLAN and deny everything but
#              the remediation network
#   restrict = keep the device where it is, keep only its flows marked
#              essential = true, deny the rest
#   notify   = record the alert and wait for a person
#
# A pump mid-infusion or a monitor on a patient must keep doing its job, so
# life-critical and high devices are restricted, never cut off automatically.
# Isolating a life-critical device always needs a person (clinical engineering
# on call), who first checks with the unit that the device is off-patient.

quarantine {
  vlan              = 999
  remediation       = [network.remediation]
  default_ttl       = "24h"
  max_auto_per_hour = 20

  action = {
    low           = "isolate"
    medium        = "isolate"
    high          = "restrict"
    life_critical = "restrict"
  }

  # An isolate of a life-critical device (by an operator choosing
  # -level isolate, or a future change to the table above) waits for a person.
  # Together with max_auto_per_hour this keeps an alert storm — a noisy IDS
  # signature firing on every pump — from taking a ward's pumps off the network.
  approval_required = ["life_critical"]
}
