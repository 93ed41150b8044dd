package jobs

// MachineID names where a pid means something (host, boot, pid
// namespace), "" when it cannot tell: internal/cluster judges a replica of
// this machine dead by its pid, as the SQLite lease judges a holder.
func MachineID() string { return machineID() }

// PidAlive reports whether pid runs on this machine (a zombie does not).
func PidAlive(pid int) bool { return pidAlive(pid) }
