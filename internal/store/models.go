package store

import "time"

// Device is a device row. Devices are never deleted: a device missing from a
// --replace import, or removed by hand, gets RemovedAt and stays for history.
type Device struct {
	ID          uint64            `gorm:"primaryKey"`
	Name        string            `gorm:"not null"`
	NameKey     string            `gorm:"not null;uniqueIndex"` // lower(Name)
	MAC         string            `gorm:"column:mac;not null;default:''"`
	IP          string            `gorm:"column:ip;not null"`
	Class       string            `gorm:"not null;default:''"`
	Vendor      string            `gorm:"not null;default:''"`
	Model       string            `gorm:"not null;default:''"`
	Firmware    string            `gorm:"not null;default:''"`
	Criticality string            `gorm:"not null"`
	Site        string            `gorm:"not null;default:''"`
	Location    string            `gorm:"not null;default:''"`
	Switch      string            `gorm:"not null;default:''"`
	Port        string            `gorm:"not null;default:''"`
	Labels      map[string]string `gorm:"serializer:json;not null"`
	Source      string            `gorm:"not null;default:''"` // the file it was last imported from
	CreatedAt   time.Time
	UpdatedAt   time.Time
	RemovedAt   *time.Time
}

// PolicyRevision identifies one version of the policy files.
type PolicyRevision struct {
	ID        uint64 `gorm:"primaryKey"`
	Hash      string `gorm:"not null;uniqueIndex"` // SHA-256 over the files' names and contents
	GitCommit string `gorm:"not null;default:''"`  // when the policy directory is in a git repository
	Dir       string `gorm:"not null;default:''"`
	CreatedAt time.Time
}

// Plan is a saved plan, applied exactly as reviewed.
type Plan struct {
	ID               uint64 `gorm:"primaryKey"`
	PolicyRevisionID *uint64
	InventoryHash    string `gorm:"not null;default:''"`
	Content          string `gorm:"not null"`
	CreatedBy        string `gorm:"not null;default:''"`
	CreatedAt        time.Time
}

// ApplyRun is one attempt to apply a plan.
type ApplyRun struct {
	ID      uint64 `gorm:"primaryKey"`
	PlanID  uint64 `gorm:"not null"`
	Status  string `gorm:"not null"`
	Actor   string `gorm:"not null;default:''"`
	Summary string `gorm:"not null;default:''"`
	// Detail is what the run's apply.finish audit event says besides the
	// results (JSON), written at its start so any worker can finish it.
	Detail     string `gorm:"not null;default:''"`
	StartedAt  time.Time
	FinishedAt *time.Time
}

// TargetState is what Ward last applied to a target, for drift and diffs.
type TargetState struct {
	Target     string `gorm:"primaryKey"`
	Content    string `gorm:"not null"`
	Hash       string `gorm:"not null"`
	ApplyRunID *uint64
	AppliedAt  time.Time
}

// Alert is an alert as received from an IDS or SIEM.
type Alert struct {
	ID         uint64 `gorm:"primaryKey"`
	Source     string `gorm:"not null"`
	ExternalID string `gorm:"not null"`
	Severity   string `gorm:"not null;default:''"`
	IP         string `gorm:"column:ip;not null;default:''"`
	MAC        string `gorm:"column:mac;not null;default:''"`
	Signature  string `gorm:"not null;default:''"`
	DeviceID   *uint64
	Action     string `gorm:"not null;default:''"`
	Raw        string `gorm:"not null;default:''"`
	ReceivedAt time.Time
	// Format is the payload it came in (generic, alertmanager, suricata, zeek).
	Format string `gorm:"not null;default:''"`
	// Decision says why Action was chosen.
	Decision     string `gorm:"not null;default:''"`
	QuarantineID *uint64
}

