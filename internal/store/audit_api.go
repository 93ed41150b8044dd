package store

import "fmt"

// CheckAuditCheckpoint reports whether cp is genuine: signed with this
// store's audit key and unchanged since. VerifyAuditLog checks the same
// before it walks the log, but its error cannot tell a bad checkpoint from a
// failing database; a caller that must answer each differently (the API:
// 400 for the checkpoint sent, 503 for a server without the key) calls this
// first. A store that holds no usable key returns an error wrapping
// ErrNoAuditKey: the fault is the store's, not the checkpoint's.
func (s *Store) CheckAuditCheckpoint(cp *AuditCheckpoint) error {
	switch {
	case s.auditKey == nil:
		return fmt.Errorf("the checkpoint cannot be checked: %w", ErrNoAuditKey)
	case s.auditKey.err != nil:
		return fmt.Errorf("the checkpoint cannot be checked with an unusable audit key (%v): %w", s.auditKey.err, ErrNoAuditKey)
	}
	return s.checkCheckpoint(cp)
}
