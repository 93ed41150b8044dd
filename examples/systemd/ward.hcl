# /etc/ward/ward.hcl — ward serve settings (the flags, with _ for -).
listen     = "0.0.0.0:8443"
tls_cert   = "/etc/ward/tls.crt"
tls_key    = "/etc/ward/tls.key"
policy     = "/etc/ward/policy" # a checkout of the policy repository
log_format = "json"
# This replica's name in ward status and GET /api/v1/cluster (default
# HOST-PID-RANDOM), and the address other people reach it at.
replica   = "ward-a"
advertise = "ward-a.example.internal:8443"
# The leader's lease: a leader not heard from for this long is replaced.
lease = "3s"
# How often the leader has every applied target checked for changes made
# outside Ward (recorded as drift checks; ward_target_drift in /metrics).
drift_interval = "1h"