// Quarantine is a device being contained.
type Quarantine struct {
	ID         uint64     `gorm:"primaryKey" json:"id"`
	DeviceID   uint64     `gorm:"not null" json:"device_id"`
	Level      string     `gorm:"not null" json:"level"`
	Status     string     `gorm:"not null" json:"status"`
	Reason     string     `gorm:"not null;default:''" json:"reason"`
	AlertID    *uint64    `json:"alert_id"`
	CreatedBy  string     `gorm:"not null;default:''" json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	ReleasedAt *time.Time `json:"released_at"`
	ReleasedBy string     `gorm:"not null;default:''" json:"released_by"`
	// PendingLevel is a stronger level (isolate) waiting for approval.
	PendingLevel string     `gorm:"not null;default:''" json:"pending_level"`
	EnforcedAt   *time.Time `json:"enforced_at"`
	// EnforceError says which targets could not be changed; the scheduler
	// retries until it is empty.
	EnforceError string `gorm:"not null;default:''" json:"enforce_error"`
	// Addresses (comma-separated), SwitchTarget, SwitchPort and HomeVLAN
	// are what was enforced, so a release undoes exactly that even after
	// the inventory or policy changed.
	Addresses    string `gorm:"not null;default:''" json:"addresses"`
	SwitchTarget string `gorm:"not null;default:''" json:"switch_target"`
	SwitchPort   string `gorm:"not null;default:''" json:"switch_port"`
	HomeVLAN     int    `gorm:"column:home_vlan;not null;default:0" json:"home_vlan"`
}

// Approval is a person's decision on a quarantine that waited for one.
type Approval struct {
	ID           uint64 `gorm:"primaryKey"`
	QuarantineID uint64 `gorm:"not null"`
	Actor        string `gorm:"not null"`
	Decision     string `gorm:"not null"`
	Comment      string `gorm:"not null;default:''"`
	CreatedAt    time.Time
}

// QuarantinePush is one outcome of pushing a quarantine to one target
// (migration 00009): the history that Quarantine.EnforceError, which keeps
// only the latest state, does not. Rows are only added, by
// RecordTargetEnforcement.
type QuarantinePush struct {
	ID           uint64    `gorm:"primaryKey"`
	QuarantineID uint64    `gorm:"not null;index:quarantine_pushes_quarantine_id_at,priority:1"`
	Target       string    `gorm:"not null"`
	At           time.Time `gorm:"not null;index:quarantine_pushes_quarantine_id_at,priority:2"`
	OK           bool      `gorm:"column:ok;not null"`
	// Error is the target's error, "" when OK.
	Error string `gorm:"not null;default:''"`
	// Fence is the fencing token the push carried (migration 00015), 0
	// when none.
	Fence int64 `gorm:"not null;default:0"`
}

// APIToken is an API bearer token; only its hash is stored.
type APIToken struct {
	ID         uint64 `gorm:"primaryKey"`
	Name       string `gorm:"not null;uniqueIndex"`
	Role       string `gorm:"not null"`
	TokenHash  string `gorm:"not null;uniqueIndex"`
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// Job is a unit of queued work for one target, run by internal/jobs under
// the target's owner. Status is one of the Job* constants (jobs.go).
type Job struct {
	ID      uint64 `gorm:"primaryKey" json:"id"`
	Kind    string `gorm:"not null" json:"kind"`
	Target  string `gorm:"not null;default:''" json:"target"`
	Payload string `gorm:"not null;default:''" json:"payload"`
	// Key makes enqueueing idempotent: at most one queued job per key.
	Key        string     `gorm:"column:key;not null;default:''" json:"key"`
	Status     string     `gorm:"not null" json:"status"`
	Attempts   int        `gorm:"not null;default:0" json:"attempts"`
	RunAt      time.Time  `json:"run_at"`
	LockedBy   string     `gorm:"not null;default:''" json:"locked_by"`
	LockedAt   *time.Time `json:"locked_at"`
	LastError  string     `gorm:"not null;default:''" json:"last_error"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// TargetOwner is who holds a target for device I/O (internal/jobs.Owner):
// on SQLite the lease itself, on PostgreSQL a note beside the advisory lock
// so that a waiter can name the holder.
type TargetOwner struct {
	Target  string `gorm:"primaryKey"`
	Holder  string `gorm:"not null"`
	Purpose string `gorm:"not null;default:''"`
	// Machine says where Pid means something (host, boot, pid namespace).
	Machine string `gorm:"not null;default:''"`
	Pid     int    `gorm:"not null;default:0"`
	// Token is random per acquisition; only its taker renews or releases.
	Token string `gorm:"not null"`
	// Renewals counts renewals: a waiter judges a lease alive by seeing it
	// change, on its own monotonic clock, not by ExpiresAt.
	Renewals  int64     `gorm:"not null;default:0"`
	Since     time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null"`
}

// AuditEvent is one entry of the append-only, hash-chained audit log.
type AuditEvent struct {
	ID       uint64    `gorm:"primaryKey"`
	Seq      uint64    `gorm:"not null;uniqueIndex"`
	At       time.Time `gorm:"not null"`
	Actor    string    `gorm:"not null"`
	Action   string    `gorm:"not null"`
	Object   string    `gorm:"not null;default:''"`
	Detail   string    `gorm:"not null;default:'{}'"` // JSON
	PrevHash string    `gorm:"not null"`
	Hash     string    `gorm:"not null"`
	// Scheme is how Hash was made: AuditKeyed (HMAC under the audit key
	// KeyID names) or AuditUnkeyed (plain SHA-256, events written before
	// the log was keyed). See audit.go.
	Scheme string `gorm:"not null;default:'sha256'"`
	KeyID  string `gorm:"not null;default:''"`
}

// models lists every model, for the schema consistency test.
func models() []any {
	return []any{&Device{}, &PolicyRevision{}, &Plan{}, &ApplyRun{}, &TargetState{}, &Alert{},
		&Quarantine{}, &Approval{}, &APIToken{}, &Job{}, &TargetOwner{}, &AuditEvent{}, &UISession{}, &DriftCheck{}, &RecertCampaign{}, &RecertItem{}, &QuarantinePush{}, &Replica{}, &Leader{}, &TargetFence{}, &WardIdentity{}, &ApplyTarget{}}
}
