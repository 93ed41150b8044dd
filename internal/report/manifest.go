package report

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ManifestFormat identifies a report manifest document and its version.
const ManifestFormat = "ward-report-manifest/1"

// Manifest vouches for the bytes of one rendered report: their SHA-256,
// signed with HMAC-SHA256 under a key derived from Ward's audit key (the
// key that keys the audit chain and its checkpoints, internal/store
// audit.go), so a reviewer holding the key checks a report offline, and
// whoever can change the file but not read the key cannot make a manifest
// that verifies.
type Manifest struct {
	Format       string    `json:"format"`
	File         string    `json:"file"`          // the report's file name when written, for people
	ReportFormat string    `json:"report_format"` // json, html, csv or pdf
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256"`
	GeneratedAt  time.Time `json:"generated_at"`
	PolicyHash   string    `json:"policy_hash"`
	KeyID        string    `json:"key_id"` // the audit key's id, as audit events name it
	MAC          string    `json:"mac"`    // HMAC-SHA256 over the fields above
}

// KeyID names an audit key as the store does (store.AuditKeyID): the
// first 8 bytes of HMAC-SHA256(key, "ward audit key id v1"), in hex. A test
// keeps the two equal.
func KeyID(key []byte) string {
	return hex.EncodeToString(derive(key, "ward audit key id v1")[:8])
}

// derive makes a key for one use from the audit key, as the store derives
// its chain and checkpoint keys, so a manifest MAC can never pass for an
// audit event's or a checkpoint's.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// minKey is the shortest audit key accepted, as the store requires.
const minKey = 32

// Sign makes the manifest of data, a report rendered in reportFormat and
// written as file.
func Sign(key []byte, file, reportFormat string, data []byte, r *Report) (*Manifest, error) {
	if len(key) < minKey {
		return nil, fmt.Errorf("report manifest: the audit key has %d bytes, want at least %d", len(key), minKey)
	}
	sum := sha256.Sum256(data)
	m := &Manifest{Format: ManifestFormat, File: file, ReportFormat: reportFormat, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), GeneratedAt: r.GeneratedAt.UTC(), PolicyHash: r.PolicyRevision.Hash, KeyID: KeyID(key)}
	m.MAC = m.mac(key)
	return m, nil
}

func (m *Manifest) mac(key []byte) string {
	h := hmac.New(sha256.New, derive(key, "ward report manifest v1"))
	fmt.Fprintf(h, "%q\n%q\n%q\n%d\n%q\n%s\n%q\n%q", m.Format, m.File, m.ReportFormat, m.Size, m.SHA256,
		m.GeneratedAt.UTC().Format(time.RFC3339Nano), m.PolicyHash, m.KeyID)
	return hex.EncodeToString(h.Sum(nil))
}

// ParseManifest decodes a manifest document; VerifyManifest checks it.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a report manifest: %w", err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("not a report manifest: format %q, want %q", m.Format, ManifestFormat)
	}
	return &m, nil
}

// Verification failures, told apart so the message says what to do.
var (
	// ErrWrongKey: the manifest was signed with another audit key.
	ErrWrongKey = errors.New("the manifest was signed with another audit key")
	// ErrManifestForged: the manifest's MAC does not match its fields.
	ErrManifestForged = errors.New("the manifest does not match its signature: it was changed or not made by Ward")
	// ErrReportChanged: the report's bytes are not the ones signed.
	ErrReportChanged = errors.New("the report's bytes differ from the ones the manifest vouches for")
)

// VerifyManifest checks that m is genuine (signed with key) and that data
// is the report it vouches for.
func VerifyManifest(key []byte, m *Manifest, data []byte) error {
	if len(key) < minKey {
		return fmt.Errorf("report manifest: the audit key has %d bytes, want at least %d", len(key), minKey)
	}
	if id := KeyID(key); m.KeyID != id {
		return fmt.Errorf("%w (manifest: key %s, given: key %s); verify with the audit.key of the Ward that made it", ErrWrongKey, m.KeyID, id)
	}
	if !hmac.Equal([]byte(m.mac(key)), []byte(m.MAC)) {
		return ErrManifestForged
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != m.SHA256 || int64(len(data)) != m.Size {
		return fmt.Errorf("%w: %d bytes with SHA-256 %s, the manifest says %d bytes with SHA-256 %s", ErrReportChanged, len(data), got, m.Size, m.SHA256)
	}
	return nil
}
